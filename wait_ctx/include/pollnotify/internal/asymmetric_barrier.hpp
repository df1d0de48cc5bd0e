// pollnotify internal: asymmetric Dekker barriers (folly's asymmetric light and heavy barriers,
// liburcu's membarrier flavour). Do not include directly.
//
// Two threads that each store and then load what the other stored need a full barrier on both
// sides. When one side runs all the time (a delivery entering its section, a producer publishing
// to a channel) and the other rarely (a grace-period wait, a consumer about to park), the frequent
// side's barrier can be a compiler barrier: the rare side calls membarrier(PRIVATE_EXPEDITED),
// which makes every running thread of the process pass a full barrier before it returns (a
// thread not running passed one when it was switched out).
//
// Registration: once per process, by a static initializer of this library (before main, or
// within the dlopen of a module linking it), so every thread that runs either side starts after
// it. Where membarrier is unavailable (an old kernel, a seccomp filter) both sides use a full
// fence. A light side that read "unregistered" fenced fully, which is correct against either heavy
// side.
#pragma once

#include <atomic>

namespace pn::internal {

// True once this process registered for expedited membarrier. Relaxed: it turns true before any
// thread that reads it starts (see above), and never turns false.
extern std::atomic<bool> membarrier_registered;

// A full barrier. TSan does not model standalone fences (GCC refuses them there); its variant is
// an exchange on a private word, a full barrier on x86-64 and AArch64 as the fence is.
inline void full_barrier() noexcept {
#if defined(__SANITIZE_THREAD__)
  std::atomic<int> word{0};
  (void)word.exchange(1, std::memory_order_seq_cst);
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

// The frequent side, between its store and its load.
inline void light_barrier() noexcept {
  if (membarrier_registered.load(std::memory_order_relaxed)) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
  } else {
    full_barrier();
  }
}

// The rare side, between its store and its load: a system call (microseconds while other threads
// of the process run) where registered.
void heavy_barrier() noexcept;

}  // namespace pn::internal
