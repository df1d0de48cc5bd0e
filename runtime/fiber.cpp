#include "internal/fiber.hpp"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#if !defined(PN_FIBER_UCONTEXT)
extern "C" void pn_fiber_trampoline();
#endif

namespace pn::internal {

FiberStack allocate_fiber_stack(std::size_t usable_size) noexcept {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t usable = (usable_size + page - 1) / page * page;
  const std::size_t guard = (kFiberGuardSize + page - 1) / page * page;
  const std::size_t total = usable + guard;
  void* mapping = ::mmap(nullptr, total, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (mapping == MAP_FAILED) return {};
  if (::mprotect(mapping, guard, PROT_NONE) != 0) {
    ::munmap(mapping, total);
    return {};
  }
  return FiberStack{mapping, total, static_cast<char*>(mapping) + guard, usable};
}

void free_fiber_stack(FiberStack& stack) noexcept {
  if (stack.mapping != nullptr) ::munmap(stack.mapping, stack.mapping_size);
  stack = {};
}

void fiber_init_thread(FiberContext& context) noexcept {
  pthread_attr_t attributes;
  if (::pthread_getattr_np(::pthread_self(), &attributes) == 0) {
    void* bottom = nullptr;
    std::size_t size = 0;
    if (::pthread_attr_getstack(&attributes, &bottom, &size) == 0) {
      context.stack_bottom = bottom;
      context.stack_size = size;
    }
    ::pthread_attr_destroy(&attributes);
  }
#if defined(PN_TSAN_FIBERS)
  context.tsan_fiber = __tsan_get_current_fiber();
  context.owns_tsan_fiber = false;
#endif
}

#if defined(PN_FIBER_UCONTEXT)
namespace {
// makecontext passes int arguments only: split the pointers in two halves each.
void ucontext_entry(unsigned entry_hi, unsigned entry_lo, unsigned arg_hi, unsigned arg_lo) {
  const auto join = [](unsigned hi, unsigned lo) {
    return (static_cast<std::uintptr_t>(hi) << 32) | static_cast<std::uintptr_t>(lo);
  };
  auto* entry = reinterpret_cast<void (*)(void*)>(join(entry_hi, entry_lo));
  entry(reinterpret_cast<void*>(join(arg_hi, arg_lo)));
}
}  // namespace
#endif

void fiber_init(FiberContext& fiber, [[maybe_unused]] void** stack_pointer, FiberStack& stack,
                void (*entry)(void*), void* arg) noexcept {
  fiber.stack_bottom = stack.bottom;
  fiber.stack_size = stack.usable_size;
#if defined(PN_FIBER_UCONTEXT)
  ::getcontext(&fiber.context);
  fiber.context.uc_stack.ss_sp = stack.bottom;
  fiber.context.uc_stack.ss_size = stack.usable_size;
  fiber.context.uc_link = nullptr;
  const auto entry_bits = reinterpret_cast<std::uintptr_t>(entry);
  const auto arg_bits = reinterpret_cast<std::uintptr_t>(arg);
  ::makecontext(&fiber.context, reinterpret_cast<void (*)()>(ucontext_entry), 4,
                static_cast<unsigned>(entry_bits >> 32), static_cast<unsigned>(entry_bits),
                static_cast<unsigned>(arg_bits >> 32), static_cast<unsigned>(arg_bits));
#else
  auto top = reinterpret_cast<std::uintptr_t>(stack.bottom) + stack.usable_size;
  top &= ~static_cast<std::uintptr_t>(15);
#if defined(__x86_64__)
  // The frame pn_fiber_switch pops: [MXCSR | x87 CW] r15 r14 r13 r12 rbx rbp ret. After ret the
  // stack pointer is `top`, 16-byte aligned as the call in the trampoline requires.
  auto* frame = reinterpret_cast<std::uint64_t*>(top - 64);
  std::memset(frame, 0, 64);
  const std::uint32_t mxcsr = 0x1F80;  // all exceptions masked, round to nearest
  const std::uint16_t x87_control = 0x037F;
  std::memcpy(frame, &mxcsr, sizeof mxcsr);
  std::memcpy(reinterpret_cast<char*>(frame) + 4, &x87_control, sizeof x87_control);
  frame[3] = reinterpret_cast<std::uint64_t>(entry);  // r13
  frame[4] = reinterpret_cast<std::uint64_t>(arg);    // r12
  frame[7] = reinterpret_cast<std::uint64_t>(&pn_fiber_trampoline);
  *stack_pointer = frame;
#elif defined(__aarch64__)
  // The frame pn_fiber_switch pops: x19..x30 then d8..d15; x30 (lr) is the trampoline.
  auto* frame = reinterpret_cast<std::uint64_t*>(top - 160);
  std::memset(frame, 0, 160);
  frame[0] = reinterpret_cast<std::uint64_t>(arg);                    // x19
  frame[1] = reinterpret_cast<std::uint64_t>(entry);                  // x20
  frame[11] = reinterpret_cast<std::uint64_t>(&pn_fiber_trampoline);  // x30
  *stack_pointer = frame;
#else
#error \
    "no hand-written fiber switch for this architecture: configure with PN_FIBER_BACKEND=ucontext"
#endif
#endif
#if defined(PN_TSAN_FIBERS)
  fiber.tsan_fiber = __tsan_create_fiber(0);
  fiber.owns_tsan_fiber = true;
#endif
}

void fiber_entered([[maybe_unused]] FiberContext& previous) noexcept {
#if defined(PN_ASAN_FIBERS)
  __sanitizer_finish_switch_fiber(nullptr, &previous.stack_bottom, &previous.stack_size);
#endif
}

void fiber_destroy([[maybe_unused]] FiberContext& fiber) noexcept {
#if defined(PN_TSAN_FIBERS)
  if (fiber.owns_tsan_fiber && fiber.tsan_fiber != nullptr) __tsan_destroy_fiber(fiber.tsan_fiber);
  fiber.tsan_fiber = nullptr;
#endif
}

}  // namespace pn::internal
