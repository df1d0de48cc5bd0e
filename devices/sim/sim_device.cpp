#include "pollnotify/sim_device.hpp"

#include <pthread.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "pollnotify/clock.hpp"
#include "pollnotify/internal/cpu.hpp"
#include "pollnotify/internal/submission_channels.hpp"
#include "pollnotify/mpsc_queue.hpp"

namespace pn {
namespace {

std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// A uniform double in [0, 1) from 53 random bits.
double unit(std::uint64_t bits) noexcept { return static_cast<double>(bits >> 11) * 0x1.0p-53; }

double parse_number(std::string_view text, std::string_view spec, double limit) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || !(value >= 0) ||
      !std::isfinite(value)) {
    throw std::invalid_argument("latency model '" + std::string(spec) + "': '" + std::string(text) +
                                "' is not a non-negative number");
  }
  if (value > limit) {
    std::ostringstream message;
    message << "latency model '" << spec << "': " << text << " is above the limit " << limit;
    throw std::invalid_argument(message.str());
  }
  return value;
}

double parse_latency(std::string_view text, std::string_view spec) {
  return parse_number(text, spec, LatencyModel::kMaxLatencyNs);
}

// A latency sample as whole nanoseconds, clamped to the limit (no float-to-integer overflow).
std::uint64_t to_latency_ns(double nanoseconds) noexcept {
  if (!(nanoseconds > 0)) return 0;
  return static_cast<std::uint64_t>(std::min(nanoseconds, LatencyModel::kMaxLatencyNs));
}

std::vector<std::uint64_t> read_trace(const std::string& path) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) {
    throw std::invalid_argument("latency trace '" + path + "' is a directory, not a file");
  }
  std::ifstream file(path);
  if (!file) throw std::invalid_argument("latency trace '" + path + "' cannot be opened");
  std::vector<std::uint64_t> trace;
  std::string line;
  std::size_t line_number = 0;
  while (std::getline(file, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();  // CRLF line ends
    if (line.empty() || line[0] == '#') continue;
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(line.data(), line.data() + line.size(), value);
    const std::string where = "latency trace '" + path + "' line " + std::to_string(line_number);
    if (error == std::errc::result_out_of_range ||
        (error == std::errc() && static_cast<double>(value) > LatencyModel::kMaxLatencyNs)) {
      throw std::invalid_argument(
          where + ": above the limit of " +
          std::to_string(static_cast<std::uint64_t>(LatencyModel::kMaxLatencyNs)) + " ns");
    }
    if (error != std::errc() || end != line.data() + line.size()) {
      throw std::invalid_argument(where + ": not a whole number of nanoseconds");
    }
    trace.push_back(value);
  }
  if (trace.empty()) throw std::invalid_argument("latency trace '" + path + "' has no values");
  return trace;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

struct Pending {
  WaitCtx* ctx;
  RequestTicket ticket;
  std::uint64_t user_data;
  std::uint64_t submit_ns;
  std::uint32_t channel;  // the submitting thread's channel (set by admit)
};

struct Timed {
  std::uint64_t due_ns;
  std::uint64_t order;  // FIFO among equal due times
  Completion completion;
  std::uint32_t channel;  // its credit goes back there once the completion is in a ring
  bool operator>(const Timed& other) const noexcept {
    return due_ns != other.due_ns ? due_ns > other.due_ns : order > other.order;
  }
};

}  // namespace

LatencyModel LatencyModel::parse(std::string_view spec) {
  const std::vector<std::string_view> parts = split(spec, ':');
  const std::string_view kind = parts[0];
  const auto expect_parts = [&](std::size_t count, const char* form) {
    if (parts.size() != count) {
      throw std::invalid_argument("latency model '" + std::string(spec) + "': expected " + form);
    }
  };
  LatencyModel model;
  if (kind == "zero") {
    expect_parts(1, "'zero'");
  } else if (kind == "fixed") {
    expect_parts(2, "'fixed:NS'");
    model.kind = LatencyKind::kFixed;
    model.first = parse_latency(parts[1], spec);
  } else if (kind == "uniform") {
    expect_parts(3, "'uniform:MIN_NS:MAX_NS'");
    model.kind = LatencyKind::kUniform;
    model.first = parse_latency(parts[1], spec);
    model.second = parse_latency(parts[2], spec);
    if (model.second < model.first) {
      throw std::invalid_argument("latency model '" + std::string(spec) + "': MAX below MIN");
    }
  } else if (kind == "exp") {
    expect_parts(2, "'exp:MEAN_NS'");
    model.kind = LatencyKind::kExponential;
    model.first = parse_latency(parts[1], spec);
  } else if (kind == "lognormal") {
    expect_parts(3, "'lognormal:MEAN_NS:SIGMA'");
    model.kind = LatencyKind::kLogNormal;
    model.first = parse_latency(parts[1], spec);
    model.second = parse_number(parts[2], spec, LatencyModel::kMaxLogNormalSigma);
    if (model.first <= 0)
      throw std::invalid_argument("latency model '" + std::string(spec) + "': MEAN must be > 0");
  } else if (kind == "trace") {
    if (parts.size() < 2) throw std::invalid_argument("latency model 'trace:FILE': missing FILE");
    model.kind = LatencyKind::kTrace;
    model.trace = read_trace(std::string(spec.substr(6)));
  } else {
    throw std::invalid_argument(
        "unknown latency model '" + std::string(spec) +
        "' (zero, fixed:NS, uniform:MIN:MAX, exp:MEAN, lognormal:MEAN:SIGMA, trace:FILE)");
  }
  return model;
}

std::string LatencyModel::describe() const {
  std::ostringstream out;
  switch (kind) {
    case LatencyKind::kZero:
      out << "zero";
      break;
    case LatencyKind::kFixed:
      out << "fixed:" << first;
      break;
    case LatencyKind::kUniform:
      out << "uniform:" << first << ":" << second;
      break;
    case LatencyKind::kExponential:
      out << "exp:" << first;
      break;
    case LatencyKind::kLogNormal:
      out << "lognormal:" << first << ":" << second;
      break;
    case LatencyKind::kTrace:
      out << "trace(" << trace.size() << " values)";
      break;
  }
  return out.str();
}

struct SimDevice::Instance final : PollSource {
  Instance(const DeviceInstanceOptions& instance_options, std::uint64_t device_seed,
           std::size_t instance_index, Poller& bound_poller, const SimDevice& owner)
      : options(instance_options),
        device(owner),
        poller(bound_poller),
        index(instance_index),
        seed(splitmix64(device_seed ^ (instance_index * 0x632BE59BD9B4E019ULL))),
        submissions(owner.options_.timing == DeviceTiming::kPolled ? &bound_poller : nullptr,
                    instance_options.capacity),
        rng_state(seed) {}

  [[nodiscard]] bool inline_completion() const noexcept {
    return options.latency.kind == LatencyKind::kZero;
  }

  // Submitting threads (SimDevice::submit's steps).
  std::optional<SubmitResult> inject_fault(WaitCtx& ctx) noexcept;
  SubmitResult submit_inline(WaitCtx& ctx, std::uint64_t user_data) noexcept;

  // Submit-side decisions come from a counter hash, so any thread can draw them.
  double submit_draw() noexcept {
    return unit(splitmix64(
        seed ^ decisions.fetch_add(1, std::memory_order_relaxed)));  // relaxed: a counter
  }

  // --- advancing thread (poller for kPolled, device thread for kThread) ---
  double draw() noexcept { return unit(splitmix64(rng_state++)); }

  std::uint64_t sample_latency() noexcept {
    const LatencyModel& model = options.latency;
    switch (model.kind) {
      case LatencyKind::kZero:
        return 0;
      case LatencyKind::kFixed:
        return to_latency_ns(model.first);
      case LatencyKind::kUniform:
        return to_latency_ns(model.first + draw() * (model.second - model.first));
      case LatencyKind::kExponential:
        return to_latency_ns(-model.first * std::log1p(-draw()));
      case LatencyKind::kLogNormal: {
        const double sigma = model.second;
        const double mu = std::log(model.first) - sigma * sigma / 2;  // so the mean is `first`
        const double normal = std::sqrt(-2 * std::log1p(-draw())) * std::cos(2 * M_PI * draw());
        return to_latency_ns(std::exp(mu + sigma * normal));
      }
      case LatencyKind::kTrace: {
        const std::uint64_t value = model.trace[trace_position];
        trace_position = (trace_position + 1) % model.trace.size();
        return value;
      }
    }
    return 0;
  }

  void schedule(const Pending& pending) {
    const std::uint64_t latency = sample_latency();
    std::uint64_t start = pending.submit_ns;
    if (options.engines != 0) {
      if (engine_free.size() < options.engines) {
        engine_free.push(0);
      }
      start = std::max(start, engine_free.top());
      engine_free.pop();
      engine_free.push(start + latency);
    }
    const bool error = options.error_rate > 0 && draw() < options.error_rate;
    timeline.push(Timed{start + latency, order++,
                        Completion{pending.ctx, pending.user_data, pending.ticket,
                                   error ? PN_ASYNC_STATUS_ERR : PN_ASYNC_STATUS_OK},
                        pending.channel});
  }

  std::size_t poll() override {
    Pending pending{};
    while (submissions.try_pop(pending)) schedule(pending);
    if (timeline.empty()) return 0;
    const std::uint64_t now = device.now_ns();
    batch.clear();
    batch_channels.clear();
    while (!timeline.empty() && timeline.top().due_ns <= now && batch.size() < kBatch) {
      batch.push_back(timeline.top().completion);
      batch_channels.push_back(timeline.top().channel);
      timeline.pop();
    }
    if (batch.empty()) return 0;
    const std::size_t pushed = ring->try_push_burst(batch);
    for (std::size_t i = pushed; i < batch.size(); ++i) {  // ring full: retried next poll
      timeline.push(Timed{now, order++, batch[i], batch_channels[i]});
    }
    count_completed(pushed);
    return pushed;
  }

  // In the poller's parking handshake.
  std::uint64_t pending_ns() override {
    if (submissions.has_queued_after_park_barrier()) return 1;
    return next_due_ns();
  }

  // 0 when nothing is scheduled, else nanoseconds until the next completion is due (at least 1).
  std::uint64_t next_due_ns() const {
    if (timeline.empty()) return 0;
    const std::uint64_t now = device.now_ns();
    const std::uint64_t due = timeline.top().due_ns;
    return due > now ? due - now : 1;
  }

  void count_completed(std::size_t count) noexcept {
    submissions.count_completed(batch.data(), count);
    for (std::size_t i = 0; i < count; ++i) submissions.give_back(batch_channels[i]);
  }

  // Completes everything still in the device with ERR (cancelled): through the ring if it has
  // room, else delivered right here.
  void cancel_all() {
    Pending pending{};
    while (submissions.try_pop(pending)) schedule(pending);
    while (!timeline.empty()) {
      Completion completion = timeline.top().completion;
      const std::uint32_t channel = timeline.top().channel;
      timeline.pop();
      completion.status = PN_ASYNC_STATUS_ERR;
      // One deliverer per context at a time (WaitCtx::in_flight() counts without
      // read-modify-writes): while the poller runs, the completion goes through its ring, waiting
      // for room; a stopped poller delivers nothing, so the owner delivers it here.
      bool pushed = ring != nullptr && ring->try_push(completion);
      while (!pushed && ring != nullptr && poller.running() && !poller.consuming_on_this_thread()) {
        std::this_thread::yield();
        pushed = ring->try_push(completion);
      }
      if (!pushed) {
        try {
          (void)completion.ctx->deliver(completion);  // with its user_data
        } catch (...) {  // a C++ callback threw: the ticket is released; nothing else to do
        }
      }
      submissions.give_back(channel);
    }
  }

  static constexpr std::size_t kBatch = 64;

  const DeviceInstanceOptions options;
  const SimDevice& device;
  Poller& poller;
  const std::size_t index;
  const std::uint64_t seed;
  CompletionRing* ring = nullptr;  // produced into by the advancing thread
  // Capacity (per submitting thread), the table's counters and the channels to the advancing
  // thread; their in_flight() is the instance's occupancy.
  internal::SubmissionChannels<Pending> submissions;

  std::atomic<std::uint64_t> decisions{0};
  // Zero-latency requests pushed: each counts as submitted, accepted and completed (stats() adds
  // it to the three), so such a request costs one counter update.
  std::atomic<std::uint64_t> inline_completed{0};

  // Advancing thread only.
  alignas(internal::kFalseSharingRange)
      std::priority_queue<Timed, std::vector<Timed>, std::greater<>> timeline;
  std::priority_queue<std::uint64_t, std::vector<std::uint64_t>, std::greater<>> engine_free;
  std::vector<Completion> batch;
  std::vector<std::uint32_t> batch_channels;  // batch[i]'s channel
  std::uint64_t rng_state;
  std::uint64_t order = 0;
  std::size_t trace_position = 0;
};

SimDevice::SimDevice(SimDeviceOptions options, std::span<Poller* const> pollers)
    : options_(std::move(options)) {
  if (options_.instances.empty() || options_.instances.size() > SimDeviceOptions::kMaxInstances) {
    throw std::invalid_argument("SimDevice needs 1 to " +
                                std::to_string(SimDeviceOptions::kMaxInstances) +
                                " instances (SimDeviceOptions::kMaxInstances)");
  }
  if (pollers.empty()) throw std::invalid_argument("SimDevice needs at least one poller");
  for (Poller* poller : pollers) {
    if (poller == nullptr) throw std::invalid_argument("SimDevice: a poller is null");
  }
  // Validate everything before any poller learns about this device.
  for (const DeviceInstanceOptions& instance : options_.instances) {
    if (instance.capacity == 0 || instance.capacity > DeviceInstanceOptions::kMaxCapacity) {
      throw std::invalid_argument("SimDevice: instance capacity must be in [1, " +
                                  std::to_string(DeviceInstanceOptions::kMaxCapacity) +
                                  "] (DeviceInstanceOptions::kMaxCapacity)");
    }
    if (instance.engines > instance.capacity) {
      throw std::invalid_argument("SimDevice: engines (" + std::to_string(instance.engines) +
                                  ") must be at most the capacity (" +
                                  std::to_string(instance.capacity) + "); 0 means unlimited");
    }
    for (const double rate : {instance.error_rate, instance.refuse_rate, instance.fatal_rate}) {
      if (!(rate >= 0 && rate <= 1))
        throw std::invalid_argument("SimDevice: fault rates must be in [0, 1]");
    }
  }
  // Each instance that does not complete inline takes a ring on its poller: all must fit now.
  std::map<Poller*, std::size_t> rings_needed;
  for (std::size_t i = 0; i < options_.instances.size(); ++i) {
    if (options_.instances[i].latency.kind != LatencyKind::kZero) {
      ++rings_needed[pollers[i % pollers.size()]];
    }
  }
  for (const auto& [poller, needed] : rings_needed) {
    if (const std::size_t room = poller->ring_room(); needed > room) {
      throw std::length_error("SimDevice: " + std::to_string(needed) +
                              " instances need a ring each on one poller, which has room for " +
                              std::to_string(room) + " (Poller::kMaxRings = " +
                              std::to_string(Poller::kMaxRings) + "): spread them over pollers");
    }
  }
  std::vector<Instance*> registered;  // sources a poller accepted, to undo on failure
  try {
    for (std::size_t i = 0; i < options_.instances.size(); ++i) {
      const DeviceInstanceOptions& instance = options_.instances[i];
      Poller& poller = *pollers[i % pollers.size()];
      instances_.push_back(std::make_unique<Instance>(instance, options_.seed, i, poller, *this));
      Instance& created = *instances_.back();
      created.batch.reserve(Instance::kBatch);
      if (created.inline_completion()) continue;  // completes on the submitter's own ring
      created.ring =
          &poller.acquire_ring(std::max<std::size_t>(instance.capacity, Instance::kBatch));
      if (options_.timing == DeviceTiming::kPolled) {
        poller.add_source(created);
        registered.push_back(&created);
      }
    }
  } catch (...) {
    // A poller that runs, or has no room left: no poller may keep a source that is going away,
    // nor a ring for it.
    for (Instance* instance : registered) (void)instance->poller.remove_source(*instance);
    for (auto& instance : instances_) {
      if (instance->ring != nullptr) instance->poller.release_ring(*instance->ring);
    }
    throw;
  }
  if (options_.clock == nullptr) CheapClock::calibrate();
}

SimDevice::~SimDevice() {
  stop();
  for (auto& instance : instances_) {
    if (!instance->inline_completion() && options_.timing == DeviceTiming::kPolled) {
      // A running poller would poll this source while it goes away: stop it first (it delivers
      // what its rings hold; a Runtime has stopped its pollers already).
      if (instance->poller.running()) instance->poller.stop();
      (void)instance->poller.remove_source(*instance);
    }
    instance->cancel_all();
    if (instance->ring != nullptr) instance->poller.release_ring(*instance->ring);
  }
}

std::uint64_t SimDevice::now_ns() const noexcept {
  return options_.clock != nullptr ? options_.clock(options_.clock_context) : CheapClock::now_ns();
}

void SimDevice::start() {
  if (options_.timing != DeviceTiming::kThread || !threads_.empty()) return;
  threads_stop_.store(false, std::memory_order_relaxed);  // published by the thread starts
  threads_pid_ = ::getpid();
  for (auto& owned : instances_) {
    Instance* instance = owned.get();
    if (instance->inline_completion()) continue;
    threads_.emplace_back([this, instance] {
      ::pthread_setname_np(::pthread_self(), "pn-device");
      ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
      if (options_.thread_cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(options_.thread_cpu, &set);
        ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
      }
      // Relaxed: a stop flag; join publishes the rest.
      while (!threads_stop_.load(std::memory_order_relaxed)) {
        if (instance->poll() != 0) continue;
        const std::uint64_t pending = instance->next_due_ns();
        if (pending != 0 && pending < 50'000) {
          internal::cpu_relax();  // a sleep this short overshoots: spin
        } else {
          // Parks until a submission arrives or the next completion is due (at most 1 ms).
          const std::uint64_t wait =
              pending == 0 ? 1'000'000 : std::min<std::uint64_t>(pending, 1'000'000);
          instance->submissions.wait_for_requests(std::chrono::nanoseconds(wait));
        }
      }
    });
  }
}

void SimDevice::stop() {
  threads_stop_.store(true, std::memory_order_relaxed);
  if (!threads_.empty() && ::getpid() != threads_pid_) {
    // A forked child: the device threads were not copied; their handles are left unjoined.
    for (std::thread& thread : threads_) new std::thread(std::move(thread));
    threads_.clear();
    return;
  }
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

using internal::DeviceCounters;

// The injected faults, in the order a device meets them: a fatal fault, then a refusal. Counted
// (as submitted, too); nullopt when neither is drawn.
std::optional<SubmitResult> SimDevice::Instance::inject_fault(WaitCtx& ctx) noexcept {
  if (options.fatal_rate > 0 && submit_draw() < options.fatal_rate) {
    DeviceCounters::add(submissions.submitted);
    return DeviceCounters::refuse(ctx, SubmitResult::kFailed, submissions.failed);
  }
  if (options.refuse_rate > 0 && submit_draw() < options.refuse_rate) {
    DeviceCounters::add(submissions.submitted);
    return DeviceCounters::refuse(ctx, SubmitResult::kRetry, submissions.refused_other);
  }
  return std::nullopt;
}

// Zero latency: the request completes now, into the submitting thread's ring. It never occupies
// the device (a full ring is what refuses it), and one counter update stands for submitted,
// accepted and completed: the request path makes one read-modify-write, not five.
SubmitResult SimDevice::Instance::submit_inline(WaitCtx& ctx, std::uint64_t user_data) noexcept {
  if (const auto fault = inject_fault(ctx)) return *fault;
  ctx.ensure_status(AsyncStatus::kOk);  // before the completion can set its own
  const RequestTicket ticket = ctx.arm();
  const bool error = options.error_rate > 0 && submit_draw() < options.error_rate;
  const Completion completion{&ctx, user_data, ticket,
                              error ? PN_ASYNC_STATUS_ERR : PN_ASYNC_STATUS_OK};
  CompletionRing* submitter_ring = nullptr;
  try {
    submitter_ring = &poller.thread_ring();
  } catch (...) {
    submitter_ring = nullptr;  // out of memory: refuse like a full device
  }
  // Counted before the push: a locked add right after it would wait for the ring's stores to
  // reach the poller's core. Undone below if the push fails.
  DeviceCounters::add(inline_completed);
  if (error) DeviceCounters::add(submissions.completed_err);
  if (submitter_ring != nullptr && submitter_ring->try_push(completion)) {
    return SubmitResult::kAccepted;
  }
  inline_completed.fetch_sub(1, std::memory_order_relaxed);  // relaxed: statistics
  if (error) submissions.completed_err.fetch_sub(1, std::memory_order_relaxed);
  DeviceCounters::add(submissions.submitted);
  ctx.abandon(ticket);
  return DeviceCounters::refuse(ctx, SubmitResult::kRetry, submissions.refused_full);
}

SubmitResult SimDevice::submit(std::size_t instance_index, WaitCtx& ctx,
                               std::uint64_t user_data) noexcept {
  if (instance_index >= instances_.size()) {
    ctx.set_status(AsyncStatus::kErr);
    return SubmitResult::kFailed;
  }
  Instance& instance = *instances_[instance_index];
  if (instance.inline_completion()) return instance.submit_inline(ctx, user_data);
  if (const auto fault = instance.inject_fault(ctx)) return *fault;
  // Any other latency: the request waits in the submission queue for the advancing thread.
  return instance.submissions.admit(ctx, Pending{nullptr, {}, user_data, now_ns(), 0});
}

std::size_t SimDevice::instance_for(const WaitCtx& ctx) const noexcept {
  // Fibonacci hashing of the address: contexts spread evenly, each always on the same instance.
  const auto bits = reinterpret_cast<std::uintptr_t>(&ctx) >> 4;
  return static_cast<std::size_t>((bits * 0x9E3779B97F4A7C15ULL) >> 32) % instances_.size();
}

SubmitResult SimDevice::submit(WaitCtx& ctx, std::uint64_t user_data) noexcept {
  return submit(instance_for(ctx), ctx, user_data);
}

std::uint64_t SimDevice::capacity() const noexcept {
  std::uint64_t total = 0;
  for (const auto& instance : instances_) total += instance->options.capacity;
  return total;
}

std::size_t SimDevice::instance_count() const noexcept { return instances_.size(); }

std::uint64_t SimDevice::in_flight(std::size_t instance) const noexcept {
  return instance < instances_.size() ? instances_[instance]->submissions.in_flight() : 0;
}

std::uint64_t SimDevice::in_flight() const noexcept {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < instances_.size(); ++i) total += in_flight(i);
  return total;
}

DeviceStats SimDevice::stats() const noexcept {
  DeviceStats stats;
  for (std::size_t i = 0; i < instances_.size(); ++i) {
    const Instance& instance = *instances_[i];
    const DeviceStats own = instance.submissions.snapshot();
#define PN_SIM_STATS_ADD(name, description) stats.name += own.name;
    PN_DEVICE_COUNTERS(PN_SIM_STATS_ADD)
#undef PN_SIM_STATS_ADD
    const std::uint64_t inline_completed =
        instance.inline_completed.load(std::memory_order_relaxed);  // statistics
    stats.submitted += inline_completed;
    stats.accepted += inline_completed;
    stats.completed += inline_completed;
  }
  return stats;
}

}  // namespace pn
