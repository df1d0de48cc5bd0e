#include "pollnotify/fd_bridge.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace pn {
namespace {
void close_eventfd(PN_ASYNC_WAIT_CTX*, const void*, AsyncFd fd, void*) { ::close(fd); }
}  // namespace

AsyncFd attach_notify_eventfd(WaitCtx& ctx, const void* key) {
  AsyncFd fd = kBadAsyncFd;
  void* custom = nullptr;
  if (ctx.get_fd(key, &fd, &custom)) {
    ctx.set_notify_fd(fd);
    return fd;
  }
  fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return kBadAsyncFd;
  if (!ctx.set_wait_fd(key, fd, nullptr, close_eventfd)) {
    ::close(fd);
    errno = ENOMEM;
    return kBadAsyncFd;
  }
  ctx.set_notify_fd(fd);
  return fd;
}

bool consume_notify_eventfd(AsyncFd fd) noexcept {
  std::uint64_t count = 0;
  return ::read(fd, &count, sizeof count) == static_cast<ssize_t>(sizeof count) && count != 0;
}

}  // namespace pn
