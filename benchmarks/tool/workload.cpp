#include "workload.hpp"

#include <pthread.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "device_spec.hpp"
#include "floor.hpp"
#include "pollnotify/async_job.h"
#include "pollnotify/clock.hpp"
#include "pollnotify/fd_bridge.hpp"
#include "pollnotify/internal/cpu.hpp"
#include "pollnotify/job_driver.hpp"
#include "pollnotify/mpsc_queue.hpp"
#include "pollnotify/sim_runtime.hpp"
#include "uring_peers.hpp"
#ifdef PN_BENCH_WITH_URING
#include "pollnotify/uring_device.hpp"
#endif
#ifdef PN_BENCH_WITH_CRYPTODEV
#include "pollnotify/cryptodev_device.hpp"
#endif

namespace pn::bench {

const char* name_of(Mechanism mechanism) noexcept {
  switch (mechanism) {
    case Mechanism::kBusy:
      return "callback-busy";
    case Mechanism::kAdaptive:
      return "callback-adaptive";
    case Mechanism::kTimed:
      return "callback-timed";
    case Mechanism::kEventfd:
      return "eventfd-epoll";
    case Mechanism::kCondvar:
      return "condvar";
    case Mechanism::kUringWait:
      return "uring-wait-cqe";
    case Mechanism::kUringEventfd:
      return "uring-eventfd-epoll";
    case Mechanism::kCryptodevPoll:
      return "cryptodev-poll";
  }
  return "unknown";
}

bool parse_mechanism(const std::string& text, Mechanism& out) noexcept {
  for (Mechanism mechanism : kAllMechanisms) {
    const std::string full = name_of(mechanism);
    const std::string short_name =
        full.substr(full.find('-') == std::string::npos ? 0 : full.find('-') + 1);
    if (text == full || text == short_name ||
        (mechanism == Mechanism::kEventfd && text == "eventfd") ||
        (mechanism == Mechanism::kUringWait && text == "uring-wait") ||
        (mechanism == Mechanism::kUringEventfd && text == "uring-eventfd")) {
      out = mechanism;
      return true;
    }
  }
  return false;
}

namespace {

double thread_cpu_seconds() noexcept {
  timespec now{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

struct Run;

std::uint64_t ns_elapsed_since(std::uint64_t ticks, double ns_per_tick) noexcept {
  const std::uint64_t now = CheapClock::ticks();
  return now > ticks ? static_cast<std::uint64_t>(static_cast<double>(now - ticks) * ns_per_tick)
                     : 0;
}

struct Slot;

// A slot's notifier side (the poller thread for callbacks, the application thread for eventfd),
// on its own line with what a callback reads. The notifier reads nothing the application writes
// per request: the request's submit time comes in the completion's user data. So a request's
// round trip moves only the lines of the pollnotify path itself, not the benchmark's ledger.
struct alignas(internal::kFalseSharingRange) NotifierSide {
  Slot* slot = nullptr;  // set up before the run
  Run* run = nullptr;
  std::uint64_t notified = 0;        // notifications seen
  std::uint64_t notified_ticks = 0;  // submit time of the last one: a duplicate repeats it
  std::uint64_t duplicates = 0;
};

// One job slot of the driver and its wait context; the job-side fields belong to the
// application thread.
struct Slot {
  Run* run = nullptr;
  std::size_t index = 0;   // the JobDriver slot
  WaitCtx* ctx = nullptr;  // the driver's context for that slot
  AsyncFd fd = kBadAsyncFd;
  std::uint64_t accepted = 0;  // requests the device accepted
  std::uint64_t submit_ticks = 0;
  std::uint64_t intended_ticks = 0;  // open loop: when the schedule wanted this request sent
  NotifierSide notifier;
};

struct Run {
  const WorkloadOptions& options;
  Mechanism mechanism;
  Runtime* runtime = nullptr;
  RunResult result;
  double ns_per_tick = CheapClock::ns_per_tick();
  bool stopping = false;   // application thread only: jobs return at their next resume
  bool recording = false;  // application thread: resume latencies recorded after the warm-up
  bool open_loop = false;
  std::vector<Slot*> idle;  // open loop: jobs waiting for their next send time

  // Callback mechanisms hand slots over through one of these.
  std::unique_ptr<MpscQueue<Slot*>> ready;
  std::mutex condvar_mutex;
  std::condition_variable condvar;
  std::vector<Slot*> condvar_ready;  // guarded by condvar_mutex
  int epoll_fd = -1;

  explicit Run(const WorkloadOptions& o, Mechanism m) : options(o), mechanism(m) {}

  std::uint64_t ns_since(std::uint64_t ticks) const noexcept {
    return ns_elapsed_since(ticks, ns_per_tick);
  }

  // The ledger check, on the notifier's thread: exactly one notification per accepted request
  // (submitted at `ticks`).
  void notified(NotifierSide& side, std::uint64_t ticks) noexcept {
    if (ticks == side.notified_ticks) {
      ++side.duplicates;
      return;
    }
    side.notified_ticks = ticks;
    ++side.notified;
    if (notify_ns.recording.load(std::memory_order_relaxed)) {
      notify_ns.histogram.record(notify_ns.ns_since(ticks));
    }
  }
  // Read by the notifier; written by it (the histogram) or only around phases (recording).
  struct alignas(internal::kFalseSharingRange) NotifierShared {
    MpscQueue<Slot*>* ready = nullptr;
    double ns_per_tick = CheapClock::ns_per_tick();
    std::atomic<bool> recording{false};  // relaxed: a phase switch
    LatencyHistogram histogram;
    std::uint64_t ns_since(std::uint64_t ticks) const noexcept {
      return ns_elapsed_since(ticks, ns_per_tick);
    }
  } notify_ns;
};

// Completion callbacks: the user data is the request's submit time. The ledger and its clock read
// (about 20 ns on this virtual machine) come after the handoff, off the request's path.
int on_callback_ready_queue(void* raw, const PN_COMPLETION* completion) {
  auto* side = static_cast<NotifierSide*>(raw);
  const bool handed_over = side->run->notify_ns.ready->try_push(side->slot);
  side->run->notified(*side, completion->user_data);
  return handed_over ? 1 : 0;
}

int on_callback_condvar(void* raw, const PN_COMPLETION* completion) {
  auto* side = static_cast<NotifierSide*>(raw);
  Run& run = *side->run;
  {
    std::lock_guard lock(run.condvar_mutex);
    run.condvar_ready.push_back(side->slot);
  }
  run.condvar.notify_one();
  run.notified(*side, completion->user_data);
  return 1;
}

int bench_job(void* raw) {
  Slot& slot = **static_cast<Slot**>(raw);
  Run& run = *slot.run;
  while (!run.stopping) {
    if (run.open_loop) {
      run.idle.push_back(&slot);
      jobs::pause();  // until the schedule sends this job's next request, or the run stops
      if (run.stopping) break;
    }
    for (;;) {
      slot.submit_ticks = CheapClock::ticks();
      const SubmitResult submitted = run.runtime->submit(*slot.ctx, slot.submit_ticks);
      if (submitted == SubmitResult::kAccepted) break;
      if (submitted == SubmitResult::kFailed) return -1;
      ++run.result.eagain;
      jobs::pause();  // the application resumes an EAGAIN job at once: a retry
    }
    ++slot.accepted;
    ++run.result.submitted;
    jobs::pause();  // until notified
    if (run.recording) {
      run.result.resume_ns.record(
          run.ns_since(run.open_loop ? slot.intended_ticks : slot.submit_ticks));
      ++run.result.completions;
    }
    if (slot.ctx->status() != PN_ASYNC_STATUS_OK) ++run.result.errors;
  }
  return 0;
}

// The runtime a run submits to: its poller set up for the mechanism, and the device the spec
// names. Owns the file a uring read device reads.
struct Target {
  std::unique_ptr<Runtime> runtime;
  int file = -1;
  Target() = default;
  Target(Target&& other) noexcept
      : runtime(std::move(other.runtime)), file(std::exchange(other.file, -1)) {}
  ~Target() {
    runtime.reset();  // the device first: the kernel may still read into its buffers
    if (file >= 0) ::close(file);
  }
};

RuntimeOptions runtime_options_for(Mechanism mechanism, const WorkloadOptions& options) {
  RuntimeOptions runtime_options;
  switch (mechanism) {
    case Mechanism::kAdaptive:
      runtime_options.poller.policy = PollPolicy::kAdaptive;
      break;
    case Mechanism::kTimed:
      runtime_options.poller.policy = PollPolicy::kTimed;
      break;
    default:
      runtime_options.poller.policy = PollPolicy::kBusy;
      break;  // fd and condvar: same poller as the best callback
  }
  runtime_options.poller.interval = std::chrono::microseconds(options.timed_interval_us);
  if (runtime_options.poller.max_idle_interval < runtime_options.poller.interval) {
    runtime_options.poller.max_idle_interval = runtime_options.poller.interval;
  }
  runtime_options.poller.spin_polls = options.spin_polls;
  if (options.poller_cpu >= 0) runtime_options.poller_cpus = {options.poller_cpu};
  return runtime_options;
}

Target make_target(Mechanism mechanism, const WorkloadOptions& options) {
  DeviceSpec spec;
  if (const auto error = parse_device_spec(options.device, spec)) throw std::runtime_error(*error);
  const std::size_t depth = options.depth != 0 ? options.depth : options.jobs;
  Target target;
  if (spec.kind == DeviceSpec::Kind::kSim) {
    SimRuntimeOptions sim_options;
    static_cast<RuntimeOptions&>(sim_options) = runtime_options_for(mechanism, options);
    DeviceInstanceOptions instance;
    instance.latency = LatencyModel::parse(spec.model);
    instance.capacity = depth;
    sim_options.device.instances = {instance};
    sim_options.device.seed = options.seed;
    target.runtime = std::make_unique<SimRuntime>(sim_options);
    return target;
  }
  target.runtime = std::make_unique<Runtime>(runtime_options_for(mechanism, options));
  if (spec.kind == DeviceSpec::Kind::kCryptodev) {
#ifdef PN_BENCH_WITH_CRYPTODEV
    CryptodevOptions crypto;
    crypto.device = spec.vdev;
    crypto.max_in_flight = static_cast<unsigned>(depth);
    crypto.default_op = spec.aes_gcm ? CryptoOpKind::kAesGcmEncrypt : CryptoOpKind::kSha256;
    crypto.default_size = spec.size;
    target.runtime->add_device(
        std::make_unique<CryptodevDevice>(target.runtime->poller(0), crypto));
    return target;
#else
    throw std::runtime_error("this pollnotify-bench was built without libdpdk");
#endif
  }
#ifdef PN_BENCH_WITH_URING
  target.runtime->add_device(std::make_unique<UringDevice>(
      target.runtime->poller(0), uring_options(spec, depth, target.file)));
  return target;
#else
  throw std::runtime_error("this pollnotify-bench was built without liburing");
#endif
}

}  // namespace

RunResult run_workload(Mechanism mechanism, const WorkloadOptions& options,
                       const std::atomic<bool>& stop) {
  pin_this_thread_checked(options.app_cpu);
  CheapClock::calibrate();
  Run run(options, mechanism);
  run.result.mechanism = mechanism;
  run.result.device = options.device;
  run.result.rate = options.rate;
  run.result.jobs = options.jobs;
  run.open_loop = options.rate > 0;

  Target target = make_target(mechanism, options);
  Runtime* runtime = target.runtime.get();
  run.runtime = runtime;

  static const int fd_key = 0;
  // The job driver runs the jobs (start, EAGAIN retries, finish); the mechanism under test only
  // decides how a notification reaches this thread, which then resumes that slot.
  JobDriver driver(options.jobs);
  std::vector<std::unique_ptr<Slot>> slots;
  if (mechanism == Mechanism::kEventfd) run.epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  run.ready = std::make_unique<MpscQueue<Slot*>>(options.jobs);
  run.notify_ns.ready = run.ready.get();
  for (std::size_t i = 0; i < options.jobs; ++i) {
    slots.push_back(std::make_unique<Slot>());
    Slot& slot = *slots.back();
    slot.run = &run;
    slot.notifier.slot = &slot;
    slot.notifier.run = &run;
    slot.index = i;
    slot.ctx = &driver.context(i);
    if (mechanism == Mechanism::kEventfd) {
      slot.ctx->set_callback(nullptr, nullptr);  // no callback: deliver signals the eventfd
      slot.fd = attach_notify_eventfd(*slot.ctx, &fd_key);
      epoll_event interest{};
      interest.events = EPOLLIN;
      interest.data.ptr = &slot;
      if (slot.fd < 0 || ::epoll_ctl(run.epoll_fd, EPOLL_CTL_ADD, slot.fd, &interest) != 0) {
        throw std::runtime_error("cannot set up eventfd + epoll");
      }
    } else if (mechanism == Mechanism::kCondvar) {
      slot.ctx->set_completion_callback(on_callback_condvar, &slot.notifier);
    } else {
      slot.ctx->set_completion_callback(on_callback_ready_queue, &slot.notifier);
    }
  }
  runtime->start();

  std::vector<Slot*> ready;
  for (auto& slot : slots) {
    Slot* self = slot.get();
    const JobStatus status = driver.start_on(slot->index, bench_job, &self, sizeof self);
    if (status == JobStatus::kErr || status == JobStatus::kNoJobs) {
      throw std::runtime_error("cannot start a job (the process's job limit is " +
                               std::to_string(PN_ASYNC_get_max_jobs()) + ")");
    }
  }

  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  const auto measure_from = started + std::chrono::duration<double>(options.warmup_s);
  const auto measure_until = measure_from + std::chrono::duration<double>(options.duration_s);
  auto window_start = measure_from;
  auto window_end = measure_until;
  double app_cpu_start = 0;
  std::uint64_t poller_cpu_start = 0;
  auto last_progress = started;
  auto last_activity = started;

  const auto app_spin_ticks = static_cast<std::uint64_t>(static_cast<double>(options.app_spin_us) *
                                                         1000.0 / run.ns_per_tick);
  // Open loop: the schedule, in ticks (a double, so that the interval does not drift by rounding).
  const double send_interval_ticks = run.open_loop ? 1e9 / options.rate / run.ns_per_tick : 0;
  double next_send_ticks = static_cast<double>(CheapClock::ticks());
  // How long the application may block now: until the next send time in open loop, else 1 ms
  // (a bound that lets it notice the end of the run).
  const auto block_limit = [&]() -> std::chrono::nanoseconds {
    if (driver.retries_pending()) return std::chrono::nanoseconds(0);
    constexpr std::chrono::nanoseconds kMax = std::chrono::milliseconds(1);
    if (!run.open_loop || run.stopping || run.idle.empty()) return kMax;
    const double until =
        (next_send_ticks - static_cast<double>(CheapClock::ticks())) * run.ns_per_tick;
    return until <= 0 ? std::chrono::nanoseconds(0)
                      : std::min(kMax, std::chrono::nanoseconds(static_cast<std::int64_t>(until)));
  };
  // Collects the slots whose notification arrived; blocks at most `limit` when there are none.
  const auto wait_ready = [&](std::chrono::nanoseconds limit) {
    ready.clear();
    switch (mechanism) {
      case Mechanism::kEventfd: {
        epoll_event events[256];
        const timespec timeout{0, static_cast<long>(limit.count())};
        const int count = ::epoll_pwait2(run.epoll_fd, events, 256, &timeout, nullptr);
        for (int i = 0; i < count; ++i) {
          auto* slot = static_cast<Slot*>(events[i].data.ptr);
          if (!consume_notify_eventfd(slot->fd)) continue;
          run.notified(slot->notifier, slot->submit_ticks);
          ready.push_back(slot);
        }
        break;
      }
      case Mechanism::kCondvar: {
        std::unique_lock lock(run.condvar_mutex);
        run.condvar.wait_for(lock, limit, [&] { return !run.condvar_ready.empty(); });
        ready.swap(run.condvar_ready);
        break;
      }
      default: {
        // The application spins a while before it parks, as the poller does: with callbacks
        // both ends choose their own cost of waiting.
        Slot* slot = nullptr;
        const std::uint64_t limit_ticks =
            static_cast<std::uint64_t>(static_cast<double>(limit.count()) / run.ns_per_tick);
        const std::uint64_t spin_until =
            CheapClock::ticks() + std::min(app_spin_ticks, limit_ticks);
        do {
          while (run.ready->try_pop(slot)) ready.push_back(slot);
          if (!ready.empty()) break;
          internal::cpu_relax();
        } while (CheapClock::ticks() < spin_until);
        if (ready.empty() && limit_ticks > app_spin_ticks &&
            run.ready->pop_wait(slot, limit - std::chrono::microseconds(options.app_spin_us))) {
          ready.push_back(slot);
        }
      }
    }
  };
  // Open loop: sends every request that is due, one idle job each; a request due while no job is
  // idle waits for one, its latency still counted from its intended time.
  const auto send_due = [&] {
    if (!run.open_loop || run.stopping) return;
    const auto now_ticks = static_cast<double>(CheapClock::ticks());
    while (!run.idle.empty() && next_send_ticks <= now_ticks) {
      Slot* slot = run.idle.back();
      run.idle.pop_back();
      slot->intended_ticks = static_cast<std::uint64_t>(next_send_ticks);
      next_send_ticks += send_interval_ticks;
      (void)driver.resume(slot->index);
    }
  };
  // The end of the run: open-loop jobs waiting for a send time are resumed to see `stopping`.
  const auto release_idle = [&] {
    std::vector<Slot*> idle;
    idle.swap(run.idle);
    for (Slot* slot : idle) (void)driver.resume(slot->index);
    return idle.size();
  };

  bool hung = false;
  while (driver.running() != 0) {
    const auto now = Clock::now();
    if (!run.recording && !run.stopping && now >= measure_from) {
      run.recording = true;
      run.notify_ns.recording.store(true, std::memory_order_relaxed);
      window_start = now;
      app_cpu_start = thread_cpu_seconds();
      poller_cpu_start = runtime->stats().total.cpu_time_ns;
    }
    const bool enough = options.requests != 0 && run.result.completions >= options.requests;
    if (!run.stopping && (now >= measure_until || enough || stop.load(std::memory_order_relaxed))) {
      run.stopping = true;  // relaxed above: a stop flag set by a signal handler
      run.result.interrupted =
          stop.load(std::memory_order_relaxed) && now < measure_until && !enough;
      window_end = now;
      run.result.app_cpu_percent =
          run.recording ? 100.0 * (thread_cpu_seconds() - app_cpu_start) /
                              std::chrono::duration<double>(now - window_start).count()
                        : 0;
      run.result.poller_cpu_percent =
          run.recording
              ? 100.0 * static_cast<double>(runtime->stats().total.cpu_time_ns - poller_cpu_start) /
                    (std::chrono::duration<double>(now - window_start).count() * 1e9)
              : 0;
      run.recording = false;
      run.notify_ns.recording.store(false, std::memory_order_relaxed);
    }
    if (options.progress && now - last_progress > std::chrono::milliseconds(100)) {
      last_progress = now;
      const double elapsed = std::chrono::duration<double>(now - started).count();
      const double total = options.warmup_s + options.duration_s;
      std::fprintf(stderr, "\r  %-18s %-14s %3.0f%%  %10llu completions", name_of(mechanism),
                   options.device.c_str(), std::min(100.0, 100.0 * elapsed / total),
                   static_cast<unsigned long long>(run.result.completions));
    }
    send_due();
    std::size_t retried = driver.resume_retries();
    if (run.stopping) retried += release_idle();
    wait_ready(block_limit());
    for (Slot* slot : ready) (void)driver.resume(slot->index);
    if (!ready.empty() || retried != 0) {
      last_activity = now;
    } else if (run.stopping && now - last_activity > std::chrono::seconds(5)) {
      hung = true;  // jobs still waiting for a notification that never came
      break;
    }
  }
  if (options.progress) std::fprintf(stderr, "\r%80s\r", "");

  run.result.seconds = std::chrono::duration<double>(window_end - window_start).count();
  if (!hung) runtime->stop();
  for (const auto& slot : slots) {
    run.result.duplicated += slot->notifier.duplicates;
    run.result.lost += slot->accepted - slot->notifier.notified;
    run.result.notified += slot->notifier.notified;
  }
  if (hung) {
    // Late completions become stale; the jobs, resumed with `stopping` set, return.
    for (const auto& slot : slots) slot->ctx->cancel_pending();
    while (driver.running() != 0) {
      for (const auto& slot : slots) (void)driver.resume(slot->index);
    }
  }
  target.runtime.reset();  // the poller threads have ended: their histogram can be read
  run.result.notify_ns = std::move(run.notify_ns.histogram);
  if (run.epoll_fd >= 0) ::close(run.epoll_fd);
  return std::move(run.result);
}

}  // namespace pn::bench
