// The measured window of a device's own style (the peers): recording starts after the warm-up
// and ends at the duration, at the requested completions, or on a stop; the calling thread's CPU
// over it. Call update() once per loop turn.
#pragma once

#include <time.h>

#include <atomic>
#include <chrono>

#include "workload.hpp"

namespace pn::bench {

class MeasureWindow {
 public:
  using Clock = std::chrono::steady_clock;

  MeasureWindow(const WorkloadOptions& options, RunResult& result, const std::atomic<bool>& stop)
      : options_(options),
        result_(result),
        stop_(stop),
        started_(Clock::now()),
        measure_from_(started_ + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(options.warmup_s))),
        measure_until_(measure_from_ + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(options.duration_s))),
        window_start_(measure_from_),
        window_end_(measure_until_) {}

  // Starts or ends the window when it is time; returns whether the run is stopping.
  bool update() {
    const auto now = Clock::now();
    if (!recording_ && !stopping_ && now >= measure_from_) {
      recording_ = true;
      window_start_ = now;
      cpu_start_ = thread_cpu_seconds();
    }
    const bool enough = options_.requests != 0 && result_.completions >= options_.requests;
    // Relaxed: a stop flag set by a signal handler.
    const bool stopped = stop_.load(std::memory_order_relaxed);
    if (!stopping_ && (now >= measure_until_ || enough || stopped)) {
      stopping_ = true;
      result_.interrupted = stopped && now < measure_until_ && !enough;
      window_end_ = now;
      const double seconds = std::chrono::duration<double>(now - window_start_).count();
      result_.app_cpu_percent =
          recording_ ? 100.0 * (thread_cpu_seconds() - cpu_start_) / seconds : 0;
      recording_ = false;
    }
    return stopping_;
  }
  [[nodiscard]] bool recording() const noexcept { return recording_; }
  [[nodiscard]] bool stopping() const noexcept { return stopping_; }
  // At the end: the window's length into the result.
  void finish() {
    result_.seconds = std::chrono::duration<double>(window_end_ - window_start_).count();
  }

 private:
  static double thread_cpu_seconds() noexcept {
    timespec now{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
  }

  const WorkloadOptions& options_;
  RunResult& result_;
  const std::atomic<bool>& stop_;
  const Clock::time_point started_, measure_from_, measure_until_;
  Clock::time_point window_start_, window_end_;
  double cpu_start_ = 0;
  bool recording_ = false, stopping_ = false;
};

}  // namespace pn::bench
