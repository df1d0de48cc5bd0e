// pollnotify internal: CPU helpers shared by the components. Do not include directly.
#pragma once

#include <cstddef>

namespace pn::internal {

// Producer and consumer state sit this far apart so that they never share a line (two lines on
// x86 because the adjacent-line prefetcher pulls pairs).
inline constexpr std::size_t kCacheLine = 64;
inline constexpr std::size_t kFalseSharingRange = 128;

// Tells the core we are in a spin loop: frees pipeline resources for the sibling thread and
// avoids the memory-order mis-speculation flush when the awaited line changes.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#else
  asm volatile("" ::: "memory");
#endif
}

}  // namespace pn::internal
