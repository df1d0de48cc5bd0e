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
#include <string>
#include <utility>
#include <vector>

#include "floor.hpp"
#include "pollnotify/async_job.h"
#include "pollnotify/clock.hpp"
#include "pollnotify/fd_bridge.hpp"
#include "pollnotify/internal/cpu.hpp"
#include "pollnotify/job_driver.hpp"
#include "pollnotify/mpsc_queue.hpp"
#include "workload_target.hpp"

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

// The open loop's schedule: send times in ticks (a double, so that the interval does not drift
// by rounding).
struct OpenLoopSchedule {
  double interval_ticks = 0;
  double next_ticks = 0;
};

// One run of one mechanism, in the order run() calls its steps: set-up (contexts wired to the
// mechanism, jobs started), then per turn of the application loop the phase switches, progress,
// the open-loop sends, the retries and the notifications, and at the end the ledger.
class WorkloadRun {
 public:
  WorkloadRun(Mechanism mechanism, const WorkloadOptions& options, const std::atomic<bool>& stop)
      : options_(options),
        mechanism_(mechanism),
        stop_(stop),
        run_(options, mechanism),
        target_(make_target(mechanism, options)),
        driver_(options.jobs) {
    run_.result.mechanism = mechanism;
    run_.result.device = options.device;
    run_.result.rate = options.rate;
    run_.result.jobs = options.jobs;
    run_.open_loop = options.rate > 0;
    run_.runtime = target_.runtime.get();
    app_spin_ticks_ = static_cast<std::uint64_t>(static_cast<double>(options.app_spin_us) * 1000.0 /
                                                 run_.ns_per_tick);
  }
  WorkloadRun(const WorkloadRun&) = delete;
  WorkloadRun& operator=(const WorkloadRun&) = delete;
  ~WorkloadRun() {
    if (run_.epoll_fd >= 0) ::close(run_.epoll_fd);
  }

  RunResult run() {
    wire_slots();
    run_.runtime->start();
    start_jobs();
    started_ = Clock::now();
    measure_from_ = started_ + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(options_.warmup_s));
    measure_until_ = measure_from_ + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(options_.duration_s));
    window_start_ = measure_from_;
    window_end_ = measure_until_;
    last_progress_ = last_activity_ = started_;
    schedule_.interval_ticks = run_.open_loop ? 1e9 / options_.rate / run_.ns_per_tick : 0;
    schedule_.next_ticks = static_cast<double>(CheapClock::ticks());
    const bool hung = drive_jobs();
    if (options_.progress) std::fprintf(stderr, "\r%80s\r", "");
    return finish(hung);
  }

 private:
  using Clock = std::chrono::steady_clock;

  // Each job slot's context notifies through the mechanism under test.
  void wire_slots() {
    static const int fd_key = 0;
    if (mechanism_ == Mechanism::kEventfd) run_.epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    run_.ready = std::make_unique<MpscQueue<Slot*>>(options_.jobs);
    run_.notify_ns.ready = run_.ready.get();
    for (std::size_t i = 0; i < options_.jobs; ++i) {
      slots_.push_back(std::make_unique<Slot>());
      Slot& slot = *slots_.back();
      slot.run = &run_;
      slot.notifier.slot = &slot;
      slot.notifier.run = &run_;
      slot.index = i;
      slot.ctx = &driver_.context(i);
      if (mechanism_ == Mechanism::kEventfd) {
        slot.ctx->set_callback(nullptr, nullptr);  // no callback: deliver signals the eventfd
        slot.fd = attach_notify_eventfd(*slot.ctx, &fd_key);
        epoll_event interest{};
        interest.events = EPOLLIN;
        interest.data.ptr = &slot;
        if (slot.fd < 0 || ::epoll_ctl(run_.epoll_fd, EPOLL_CTL_ADD, slot.fd, &interest) != 0) {
          throw std::runtime_error("cannot set up eventfd + epoll");
        }
      } else if (mechanism_ == Mechanism::kCondvar) {
        slot.ctx->set_completion_callback(on_callback_condvar, &slot.notifier);
      } else {
        slot.ctx->set_completion_callback(on_callback_ready_queue, &slot.notifier);
      }
    }
  }

  // The job driver runs the jobs (start, EAGAIN retries, finish); the mechanism under test only
  // decides how a notification reaches this thread, which then resumes that slot.
  void start_jobs() {
    for (auto& slot : slots_) {
      Slot* self = slot.get();
      const JobStatus status = driver_.start_on(slot->index, bench_job, &self, sizeof self);
      if (status == JobStatus::kErr || status == JobStatus::kNoJobs) {
        throw std::runtime_error("cannot start a job (the process's job limit is " +
                                 std::to_string(PN_ASYNC_get_max_jobs()) + ")");
      }
    }
  }

  // The application loop; true when jobs still waited for a notification 5 s after the end.
  bool drive_jobs() {
    while (driver_.running() != 0) {
      const auto now = Clock::now();
      if (!run_.recording && !run_.stopping && now >= measure_from_) begin_measuring(now);
      const bool enough = options_.requests != 0 && run_.result.completions >= options_.requests;
      // Relaxed: a stop flag set by a signal handler.
      const bool interrupted = stop_.load(std::memory_order_relaxed);
      if (!run_.stopping && (now >= measure_until_ || enough || interrupted)) {
        end_measuring(now, interrupted && now < measure_until_ && !enough);
      }
      if (options_.progress && now - last_progress_ > std::chrono::milliseconds(100)) {
        print_progress(now);
      }
      send_due();
      std::size_t retried = driver_.resume_retries();
      if (run_.stopping) retried += release_idle();
      wait_ready(block_limit());
      for (Slot* slot : ready_) (void)driver_.resume(slot->index);
      if (!ready_.empty() || retried != 0) {
        last_activity_ = now;
      } else if (run_.stopping && now - last_activity_ > std::chrono::seconds(5)) {
        return true;
      }
    }
    return false;
  }

  void begin_measuring(Clock::time_point now) {
    run_.recording = true;
    run_.notify_ns.recording.store(true, std::memory_order_relaxed);
    window_start_ = now;
    app_cpu_start_ = thread_cpu_seconds();
    poller_cpu_start_ = run_.runtime->stats().total.cpu_time_ns;
  }

  void end_measuring(Clock::time_point now, bool interrupted) {
    run_.stopping = true;
    run_.result.interrupted = interrupted;
    window_end_ = now;
    if (run_.recording) {
      const double seconds = std::chrono::duration<double>(now - window_start_).count();
      run_.result.app_cpu_percent = 100.0 * (thread_cpu_seconds() - app_cpu_start_) / seconds;
      run_.result.poller_cpu_percent =
          100.0 * static_cast<double>(run_.runtime->stats().total.cpu_time_ns - poller_cpu_start_) /
          (seconds * 1e9);
    }
    run_.recording = false;
    run_.notify_ns.recording.store(false, std::memory_order_relaxed);
  }

  void print_progress(Clock::time_point now) {
    last_progress_ = now;
    const double elapsed = std::chrono::duration<double>(now - started_).count();
    const double total = options_.warmup_s + options_.duration_s;
    std::fprintf(stderr, "\r  %-18s %-14s %3.0f%%  %10llu completions", name_of(mechanism_),
                 options_.device.c_str(), std::min(100.0, 100.0 * elapsed / total),
                 static_cast<unsigned long long>(run_.result.completions));
  }

  // How long the application may block now: until the next send time in open loop, else 1 ms
  // (a bound that lets it notice the end of the run).
  std::chrono::nanoseconds block_limit() const {
    if (driver_.retries_pending()) return std::chrono::nanoseconds(0);
    constexpr std::chrono::nanoseconds kMax = std::chrono::milliseconds(1);
    if (!run_.open_loop || run_.stopping || run_.idle.empty()) return kMax;
    const double until =
        (schedule_.next_ticks - static_cast<double>(CheapClock::ticks())) * run_.ns_per_tick;
    return until <= 0 ? std::chrono::nanoseconds(0)
                      : std::min(kMax, std::chrono::nanoseconds(static_cast<std::int64_t>(until)));
  }

  // Collects the slots whose notification arrived; blocks at most `limit` when there are none.
  void wait_ready(std::chrono::nanoseconds limit) {
    ready_.clear();
    switch (mechanism_) {
      case Mechanism::kEventfd:
        wait_eventfds(limit);
        break;
      case Mechanism::kCondvar: {
        std::unique_lock lock(run_.condvar_mutex);
        run_.condvar.wait_for(lock, limit, [&] { return !run_.condvar_ready.empty(); });
        ready_.swap(run_.condvar_ready);
        break;
      }
      default:
        wait_ready_queue(limit);
    }
  }

  void wait_eventfds(std::chrono::nanoseconds limit) {
    epoll_event events[256];
    const timespec timeout{0, static_cast<long>(limit.count())};
    const int count = ::epoll_pwait2(run_.epoll_fd, events, 256, &timeout, nullptr);
    for (int i = 0; i < count; ++i) {
      auto* slot = static_cast<Slot*>(events[i].data.ptr);
      if (!consume_notify_eventfd(slot->fd)) continue;
      run_.notified(slot->notifier, slot->submit_ticks);
      ready_.push_back(slot);
    }
  }

  // The application spins a while before it parks, as the poller does: with callbacks both ends
  // choose their own cost of waiting.
  void wait_ready_queue(std::chrono::nanoseconds limit) {
    Slot* slot = nullptr;
    const auto limit_ticks =
        static_cast<std::uint64_t>(static_cast<double>(limit.count()) / run_.ns_per_tick);
    const std::uint64_t spin_until = CheapClock::ticks() + std::min(app_spin_ticks_, limit_ticks);
    do {
      while (run_.ready->try_pop(slot)) ready_.push_back(slot);
      if (!ready_.empty()) return;
      internal::cpu_relax();
    } while (CheapClock::ticks() < spin_until);
    if (limit_ticks > app_spin_ticks_ &&
        run_.ready->pop_wait(slot, limit - std::chrono::microseconds(options_.app_spin_us))) {
      ready_.push_back(slot);
    }
  }

  // Open loop: sends every request that is due, one idle job each; a request due while no job is
  // idle waits for one, its latency still counted from its intended time.
  void send_due() {
    if (!run_.open_loop || run_.stopping) return;
    const auto now_ticks = static_cast<double>(CheapClock::ticks());
    while (!run_.idle.empty() && schedule_.next_ticks <= now_ticks) {
      Slot* slot = run_.idle.back();
      run_.idle.pop_back();
      slot->intended_ticks = static_cast<std::uint64_t>(schedule_.next_ticks);
      schedule_.next_ticks += schedule_.interval_ticks;
      (void)driver_.resume(slot->index);
    }
  }

  // The end of the run: open-loop jobs waiting for a send time are resumed to see `stopping`.
  std::size_t release_idle() {
    std::vector<Slot*> idle;
    idle.swap(run_.idle);
    for (Slot* slot : idle) (void)driver_.resume(slot->index);
    return idle.size();
  }

  // The ledger: every accepted request notified exactly once.
  RunResult finish(bool hung) {
    run_.result.seconds = std::chrono::duration<double>(window_end_ - window_start_).count();
    if (!hung) run_.runtime->stop();
    for (const auto& slot : slots_) {
      run_.result.duplicated += slot->notifier.duplicates;
      run_.result.lost += slot->accepted - slot->notifier.notified;
      run_.result.notified += slot->notifier.notified;
    }
    if (hung) {
      // Late completions become stale; the jobs, resumed with `stopping` set, return.
      for (const auto& slot : slots_) slot->ctx->cancel_pending();
      while (driver_.running() != 0) {
        for (const auto& slot : slots_) (void)driver_.resume(slot->index);
      }
    }
    target_.runtime.reset();  // the poller threads have ended: their histogram can be read
    run_.runtime = nullptr;
    run_.result.notify_ns = std::move(run_.notify_ns.histogram);
    return std::move(run_.result);
  }

  const WorkloadOptions& options_;
  const Mechanism mechanism_;
  const std::atomic<bool>& stop_;
  Run run_;
  Target target_;
  JobDriver driver_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Slot*> ready_;
  std::uint64_t app_spin_ticks_ = 0;
  OpenLoopSchedule schedule_;
  Clock::time_point started_, measure_from_, measure_until_, window_start_, window_end_;
  Clock::time_point last_progress_, last_activity_;
  double app_cpu_start_ = 0;
  std::uint64_t poller_cpu_start_ = 0;
};

}  // namespace

RunResult run_workload(Mechanism mechanism, const WorkloadOptions& options,
                       const std::atomic<bool>& stop) {
  pin_this_thread_checked(options.app_cpu);
  CheapClock::calibrate();
  WorkloadRun run(mechanism, options, stop);
  return run.run();
}

}  // namespace pn::bench
