// pollnotify internal: stackful fibers for async jobs. Do not include directly.
//
// A fiber is a stack with guard page plus a saved machine context. fiber_switch(from, to) saves
// the callee-saved registers of the running code in `from` and resumes `to`; it is all a job
// pause or resume costs. The build picks the hand-written switch (x86-64, AArch64) or ucontext.
#pragma once

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define PN_ASAN_FIBERS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PN_ASAN_FIBERS 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define PN_TSAN_FIBERS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PN_TSAN_FIBERS 1
#endif
#endif

#if defined(PN_ASAN_FIBERS)
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(PN_TSAN_FIBERS)
#include <sanitizer/tsan_interface.h>
#endif
#if defined(PN_FIBER_UCONTEXT)
#include <ucontext.h>
#else
extern "C" void pn_fiber_switch(void** save_sp, void* to_sp);
#endif

namespace pn::internal {

struct FiberStack {
  void* mapping = nullptr;  // whole mapping, guard first
  std::size_t mapping_size = 0;
  void* bottom = nullptr;  // lowest usable byte (just above the guard)
  std::size_t usable_size = 0;
};

// Bytes of PROT_NONE below each stack. A frame that skips a guard lands in whatever is mapped
// below: one page is jumped by any frame over 4 KiB in code built without
// -fstack-clash-protection (GCC's default on Debian). 64 KiB catches frames up to 64 KiB in any
// code; pollnotify builds itself with stack-clash protection, which probes every page of a
// larger frame, and job code with larger frames must be built with it too (docs/runtime.md).
inline constexpr std::size_t kFiberGuardSize = 64 * 1024;

// Usable stack bytes per job (plus the guard). Sanitizers need far more stack.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr std::size_t kFiberStackSize = 512 * 1024;
#else
inline constexpr std::size_t kFiberStackSize = 128 * 1024;
#endif

// An mmap'ed stack whose lowest kFiberGuardSize bytes are PROT_NONE, so an overflow faults
// instead of corrupting memory. Returns an empty stack (mapping == nullptr) when out of memory.
FiberStack allocate_fiber_stack(std::size_t usable_size) noexcept;
void free_fiber_stack(FiberStack& stack) noexcept;

// What a switch needs besides the stack pointer (which its owner keeps where the inline paths of
// pollnotify/async_job.h find it): the ucontext backend's saved context, and sanitizer
// bookkeeping (the stack this context runs on, its fiber handles).
struct FiberContext {
#if defined(PN_FIBER_UCONTEXT)
  ucontext_t context;
#endif
  const void* stack_bottom = nullptr;
  std::size_t stack_size = 0;
  void* asan_fake_stack = nullptr;
  void* tsan_fiber = nullptr;
  bool owns_tsan_fiber = false;
};

// 1 when the library's switch frame is the one the inline paths in pollnotify/async_job.h
// push and pop: the x86-64 switch, no sanitizer annotations, no FP-control words in the frame.
#if defined(__x86_64__) && !defined(PN_FIBER_UCONTEXT) && !defined(PN_ASAN_FIBERS) && \
    !defined(PN_TSAN_FIBERS) && !defined(PN_FIBER_PRESERVE_FP_CONTROL)
inline constexpr int kInlineSwitchCompatible = 1;
#else
inline constexpr int kInlineSwitchCompatible = 0;
#endif

// Prepares `fiber` to run entry(arg) on `stack` at its first switch, *stack_pointer being where
// that switch resumes. entry must never return.
void fiber_init(FiberContext& fiber, void** stack_pointer, FiberStack& stack, void (*entry)(void*),
                void* arg) noexcept;
// Makes `context` describe the calling thread's own stack (a dispatcher).
void fiber_init_thread(FiberContext& context) noexcept;
// Called first thing in a fiber's entry function.
void fiber_entered(FiberContext& previous) noexcept;
// Saves the running context into `from` and *save_stack_pointer, resumes `to` at to_stack_pointer;
// returns when something switches back. Inline: every call level between a job API call and the
// register switch is one more return-address misprediction per switch.
inline void fiber_switch(void** save_stack_pointer, [[maybe_unused]] FiberContext& from,
                         void* to_stack_pointer, [[maybe_unused]] FiberContext& to) noexcept {
#if defined(PN_ASAN_FIBERS)
  __sanitizer_start_switch_fiber(&from.asan_fake_stack, to.stack_bottom, to.stack_size);
#endif
#if defined(PN_TSAN_FIBERS)
  __tsan_switch_to_fiber(to.tsan_fiber, 0);
#endif
#if defined(PN_FIBER_UCONTEXT)
  (void)save_stack_pointer;
  (void)to_stack_pointer;
  ::swapcontext(&from.context, &to.context);
#else
  pn_fiber_switch(save_stack_pointer, to_stack_pointer);
#endif
#if defined(PN_ASAN_FIBERS)
  const void* came_from_bottom = nullptr;
  std::size_t came_from_size = 0;
  __sanitizer_finish_switch_fiber(from.asan_fake_stack, &came_from_bottom, &came_from_size);
#endif
}
// Releases sanitizer state of a fiber that will never run again.
void fiber_destroy(FiberContext& fiber) noexcept;

}  // namespace pn::internal
