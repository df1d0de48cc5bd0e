#include "pollnotify/clock.hpp"

#include <chrono>
#include <cstdio>
#include <thread>

namespace pn {

std::uint64_t CheapClock::fallback_ticks() noexcept {
  return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

const CheapClock::Calibration& CheapClock::calibration() noexcept {
  // Function-local static: calibrated once, thread-safe.
  static const Calibration calibration = [] {
    using Steady = std::chrono::steady_clock;
#if defined(__x86_64__) || defined(__aarch64__)
    const auto wall_start = Steady::now();
    const std::uint64_t tick_start = ticks();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const std::uint64_t tick_end = ticks();
    const auto wall_end = Steady::now();
    const double ns = static_cast<double>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(wall_end - wall_start).count());
    const double per_tick =
        tick_end > tick_start ? ns / static_cast<double>(tick_end - tick_start) : 1.0;
    return Calibration{tick_start, per_tick};
#else
    const double per_tick = static_cast<double>(Steady::period::num) * 1e9 / Steady::period::den;
    return Calibration{ticks(), per_tick};
#endif
  }();
  return calibration;
}

const char* CheapClock::source() noexcept {
  static char description[64];
  static const bool described = [] {
#if defined(__x86_64__)
    const char* name = "tsc";
#elif defined(__aarch64__)
    const char* name = "cntvct";
#else
    const char* name = "steady_clock";
#endif
    std::snprintf(description, sizeof description, "%s %.3f GHz", name,
                  1.0 / calibration().ns_per_tick);
    return true;
  }();
  (void)described;
  return description;
}

}  // namespace pn
