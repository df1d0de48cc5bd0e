#include "pollnotify/poller.hpp"

#include "pollnotify/internal/delivery_epoch.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <ctime>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <unordered_set>

#include "internal/futex.hpp"

namespace pn {
namespace {

// Counters with a single writer at a time (the consumer) are bumped with a relaxed load + store:
// readers get a recent value without the writer paying for an atomic read-modify-write.
inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

std::size_t burst_bucket(std::size_t burst) noexcept {
  const std::size_t bucket = static_cast<std::size_t>(std::bit_width(burst)) - 1;
  return bucket < kBurstBuckets ? bucket : kBurstBuckets - 1;
}

std::uint64_t thread_cpu_time_ns(clockid_t clock) noexcept {
  timespec now{};
  if (::clock_gettime(clock, &now) != 0) return 0;
  return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000U +
         static_cast<std::uint64_t>(now.tv_nsec);
}

void check_cpu(int cpu) {
  if (cpu < -1 || cpu >= CPU_SETSIZE) {
    throw std::invalid_argument("PollerOptions::cpu " + std::to_string(cpu) + " is not in [-1, " +
                                std::to_string(CPU_SETSIZE) + ")");
  }
}

// Pins `thread` to `cpu`; the kernel refuses a CPU that is offline or outside the cgroup.
void pin_thread(std::thread& thread, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  const int error = ::pthread_setaffinity_np(thread.native_handle(), sizeof set, &set);
  if (error != 0) {
    throw std::system_error(error, std::generic_category(),
                            "Poller: cannot pin the poller thread to CPU " + std::to_string(cpu));
  }
}

}  // namespace

PollerStats& PollerStats::operator+=(const PollerStats& o) noexcept {
#define PN_POLLER_STATS_ADD(name, description) name += o.name;
  PN_POLLER_COUNTERS(PN_POLLER_STATS_ADD)
#undef PN_POLLER_STATS_ADD
  for (std::size_t i = 0; i < kBurstBuckets; ++i) bursts[i] += o.bursts[i];
  return *this;
}

const char* to_string(PollPolicy policy) noexcept {
  switch (policy) {
    case PollPolicy::kBusy:
      return "busy";
    case PollPolicy::kSpinYield:
      return "spin-yield";
    case PollPolicy::kAdaptive:
      return "adaptive";
    case PollPolicy::kTimed:
      return "timed";
    case PollPolicy::kExternal:
      return "external";
  }
  return "unknown";
}

constexpr std::size_t index(PollerCounter counter) noexcept {
  return static_cast<std::size_t>(counter);
}

struct Poller::Counters {
  // One per table entry (PN_POLLER_COUNTERS), written by the consumer only (the poller thread, or
  // the poll_once caller holding `consuming`); ring_full, wakes and in_flight are the rings' own
  // and are added by stats().
  alignas(internal::kFalseSharingRange)
      std::array<std::atomic<std::uint64_t>, kPollerCounters> values{};
  std::array<std::atomic<std::uint64_t>, kBurstBuckets> bursts{};
  // The consumer role: taken by the poller thread for its whole run, by poll_once per call.
  alignas(internal::kFalseSharingRange) std::atomic<bool> consuming{false};

  std::atomic<std::uint64_t>& operator[](PollerCounter counter) noexcept {
    return values[index(counter)];
  }
};

// The rare outcomes of one poll, published once per poll. The common outcome, a callback that
// returned nonzero, touches none of them: callbacks are what the drain delivered less the other
// outcomes, and a failed callback is counted in a register by the drain (deliver_one's result).
// Six words, not the whole counter table: GCC zeroes a larger one with `rep stos`, whose start-up
// costs a poll more than a burst's tallies.
struct PollTally {
  std::uint64_t fd_signals = 0;
  std::uint64_t status_only = 0;
  std::uint64_t stale = 0;
  std::uint64_t invalid = 0;
  std::uint64_t callback_exceptions = 0;
  std::uint64_t not_delivered = 0;  // null contexts: counted invalid, no callback either way
};

namespace {

[[gnu::always_inline]] inline bool deliver_checked(const Completion& checked,
                                                   PollTally& tally) noexcept;

// A completion with a status outside 0..3 is still delivered, as ERR: the request must end. By
// value: the drain's completion stays in registers (its fields are read scalar by scalar; a copy
// in memory written field by field and read back whole stalls store forwarding).
[[gnu::noinline]] bool deliver_bad_status(Completion completion, PollTally& tally) noexcept {
  ++tally.invalid;
  completion.status = PN_ASYNC_STATUS_ERR;
  return deliver_checked(completion, tally);
}

// Delivers one completion; true when its callback ran and returned 0 (a callback failure).
[[gnu::always_inline]] inline bool deliver_one(const Completion& completion,
                                               PollTally& tally) noexcept {
  if (completion.ctx == nullptr) [[unlikely]] {
    ++tally.invalid;
    ++tally.not_delivered;
    return false;
  }
  if (!WaitCtx::is_status(completion.status)) [[unlikely]]
    return deliver_bad_status(completion, tally);
  return deliver_checked(completion, tally);
}

[[gnu::always_inline]] inline bool deliver_checked(const Completion& checked,
                                                   PollTally& tally) noexcept {
  try {
    int result = 1;
    switch (checked.ctx->deliver_in_section(checked, &result)) {
      case Delivery::kCallback:
        return result == 0;
      case Delivery::kFdSignaled:
        ++tally.fd_signals;
        break;
      case Delivery::kStatusOnly:
        ++tally.status_only;
        break;
      case Delivery::kStale:
        ++tally.stale;
        break;
    }
  } catch (...) {
    ++tally.callback_exceptions;
  }
  return false;
}

}  // namespace

std::size_t CompletionRing::try_push_burst(std::span<const Completion> completions) noexcept {
  if (shared_lock_ == nullptr) [[likely]]
    return push_and_wake(completions);
  std::lock_guard lock(*shared_lock_);  // the overflow ring: its producers take turns
  return push_and_wake(completions);
}

std::size_t CompletionRing::push_and_wake(std::span<const Completion> completions) noexcept {
  const bool handshake = poller_.producers_handshake_;
  const std::size_t pushed = ring_.try_push_burst(completions.data(), completions.size(),
                                                  handshake ? Publish::kSeqCst : Publish::kRelease);
  if (pushed < completions.size()) bump(full_events_, 1);
  // Producer half of the parking handshake (see the banner): the seq_cst publish above, then
  // this seq_cst read.
  if (handshake && pushed != 0 && poller_.parked_.load(std::memory_order_seq_cst) != 0) {
    if (poller_.parked_.exchange(0, std::memory_order_seq_cst) != 0) {
      internal::futex_wake(poller_.parked_, 1);
      bump(wakes_, 1);
    }
  }
  return pushed;
}

namespace {

// Serials of the pollers alive now: a thread's ring cache releases its rings at thread exit only
// to pollers still listed here. Never destroyed: a poller or a thread's ring cache may be torn
// down by exit handlers after any static destructor has run.
struct LivePollers {
  std::mutex mutex;
  std::unordered_set<std::uint64_t> serials;
};
LivePollers& live_pollers() {
  static auto* const registry = new LivePollers();
  return *registry;
}
std::atomic<std::uint64_t> next_poller_serial{1};

// Set when this thread's ring cache has been destroyed (thread exit): a later thread_ring() from
// another thread-local destructor gets the shared overflow ring instead of the freed cache.
// Trivially destructible, so it stays readable until the thread is gone.
constinit thread_local bool tls_ring_cache_gone = false;

}  // namespace

struct internal::ThreadRingCache {
  struct Entry {
    Poller* poller;
    std::uint64_t serial;
    CompletionRing* ring;
  };
  std::vector<Entry> entries;

  // Forgets the rings of pollers that no longer exist, so a thread that has used many
  // short-lived pollers does not search (and keep) an ever longer list.
  void prune() {
    LivePollers& live = live_pollers();
    std::lock_guard lock(live.mutex);
    std::erase_if(entries,
                  [&](const Entry& entry) { return !live.serials.contains(entry.serial); });
  }
  ~ThreadRingCache() {
    tls_ring_cache_gone = true;
    LivePollers& live = live_pollers();
    std::lock_guard lock(live.mutex);
    for (const Entry& entry : entries) {
      if (live.serials.contains(entry.serial) && !entry.ring->shared()) {
        entry.poller->release_thread_ring(*entry.ring);
      }
    }
  }
};
namespace {

thread_local internal::ThreadRingCache thread_ring_cache;

// The pollers whose consumer the calling thread is right now, innermost first: a callback
// delivered by one poller may poll_once another.
struct ConsumerFrame {
  const Poller* poller;
  const ConsumerFrame* outer;
};
constinit thread_local const ConsumerFrame* tls_consumer = nullptr;

class ConsumerScope {
 public:
  explicit ConsumerScope(const Poller* poller) noexcept : frame_{poller, tls_consumer} {
    tls_consumer = &frame_;
  }
  ~ConsumerScope() { tls_consumer = frame_.outer; }
  ConsumerScope(const ConsumerScope&) = delete;
  ConsumerScope& operator=(const ConsumerScope&) = delete;

 private:
  ConsumerFrame frame_;
};

}  // namespace

bool Poller::consuming_on_this_thread() const noexcept {
  for (const ConsumerFrame* frame = tls_consumer; frame != nullptr; frame = frame->outer) {
    if (frame->poller == this) return true;
  }
  return false;
}

CompletionRing& Poller::overflow_ring_locked() {
  if (overflow_ring_ == nullptr) {
    overflow_ring_ = &add_ring_locked(0, kMaxRings + 1, &overflow_push_mutex_);
  }
  return *overflow_ring_;
}

CompletionRing& Poller::thread_ring() {
  if (tls_ring_cache_gone) [[unlikely]] {
    // Called from a thread-local destructor after the cache's: nothing would release a ring
    // taken now, so this thread pushes into the shared ring.
    std::lock_guard lock(add_ring_mutex_);
    return overflow_ring_locked();
  }
  for (const auto& entry : thread_ring_cache.entries) {
    if (entry.poller == this && entry.serial == serial_) return *entry.ring;
  }
  thread_ring_cache.prune();
  thread_ring_cache.entries.reserve(thread_ring_cache.entries.size() + 1);  // nothrow below
  CompletionRing* ring = nullptr;
  {
    std::lock_guard lock(add_ring_mutex_);
    if (!free_rings_.empty()) {
      ring = free_rings_.back();
      free_rings_.pop_back();
      ring->held_ = true;
    } else if (ring_count_.load(std::memory_order_relaxed) < kMaxRings) {
      ring = &add_ring_locked(0, kMaxRings, nullptr);
    } else {
      ring = &overflow_ring_locked();
    }
    ring->thread_owned_ = !ring->shared();
  }
  thread_ring_cache.entries.push_back({this, serial_, ring});
  return *ring;
}

std::size_t Poller::thread_ring_cache_size() noexcept { return thread_ring_cache.entries.size(); }

Poller::Poller(PollerOptions options)
    : options_(std::move(options)),
      producers_handshake_(options_.policy == PollPolicy::kAdaptive),
      serial_(next_poller_serial.fetch_add(1, std::memory_order_relaxed)),  // relaxed: uniqueness
      counters_(std::make_unique<Counters>()) {
  if (options_.max_burst == 0) throw std::invalid_argument("PollerOptions::max_burst must be > 0");
  if (options_.policy == PollPolicy::kTimed &&
      (options_.interval.count() <= 0 || options_.max_idle_interval < options_.interval)) {
    throw std::invalid_argument(
        "PollerOptions: the timed policy needs 0 < interval <= max_idle_interval");
  }
  if (options_.policy == PollPolicy::kAdaptive &&
      (options_.watchdog.count() <= 0 || options_.max_source_park.count() <= 0)) {
    throw std::invalid_argument(
        "PollerOptions::watchdog and max_source_park must be > 0 for the adaptive policy");
  }
  if (options_.default_ring_capacity == 0 ||
      options_.default_ring_capacity > SpscRing<Completion>::kMaxCapacity) {
    throw std::invalid_argument("PollerOptions::default_ring_capacity must be in [1, 2^32]");
  }
  check_cpu(options_.cpu);
  LivePollers& live = live_pollers();
  std::lock_guard lock(live.mutex);
  live.serials.insert(serial_);
}

Poller::~Poller() {
  {
    LivePollers& live = live_pollers();
    std::lock_guard lock(live.mutex);
    live.serials.erase(serial_);
  }
  if (running()) stop();
  // Whatever producers pushed after the last stop is still delivered: no request is left behind.
  // The rings only: a source's owner may have freed it once the poller stopped.
  while (drain_rings(options_.max_burst, std::numeric_limits<std::size_t>::max()) != 0) {
  }
}

CompletionRing& Poller::add_ring_locked(std::size_t capacity, std::size_t limit,
                                        std::mutex* shared_lock) {
  const std::size_t index = ring_count_.load(std::memory_order_relaxed);
  if (index >= limit) {
    throw std::length_error("Poller: all " + std::to_string(kMaxRings) +
                            " rings (Poller::kMaxRings) are taken");
  }
  rings_[index].reset(new CompletionRing(
      *this, capacity == 0 ? options_.default_ring_capacity : capacity, shared_lock));
  // POLL-R3: publishes the constructed ring to the consumer; pairs with POLL-A3.
  ring_count_.store(index + 1, std::memory_order_release);
  return *rings_[index];
}

CompletionRing& Poller::add_ring(std::size_t capacity) {
  std::lock_guard lock(add_ring_mutex_);
  return add_ring_locked(capacity, kMaxRings, nullptr);
}

CompletionRing& Poller::acquire_ring(std::size_t capacity) {
  const std::size_t wanted = capacity == 0 ? options_.default_ring_capacity : capacity;
  std::lock_guard lock(add_ring_mutex_);  // hands the ring's producer state over
  const auto fits =
      std::find_if(free_rings_.begin(), free_rings_.end(),
                   [&](const CompletionRing* ring) { return ring->capacity() >= wanted; });
  if (fits != free_rings_.end()) {
    CompletionRing* ring = *fits;
    free_rings_.erase(fits);
    ring->held_ = true;
    return *ring;
  }
  if (ring_count_.load(std::memory_order_relaxed) >= kMaxRings && !free_rings_.empty()) {
    // Every ring exists and the released ones are all too small for this producer: refused
    // (rings are never replaced, their consumer state lives as long as the poller).
    throw std::length_error("Poller: all " + std::to_string(kMaxRings) +
                            " rings (Poller::kMaxRings) exist and no released one holds " +
                            std::to_string(wanted) + " completions");
  }
  return add_ring_locked(wanted, kMaxRings, nullptr);
}

std::size_t Poller::ring_room() const {
  std::lock_guard lock(add_ring_mutex_);
  const std::size_t made = std::min(ring_count_.load(std::memory_order_relaxed), kMaxRings);
  return kMaxRings - made + free_rings_.size();
}

void Poller::release_ring(CompletionRing& ring) {
  if (&ring.poller_ != this) {
    throw std::invalid_argument("Poller::release_ring: the ring belongs to another poller");
  }
  if (ring.shared()) {
    throw std::invalid_argument("Poller::release_ring: the shared overflow ring is never released");
  }
  std::lock_guard lock(add_ring_mutex_);
  if (!ring.held_) throw std::logic_error("Poller::release_ring: the ring was already released");
  if (ring.thread_owned_) {
    throw std::logic_error(
        "Poller::release_ring: a thread_ring() is released by its thread's exit, not by hand");
  }
  ring.held_ = false;
  free_rings_.push_back(&ring);
}

void Poller::release_thread_ring(CompletionRing& ring) noexcept {
  try {
    std::lock_guard lock(add_ring_mutex_);
    ring.thread_owned_ = false;
    ring.held_ = false;
    free_rings_.push_back(&ring);
  } catch (...) {  // no memory to list it (or no lock): the ring stays unused, which is safe
  }
}

void Poller::add_source(PollSource& source) {
  std::lock_guard lock(lifecycle_mutex_);
  if (running()) throw std::logic_error("Poller::add_source while the poller thread runs");
  if (source_count_ == kMaxSources) throw std::length_error("Poller::add_source: kMaxSources");
  sources_[source_count_++] = &source;  // published to the thread by start()
}

bool Poller::remove_source(PollSource& source) {
  std::lock_guard lock(lifecycle_mutex_);
  if (running()) throw std::logic_error("Poller::remove_source while the poller thread runs");
  for (std::size_t i = 0; i < source_count_; ++i) {
    if (sources_[i] == &source) {
      sources_[i] = sources_[--source_count_];
      return true;
    }
  }
  return false;
}

void Poller::notify() noexcept {
  // Producer half of the parking handshake for sources: the caller published with seq_cst.
  if (parked_.load(std::memory_order_seq_cst) != 0) wake_parked();
}

bool Poller::any_ring_has_items() const noexcept {
  const std::size_t count = ring_count_.load(std::memory_order_acquire);  // POLL-A3
  for (std::size_t i = 0; i < count; ++i) {
    if (rings_[i]->ring_.has_items_seq_cst()) return true;
  }
  return false;
}

std::size_t Poller::poll_rings(std::size_t max_per_ring, std::size_t max_total) {
  for (std::size_t i = 0; i < source_count_; ++i) sources_[i]->poll();
  return drain_rings(max_per_ring, max_total);
}

std::size_t Poller::drain_rings(std::size_t max_per_ring, std::size_t max_total) {
  Counters& counters = *counters_;
  PollTally tally;
  std::uint64_t callback_failures = 0;
  std::size_t total = 0;
  const std::size_t count =
      ring_count_.load(std::memory_order_acquire);  // POLL-A3: pairs with POLL-R3
  // One delivery section for the whole drain, opened at its first completion: a store and a
  // compiler barrier per poll that finds work, nothing per completion and nothing when idle.
  std::optional<internal::DeliverySection> section;
  for (std::size_t i = 0; i < count && total < max_total; ++i) {
    const std::size_t budget = std::min(max_per_ring, max_total - total);
    const std::size_t drained = rings_[i]->ring_.drain(budget, [&](const Completion& completion) {
      if (!section) [[unlikely]]
        section.emplace();
      callback_failures += deliver_one(completion, tally);
    });
    if (drained != 0) {
      bump(counters.bursts[burst_bucket(drained)], 1);
      total += drained;
    }
  }
  bump(counters[PollerCounter::polls], 1);
  if (total == 0) {
    bump(counters[PollerCounter::empty_polls], 1);
    return 0;
  }
  bump(counters[PollerCounter::delivered], total);
  const std::uint64_t callbacks =
      total - tally.not_delivered - tally.fd_signals - tally.status_only - tally.stale;
  if (callbacks != 0) bump(counters[PollerCounter::callbacks], callbacks);
  if (callback_failures != 0) bump(counters[PollerCounter::callback_failures], callback_failures);
  if ((tally.fd_signals | tally.status_only | tally.stale | tally.invalid |
       tally.callback_exceptions) != 0) [[unlikely]] {
    const std::pair<PollerCounter, std::uint64_t> rare[] = {
        {PollerCounter::callback_exceptions, tally.callback_exceptions},
        {PollerCounter::fd_signals, tally.fd_signals},
        {PollerCounter::status_only, tally.status_only},
        {PollerCounter::stale, tally.stale},
        {PollerCounter::invalid, tally.invalid}};
    for (const auto& [counter, n] : rare) {
      if (n != 0) bump(counters[counter], n);
    }
  }
  return total;
}

std::size_t Poller::poll_once(std::size_t max) {
  if (running()) throw std::logic_error("Poller::poll_once while the poller thread runs");
  // POLL-C1: takes the consumer role; acquire pairs with POLL-C2 of the previous consumer, handing
  // over the rings' consumer state.
  if (counters_->consuming.exchange(true, std::memory_order_acquire)) {
    throw std::logic_error("Poller::poll_once re-entered (from a callback or another thread)");
  }
  struct Release {
    std::atomic<bool>& consuming;
    ~Release() {
      consuming.store(false, std::memory_order_release);
    }  // POLL-C2: pairs with POLL-C1
  } release{counters_->consuming};
  const ConsumerScope consumer(this);
  return poll_rings(options_.max_burst, max == 0 ? std::numeric_limits<std::size_t>::max() : max);
}

bool Poller::start() {
  std::lock_guard lock(lifecycle_mutex_);
  if (options_.policy == PollPolicy::kExternal || running()) return false;
  if (counters_->consuming.exchange(true, std::memory_order_acquire)) {  // POLL-C1, as in poll_once
    throw std::logic_error("Poller::start while poll_once runs");
  }
  stop_requested_.store(false, std::memory_order_relaxed);  // published by the thread start
  try {
    thread_pid_ = ::getpid();
    thread_ = std::thread([this] { run(); });
  } catch (...) {
    counters_->consuming.store(false, std::memory_order_release);  // POLL-C2
    throw;
  }
  if (options_.cpu >= 0) {
    try {
      pin_thread(thread_, options_.cpu);
    } catch (...) {
      end_thread();
      throw;
    }
  }
  running_.store(true, std::memory_order_release);  // POLL-L1: pairs with POLL-L2
  return true;
}

bool Poller::stop() {
  if (consuming_on_this_thread()) {
    throw std::logic_error(
        "Poller::stop called from inside one of its own callbacks would wait for itself");
  }
  std::lock_guard lock(lifecycle_mutex_);
  if (!running()) return false;
  if (::getpid() != thread_pid_) {
    // A forked child: the poller thread was not copied. Its handle cannot be joined or detached
    // here, so it is parked in a heap object that is never freed (a few bytes per fork).
    new std::thread(std::move(thread_));
    running_.store(false, std::memory_order_release);  // POLL-L1
    counters_->consuming.store(false, std::memory_order_release);
    return true;
  }
  end_thread();
  running_.store(false, std::memory_order_release);  // POLL-L1
  return true;
}

void Poller::end_thread() {
  // POLL-S1: seq_cst so that a parking poller's re-check (POLL-P2) sees it, like a pushed item.
  stop_requested_.store(true, std::memory_order_seq_cst);
  wake_parked();
  thread_.join();
  counters_->consuming.store(false, std::memory_order_release);  // POLL-C2 (the thread ended)
}

void Poller::wake_parked() noexcept {
  if (parked_.exchange(0, std::memory_order_seq_cst) != 0) internal::futex_wake(parked_, 1);
}

Poller::ParkEnd Poller::park() {
  // POLL-P1: the poller half of the handshake: announce, then re-check (POLL-P2) everything a waker
  // publishes with seq_cst.
  parked_.store(1, std::memory_order_seq_cst);
  // POLL-P2: the re-check, seq_cst loads of every ring tail and of the stop flag.
  if (any_ring_has_items() || stop_requested_.load(std::memory_order_seq_cst)) {
    parked_.store(0, std::memory_order_relaxed);
    return ParkEnd::kWork;
  }
  // The earliest source event, compared unsigned: any value a source reports is a valid bound.
  const auto watchdog = static_cast<std::uint64_t>(options_.watchdog.count());
  std::uint64_t source_bound = watchdog;
  for (std::size_t i = 0; i < source_count_; ++i) {
    const std::uint64_t pending = sources_[i]->pending_ns();  // POLL-P2 for sources
    if (pending == 0) continue;
    if (pending < kShortestParkNs) {  // the source has work to do now
      parked_.store(0, std::memory_order_relaxed);
      return ParkEnd::kWork;
    }
    source_bound = std::min(source_bound, pending);
  }
  // A source with work in flight and no way to wake us: its bound, stretched by the backoff while
  // nothing arrives, so that a request waiting in the kernel for an hour costs ~nothing.
  const bool source_bounded = source_bound < watchdog;
  const std::uint64_t timeout =
      source_bounded ? std::min(watchdog, std::max(source_bound, source_park_ns_)) : watchdog;
  bump((*counters_)[PollerCounter::parks], 1);
  const bool woken = internal::futex_wait(
      parked_, 1, std::chrono::nanoseconds(static_cast<std::int64_t>(timeout)));
  parked_.store(0, std::memory_order_relaxed);  // awake: producers need not wake us
  if (woken) return ParkEnd::kWork;
  if (source_bounded) {
    source_park_ns_ = std::min(
        source_park_ns_ * 2,
        std::max<std::uint64_t>(kShortestParkNs,
                                static_cast<std::uint64_t>(options_.max_source_park.count())));
    return ParkEnd::kSourceTimeout;
  }
  bump((*counters_)[PollerCounter::watchdog_wakes], 1);
  return ParkEnd::kWatchdog;
}

void Poller::name_thread() {
  if (!options_.name.empty()) {
    ::pthread_setname_np(::pthread_self(), options_.name.substr(0, 15).c_str());
  }
  clockid_t own_clock;
  if (::pthread_getcpuclockid(::pthread_self(), &own_clock) == 0) {
    // POLL-K1: publishes the live thread's clock id to stats(); pairs with POLL-K2.
    live_cpu_clock_.store(own_clock, std::memory_order_release);
  }
  // Sleeps of a few microseconds are only honoured without the default 50 us timer slack.
  if (options_.policy == PollPolicy::kTimed) ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
}

// What the poller thread does after a poll that found nothing, per policy (see the banner).
void Poller::wait_after_empty_poll(std::uint32_t& idle_polls, std::chrono::nanoseconds& sleep) {
  switch (options_.policy) {
    case PollPolicy::kBusy:
      internal::cpu_relax();
      break;
    case PollPolicy::kSpinYield:
      if (++idle_polls >= options_.spin_polls) {
        ::sched_yield();
      } else {
        internal::cpu_relax();
      }
      break;
    case PollPolicy::kAdaptive:
      if (++idle_polls >= options_.spin_polls) {
        // Woken by a producer: spin again while work flows. A timeout (the watchdog, or a
        // source's bound) with nothing to do: one poll, then straight back to sleep (an idle
        // poller costs ~nothing whatever is in flight).
        if (park() == ParkEnd::kWork) {
          idle_polls = 0;
          source_park_ns_ = kShortestParkNs;
        } else {
          idle_polls = options_.spin_polls - 1;
        }
      } else {
        internal::cpu_relax();
      }
      break;
    case PollPolicy::kTimed:
      std::this_thread::sleep_for(sleep);
      if (++idle_polls >= options_.idle_backoff_polls) {
        sleep = std::min(sleep * 2, options_.max_idle_interval);
      }
      break;
    case PollPolicy::kExternal:
      break;  // never started
  }
}

void Poller::run() {
  name_thread();
  const ConsumerScope consumer(this);
  const std::size_t no_limit = std::numeric_limits<std::size_t>::max();
  std::uint32_t idle_polls = 0;
  std::chrono::nanoseconds sleep = options_.interval;
  for (;;) {
    if (poll_rings(options_.max_burst, no_limit) != 0) {
      idle_polls = 0;
      sleep = options_.interval;
      source_park_ns_ = kShortestParkNs;
      continue;
    }
    // POLL-S2: pairs with POLL-S1: completions pushed before stop() are visible to the final drain.
    if (stop_requested_.load(std::memory_order_acquire)) {
      while (poll_rings(options_.max_burst, no_limit) != 0) {
      }
      break;
    }
    wait_after_empty_poll(idle_polls, sleep);
  }
  clockid_t clock;
  if (::pthread_getcpuclockid(::pthread_self(), &clock) == 0) {
    // First hide the live clock, then add this run's time: a reader never counts it twice.
    live_cpu_clock_.store(kNoClock, std::memory_order_release);  // POLL-K1
    bump((*counters_)[PollerCounter::cpu_time_ns], thread_cpu_time_ns(clock));
  }
}

std::uint64_t Poller::in_flight() const noexcept {
  std::uint64_t total = 0;
  const std::size_t count = ring_count_.load(std::memory_order_acquire);  // POLL-A3
  for (std::size_t i = 0; i < count; ++i) total += rings_[i]->size_approx();
  return total;
}

PollerStats Poller::stats() const {
  const Counters& c = *counters_;
  const auto read = [](const std::atomic<std::uint64_t>& counter) {
    return counter.load(std::memory_order_relaxed);  // statistics: a recent value is enough
  };
  PollerStats s;
#define PN_POLLER_STATS_READ(name, description) s.name = read(c.values[index(PollerCounter::name)]);
  PN_POLLER_COUNTERS(PN_POLLER_STATS_READ)
#undef PN_POLLER_STATS_READ
  for (std::size_t i = 0; i < kBurstBuckets; ++i) s.bursts[i] = read(c.bursts[i]);
  // The rings' own counters and contents.
  const std::size_t count = ring_count_.load(std::memory_order_acquire);  // POLL-A3
  for (std::size_t i = 0; i < count; ++i) {
    s.ring_full += read(rings_[i]->full_events_);
    s.wakes += read(rings_[i]->wakes_);
    s.in_flight += rings_[i]->size_approx();
  }
  // cpu_time_ns holds the finished runs; the live thread's clock is added: no run is counted
  // twice. No lock, so a callback may read the stats while stop() waits for the poller thread.
  // POLL-K2: pairs with POLL-K1: the clock id belongs to a thread that is running.
  const std::int64_t clock = live_cpu_clock_.load(std::memory_order_acquire);
  if (clock != kNoClock) s.cpu_time_ns += thread_cpu_time_ns(static_cast<clockid_t>(clock));
  return s;
}

}  // namespace pn
