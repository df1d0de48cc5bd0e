// pollnotify fd bridge: OpenSSL's fd notification style on the same poller. A context whose owner
// waits on a file descriptor (select/poll/epoll) instead of setting a callback gets an eventfd;
// the poller makes it readable when a completion for the context arrives and no callback is set.
//
// Threads: the context's owner calls both functions. Memory ordering: the poller sets the status
// before it writes the eventfd, so an owner that saw the fd readable and then calls
// consume_notify_eventfd reads the completion's status.
#pragma once

#include "pollnotify/wait_ctx.hpp"

namespace pn {

// Gives ctx an eventfd under `key`, once: created non-blocking, registered with set_wait_fd (its
// cleanup routine closes it when the context is destroyed) and made the notify fd. A second call
// returns the same fd. Returns kBadAsyncFd (errno set) if the eventfd cannot be created.
AsyncFd attach_notify_eventfd(WaitCtx& ctx, const void* key);

// Resets the eventfd after it polled readable. True if it had been signalled.
bool consume_notify_eventfd(AsyncFd fd) noexcept;

}  // namespace pn
