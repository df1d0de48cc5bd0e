// pollnotify poller: drains completion rings in bursts and delivers each completion to its wait
// context (status set, callback invoked exactly once, or the notify eventfd signalled).
//
// Threads:
//   any thread: add_ring, start, stop, stats, in_flight.
//   the producer that owns a ring (one thread at a time): CompletionRing::try_push*.
//   the poller thread; or, with no thread running, the caller of poll_once (external polling).
//
// Memory ordering: if a producer writes data and then pushes a completion, the callback that
// completion invokes sees the data (ring RING-R1/RING-A2). stop() returns after every completion
// pushed before it was called has been delivered, and the callbacks' effects are visible to the
// caller of stop() (thread join).
//
// Policies (PollPolicy), what the poller thread does after a poll that found nothing:
//   kBusy       spins (pause instruction), never sleeps: lowest latency, one core at 100%.
//   kSpinYield  spins spin_polls times, then sched_yield()s between polls.
//   kAdaptive   spins spin_polls times, then parks on a futex until a producer wakes it (or the
//               watchdog timeout passes). Producers pay a seq_cst publish and a flag check per
//               push; a futex wake only when the poller really sleeps.
//   kTimed      sleeps `interval` between empty polls (the QAT engine default is 10 us); after
//               idle_backoff_polls empty polls in a row the sleep doubles per empty poll up to
//               max_idle_interval (set it equal to interval for the QAT engine's fixed period).
//   kExternal   no thread: the application calls poll_once() from its own loop.
//
// Parking protocol (kAdaptive), the two halves of a Dekker handshake, all seq_cst:
//   poller:   1. parked = 1   2. re-check every ring   3. futex_wait(parked == 1, watchdog)
//   producer: 1. publish tail  2. read parked           3. if 1: exchange(parked, 0), futex_wake
//   Either the poller's re-check sees the item, or the producer sees parked == 1 and wakes it.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "pollnotify/completion.hpp"
#include "pollnotify/internal/completion_slots.hpp"
#include "pollnotify/poller.h"
#include "pollnotify/spsc_ring.hpp"
#include "pollnotify/wait_ctx.hpp"

namespace pn {

namespace internal {
struct ThreadRingCache;  // poller.cpp: each thread's thread_ring() cache
}  // namespace internal

enum class PollPolicy : std::uint8_t { kBusy, kSpinYield, kAdaptive, kTimed, kExternal };

[[nodiscard]] const char* to_string(PollPolicy policy) noexcept;

struct PollerOptions {
  PollPolicy policy = PollPolicy::kAdaptive;
  std::size_t max_burst = 32;                             // completions drained per ring per poll
  std::size_t default_ring_capacity = 4096;               // add_ring(0) uses this
  std::uint32_t spin_polls = 4096;                        // empty polls before yielding or parking
  std::chrono::nanoseconds interval{10'000};              // kTimed: sleep between empty polls
  std::chrono::nanoseconds max_idle_interval{2'000'000};  // kTimed: longest sleep when idle
  std::uint32_t idle_backoff_polls = 100;         // kTimed: empty polls in a row before backing off
  std::chrono::nanoseconds watchdog{10'000'000};  // kAdaptive: longest park without a wake
  // kAdaptive: while a source has work in flight that cannot wake the poller (pending_ns() in
  // [kShortestParkNs, watchdog)), parks start at its bound and double while nothing arrives, up
  // to this: the longest a completion from such a source waits for its poll after a long idle.
  std::chrono::nanoseconds max_source_park{4'000'000};
  int cpu = -1;  // pin the poller thread (checked when it starts); -1: no affinity
  std::string name = "pn-poller";  // thread name (15 characters kept)
};

// Burst-size histogram buckets: [1], [2,3], [4,7], ... [128,255], [256, inf).
inline constexpr std::size_t kBurstBuckets = 9;

// The counters come from one table, PN_POLLER_COUNTERS in <pollnotify/poller.h>, shared with C.
struct PollerStats {
#define PN_POLLER_STATS_MEMBER(name, description) std::uint64_t name = 0;
  PN_POLLER_COUNTERS(PN_POLLER_STATS_MEMBER)
#undef PN_POLLER_STATS_MEMBER
  std::array<std::uint64_t, kBurstBuckets> bursts{};  // non-empty ring drains by size

  // Sums two pollers' figures (a runtime's total).
  PollerStats& operator+=(const PollerStats& other) noexcept;
};

// Each counter of the table, as an index: the poller keeps its counters in an array indexed by
// it, so a counter added to the table is stored, summed and reported with no other change.
enum class PollerCounter : std::size_t {
#define PN_POLLER_COUNTER_ID(name, description) name,
  PN_POLLER_COUNTERS(PN_POLLER_COUNTER_ID)
#undef PN_POLLER_COUNTER_ID
};
inline constexpr std::size_t kPollerCounters = 0
#define PN_POLLER_COUNTER_ONE(name, description) +1
    PN_POLLER_COUNTERS(PN_POLLER_COUNTER_ONE)
#undef PN_POLLER_COUNTER_ONE
    ;

// Calls visit(name, description, value) for each counter in the table's order: one list for
// reports, JSON and printing.
template <class Visit>
void for_each_counter(const PollerStats& stats, Visit&& visit) {
#define PN_POLLER_STATS_VISIT(name, description) visit(#name, description, stats.name);
  PN_POLLER_COUNTERS(PN_POLLER_STATS_VISIT)
#undef PN_POLLER_STATS_VISIT
}

class Poller;

// Work a poller runs before it drains its rings, on every poll (an SPDK-style poller function):
// for example a polled device that moves finished requests into a ring. All three calls run on
// the consuming thread (the poller thread, or the caller of poll_once).
class PollSource {
 public:
  virtual ~PollSource() = default;
  // Does the source's work; returns how many items it produced (0: idle).
  virtual std::size_t poll() = 0;
  // During the parking handshake, after the poller announced it parks (seq_cst): 0 if nothing is
  // pending; below Poller::kShortestParkNs when the source has work to do now (the poller does
  // not park); else nanoseconds until the source's next event, or kShortestParkNs for work in
  // flight that completes at an unknown time and cannot wake the poller (the adaptive poller
  // parks that long, then longer while nothing arrives: PollerOptions::max_source_park). Any
  // value is accepted (2^64 - 1 parks until the watchdog). Anything submitted to the source must
  // be visible here through a seq_cst load, and its submitter must call Poller::notify()
  // afterwards.
  virtual std::uint64_t pending_ns() = 0;
};

// A producer's handle on one ring of a poller. Owned by the poller; valid until it is destroyed.
class CompletionRing {
 public:
  // Producer. False (counted as ring_full) when full: back off or report EAGAIN. On the shared
  // overflow ring (see Poller::thread_ring) any thread may push: pushes take a lock there.
  [[nodiscard]] bool try_push(const Completion& completion) noexcept {
    return try_push_burst(std::span<const Completion>(&completion, 1)) == 1;
  }
  // Producer. Pushes as many as fit with one publication; returns how many.
  [[nodiscard]] std::size_t try_push_burst(std::span<const Completion> completions) noexcept;
  [[nodiscard]] std::size_t size_approx() const noexcept { return ring_.size_approx(); }
  [[nodiscard]] std::size_t capacity() const noexcept { return ring_.capacity(); }
  // True for the poller's one multi-producer overflow ring.
  [[nodiscard]] bool shared() const noexcept { return shared_lock_ != nullptr; }

  CompletionRing(const CompletionRing&) = delete;
  CompletionRing& operator=(const CompletionRing&) = delete;

 private:
  friend class Poller;
  CompletionRing(Poller& poller, std::size_t capacity, std::mutex* shared_lock = nullptr)
      : ring_(capacity), poller_(poller), shared_lock_(shared_lock) {}
  [[nodiscard]] std::size_t push_and_wake(std::span<const Completion> completions) noexcept;

  internal::CompletionSlots ring_;
  Poller& poller_;
  std::mutex* const shared_lock_;  // the overflow ring's producers take it; nullptr: one producer
  bool held_ = true;               // a producer holds it (guarded by the poller's add_ring_mutex_)
  bool thread_owned_ = false;      // held through thread_ring(): released at the thread's exit
  // Producer-written counters (single writer: relaxed load + store, no RMW).
  std::atomic<std::uint64_t> full_events_{0};
  std::atomic<std::uint64_t> wakes_{0};
};

class Poller {
 public:
  // Limits, checked up front. Rings: single-producer rings per poller (add_ring, acquire_ring,
  // thread_ring); past them thread_ring hands out one shared overflow ring, so a submitting
  // thread is never refused for good. Sources: poll functions per poller.
  static constexpr std::size_t kMaxRings = 256;
  static constexpr std::size_t kMaxSources = 16;
  // The shortest futex park: a shorter sleep costs more than it saves (and overshoots).
  static constexpr std::uint64_t kShortestParkNs = 50'000;

  // Throws std::invalid_argument for max_burst 0 or a zero interval with kTimed.
  explicit Poller(PollerOptions options = {});
  // Stops the thread (whose last poll runs the sources and drains the rings), then delivers
  // whatever is still in the rings on the calling thread without calling any source: a driver
  // may free its source once the poller has stopped.
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;
  Poller(Poller&&) = delete;
  Poller& operator=(Poller&&) = delete;

  // Any thread. A new ring for one producer; capacity 0 takes the default. Throws
  // std::length_error past kMaxRings, std::invalid_argument for a capacity above 2^32.
  CompletionRing& add_ring(std::size_t capacity = 0);
  // Any thread. A ring released earlier that holds at least `capacity` (0: the default), or a
  // new one. Throws std::length_error past kMaxRings, std::invalid_argument for a capacity above
  // 2^32. A device acquires its ring and releases it when it goes, so a long-lived poller serves
  // any number of devices over time, kMaxRings at once.
  CompletionRing& acquire_ring(std::size_t capacity = 0);
  // Any thread: how many more rings acquire_ring() can hand out now (released ones included).
  [[nodiscard]] std::size_t ring_room() const;
  // The ring's producer, when done with it: another producer may take it over. Whatever it still
  // holds is delivered as usual. Throws std::invalid_argument for a ring of another poller or
  // the shared overflow ring, std::logic_error for a ring already released or one that
  // thread_ring() handed out (its thread's exit releases it).
  void release_ring(CompletionRing& ring);
  // While the poller thread is not running. The source lives at least as long as the poller.
  // Throws std::logic_error while running, std::length_error past kMaxSources.
  void add_source(PollSource& source);
  // While the poller thread is not running. False if the source was not added.
  bool remove_source(PollSource& source);
  // The sources added and not removed (read while the poller thread is not running).
  [[nodiscard]] std::span<PollSource* const> sources() const noexcept {
    return {sources_.data(), source_count_};
  }
  // Any thread, after publishing work to a source with seq_cst: wakes a parked poller.
  void notify() noexcept;
  // A ring the calling thread owns on this poller: taken on first use, released when the thread
  // exits (if the poller still exists; never by release_ring). For producers that complete
  // inline on their own thread. When all kMaxRings are taken, or when called from a thread-local
  // destructor after the thread's ring cache is gone, the shared overflow ring (pushes
  // serialized by a lock).
  CompletionRing& thread_ring();
  // The calling thread's thread_ring() cache: entries for pollers alive now (entries of
  // destroyed pollers are pruned when the thread takes a new ring).
  [[nodiscard]] static std::size_t thread_ring_cache_size() noexcept;

  // Any thread. Starts the poller thread; false if it is running or the policy is kExternal.
  // Throws std::system_error if the thread cannot be created or pinned to options().cpu (a CPU
  // that is offline or outside the process's cgroup); the poller is then left stopped.
  bool start();
  // Any thread but the poller's own. Delivers every completion already in the rings, then joins
  // the thread. False (nothing done) if it was not running. Throws std::logic_error from the
  // poller's own thread (a callback). In a child process after fork() the thread does not exist:
  // stop() only marks the poller stopped (the child may then poll_once, destroy it, or start a
  // new thread).
  bool stop();
  [[nodiscard]] bool running() const noexcept {
    return running_.load(std::memory_order_acquire);  // POLL-L2: pairs with POLL-L1
  }
  // Any thread: true from the moment stop() asks the thread to end until it has ended.
  [[nodiscard]] bool stopping() const noexcept {
    return stop_requested_.load(std::memory_order_relaxed) && running();
  }
  // True when the calling thread is this poller's consumer right now: its thread, or inside its
  // poll_once (a callback it delivers runs here).
  [[nodiscard]] bool consuming_on_this_thread() const noexcept;

  // External polling: delivers up to max completions (0: one burst per ring) and returns how
  // many; 0 means idle. Throws std::logic_error while the poller thread runs, or when called
  // from inside a callback this poller is delivering.
  std::size_t poll_once(std::size_t max = 0);

  // Any thread, any time: counters are read without stopping the poller.
  [[nodiscard]] PollerStats stats() const;
  // Any thread: completions pushed and not yet delivered (a snapshot).
  [[nodiscard]] std::uint64_t in_flight() const noexcept;
  [[nodiscard]] const PollerOptions& options() const noexcept { return options_; }

 private:
  friend class CompletionRing;
  struct Counters;

  void run();
  void name_thread();
  void end_thread();  // asks the thread to end, joins it
  void wait_after_empty_poll(std::uint32_t& idle_polls, std::chrono::nanoseconds& sleep);
  CompletionRing& add_ring_locked(std::size_t capacity, std::size_t limit, std::mutex* shared_lock);
  std::size_t poll_rings(std::size_t max_per_ring, std::size_t max_total);  // sources, then rings
  std::size_t drain_rings(std::size_t max_per_ring, std::size_t max_total);
  CompletionRing& overflow_ring_locked();  // holds add_ring_mutex_
  void release_thread_ring(CompletionRing& ring) noexcept;
  friend struct internal::ThreadRingCache;
  // What ended a park: work (found before sleeping, or a producer's wake) means spin again;
  // a timeout means poll once and park again.
  enum class ParkEnd : std::uint8_t { kWork, kSourceTimeout, kWatchdog };
  ParkEnd park();
  void wake_parked() noexcept;
  [[nodiscard]] bool any_ring_has_items() const noexcept;

  const PollerOptions options_;
  const bool producers_handshake_;  // kAdaptive: producers check the parked flag
  const std::uint64_t serial_;      // unique for the process lifetime: thread_ring caches use it

  // The futex word producers read after each push: its own line, written only around a park.
  alignas(internal::kFalseSharingRange) std::atomic<std::uint32_t> parked_{0};

  // kMaxRings single-producer rings, plus the shared overflow ring once they are all taken.
  alignas(internal::kFalseSharingRange)
      std::array<std::unique_ptr<CompletionRing>, kMaxRings + 1> rings_{};
  std::atomic<std::size_t> ring_count_{0};
  mutable std::mutex add_ring_mutex_;  // serializes add_ring and the free list; the poller never
                                       // takes it
  std::vector<CompletionRing*> free_rings_;
  CompletionRing* overflow_ring_ = nullptr;  // guarded by add_ring_mutex_
  std::mutex overflow_push_mutex_;           // the overflow ring's producers
  std::array<PollSource*, kMaxSources> sources_{};
  std::size_t source_count_ = 0;                    // changed only while no thread consumes
  std::uint64_t source_park_ns_ = kShortestParkNs;  // the poller thread's backoff (kAdaptive)

  std::unique_ptr<Counters> counters_;
  std::thread thread_;
  std::mutex lifecycle_mutex_;  // serializes start, stop and source changes
  std::atomic<bool> running_{false};
  int thread_pid_ = 0;  // the process that started the thread (fork detection)
  std::atomic<bool> stop_requested_{false};
  static constexpr std::int64_t kNoClock = std::numeric_limits<std::int64_t>::min();
  std::atomic<std::int64_t> live_cpu_clock_{kNoClock};  // the running thread's CPU clock id
};

}  // namespace pn
