// pollnotify cheap clock: nanoseconds from the TSC (x86-64) or the virtual counter (AArch64),
// calibrated once against std::chrono::steady_clock; steady_clock itself elsewhere.
//
// Threads: any. The first call calibrates (about 10 ms); call CheapClock::calibrate() early to
// keep that out of a measurement. Values are comparable across threads on machines whose TSC is
// invariant and synchronized (constant_tsc and nonstop_tsc in /proc/cpuinfo).
#pragma once

#include <cstdint>

namespace pn {

class CheapClock {
 public:
  [[nodiscard]] static std::uint64_t ticks() noexcept {
#if defined(__x86_64__)
    return __builtin_ia32_rdtsc();
#elif defined(__aarch64__)
    std::uint64_t value;
    asm volatile("mrs %0, cntvct_el0" : "=r"(value));
    return value;
#else
    return fallback_ticks();
#endif
  }
  // Nanoseconds since calibration.
  [[nodiscard]] static std::uint64_t now_ns() noexcept {
    const Calibration& c = calibration();
    const std::uint64_t t = ticks();
    return t > c.base_ticks
               ? static_cast<std::uint64_t>(static_cast<double>(t - c.base_ticks) * c.ns_per_tick)
               : 0;
  }
  [[nodiscard]] static double ns_per_tick() noexcept { return calibration().ns_per_tick; }
  // A description for reports, e.g. "tsc 2.096 GHz".
  [[nodiscard]] static const char* source() noexcept;
  static void calibrate() noexcept { (void)calibration(); }

 private:
  struct Calibration {
    std::uint64_t base_ticks;
    double ns_per_tick;
  };
  static const Calibration& calibration() noexcept;
  static std::uint64_t fallback_ticks() noexcept;
};

}  // namespace pn
