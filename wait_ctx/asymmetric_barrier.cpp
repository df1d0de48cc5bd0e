#include "pollnotify/internal/asymmetric_barrier.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace pn::internal {

constinit std::atomic<bool> membarrier_registered{false};

namespace {

long membarrier(int command) noexcept { return ::syscall(__NR_membarrier, command, 0U, 0); }

bool register_membarrier() noexcept {
  const long supported = membarrier(MEMBARRIER_CMD_QUERY);
  if (supported < 0 || (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return false;
  return membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

// At load time: see the header. Registering costs a grace period of the kernel's once threads
// exist, so it is done before them.
const bool registered_at_load = [] {
  const bool registered = register_membarrier();
  membarrier_registered.store(registered, std::memory_order_relaxed);
  return registered;
}();

}  // namespace

void heavy_barrier() noexcept {
  if (!membarrier_registered.load(std::memory_order_relaxed)) {
    full_barrier();
    return;
  }
  // Light sides rely on this call alone: it is retried until it succeeds. ENOMEM (the kernel's
  // CPU mask) passes; EPERM would mean the registration was lost (a kernel that does not carry it
  // across fork), and registering again restores it.
  while (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) {
    if (errno == EPERM) (void)membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED);
    std::this_thread::yield();
  }
}

}  // namespace pn::internal
