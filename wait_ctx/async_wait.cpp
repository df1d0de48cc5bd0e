// The C API: thin NULL-checking wrappers over pn::WaitCtx.
#include "pollnotify/async_wait.h"
#include "pollnotify/completion.h"

#include "pollnotify/internal/last_error.hpp"
#include "pollnotify/wait_ctx.hpp"

using pn::WaitCtx;

extern "C" {

PN_ASYNC_WAIT_CTX* PN_ASYNC_WAIT_CTX_new(void) {
  WaitCtx* ctx = WaitCtx::create();
  return ctx == nullptr ? nullptr : ctx->c_handle();
}

void PN_ASYNC_WAIT_CTX_free(PN_ASYNC_WAIT_CTX* ctx) { WaitCtx::destroy(WaitCtx::from_c(ctx)); }

int PN_ASYNC_WAIT_CTX_set_wait_fd(PN_ASYNC_WAIT_CTX* ctx, const void* key, PN_ASYNC_FD fd,
                                  void* custom_data, PN_ASYNC_fd_cleanup_fn cleanup) {
  if (ctx == nullptr) return 0;
  return WaitCtx::from_c(ctx)->set_wait_fd(key, fd, custom_data, cleanup) ? 1 : 0;
}

int PN_ASYNC_WAIT_CTX_get_fd(PN_ASYNC_WAIT_CTX* ctx, const void* key, PN_ASYNC_FD* fd,
                             void** custom_data) {
  if (ctx == nullptr || fd == nullptr || custom_data == nullptr) return 0;
  return WaitCtx::from_c(ctx)->get_fd(key, fd, custom_data) ? 1 : 0;
}

int PN_ASYNC_WAIT_CTX_get_all_fds(PN_ASYNC_WAIT_CTX* ctx, PN_ASYNC_FD* fd, size_t* numfds) {
  if (ctx == nullptr || numfds == nullptr) return 0;
  *numfds = WaitCtx::from_c(ctx)->get_all_fds(fd);
  return 1;
}

int PN_ASYNC_WAIT_CTX_get_changed_fds(PN_ASYNC_WAIT_CTX* ctx, PN_ASYNC_FD* addfd, size_t* numaddfds,
                                      PN_ASYNC_FD* delfd, size_t* numdelfds) {
  if (ctx == nullptr || numaddfds == nullptr || numdelfds == nullptr) return 0;
  const auto counts = WaitCtx::from_c(ctx)->get_changed_fds(addfd, delfd);
  *numaddfds = counts.added;
  *numdelfds = counts.deleted;
  return 1;
}

int PN_ASYNC_WAIT_CTX_clear_fd(PN_ASYNC_WAIT_CTX* ctx, const void* key) {
  if (ctx == nullptr) return 0;
  return WaitCtx::from_c(ctx)->clear_fd(key) ? 1 : 0;
}

int PN_ASYNC_WAIT_CTX_set_callback(PN_ASYNC_WAIT_CTX* ctx, PN_ASYNC_callback_fn callback,
                                   void* callback_arg) {
  if (ctx == nullptr) return 0;
  WaitCtx::from_c(ctx)->set_callback(callback, callback_arg);
  return 1;
}

int PN_ASYNC_WAIT_CTX_get_callback(PN_ASYNC_WAIT_CTX* ctx, PN_ASYNC_callback_fn* callback,
                                   void** callback_arg) {
  if (ctx == nullptr || callback == nullptr || callback_arg == nullptr) return 0;
  const auto pair = WaitCtx::from_c(ctx)->get_callback();
  if (!pair) return 0;
  *callback = pair->fn;
  *callback_arg = pair->arg;
  return 1;
}

int PN_ASYNC_WAIT_CTX_set_status(PN_ASYNC_WAIT_CTX* ctx, int status) {
  if (ctx == nullptr) return 0;
  return WaitCtx::from_c(ctx)->set_status(status) ? 1 : 0;
}

int PN_ASYNC_WAIT_CTX_get_status(PN_ASYNC_WAIT_CTX* ctx) {
  if (ctx == nullptr) return PN_ASYNC_STATUS_UNSUPPORTED;
  return WaitCtx::from_c(ctx)->status();
}

int PN_ASYNC_WAIT_CTX_mark_resumed(PN_ASYNC_WAIT_CTX* ctx) {
  if (ctx == nullptr) return 0;
  WaitCtx::from_c(ctx)->mark_resumed();
  return 1;
}

uint64_t PN_ASYNC_WAIT_CTX_arm(PN_ASYNC_WAIT_CTX* ctx) {
  if (ctx == nullptr) {
    pn::internal::fail_static(-EINVAL, "PN_ASYNC_WAIT_CTX_arm: NULL context");
    return 0;
  }
  return WaitCtx::from_c(ctx)->arm().generation;
}

void PN_ASYNC_WAIT_CTX_abandon(PN_ASYNC_WAIT_CTX* ctx, uint64_t ticket) {
  if (ctx != nullptr) WaitCtx::from_c(ctx)->abandon(pn::RequestTicket{ticket});
}

int PN_ASYNC_WAIT_CTX_deliver(const PN_COMPLETION* completion) {
  if (completion == nullptr || completion->ctx == nullptr)
    return pn::internal::fail_static(-EINVAL,
                                     "PN_ASYNC_WAIT_CTX_deliver: NULL completion or context");
  const pn::Completion entry = pn::from_c_completion(*completion);
  try {
    switch (entry.ctx->deliver(entry)) {
      case pn::Delivery::kCallback:
        return PN_DELIVERY_CALLBACK;
      case pn::Delivery::kFdSignaled:
        return PN_DELIVERY_FD_SIGNALED;
      case pn::Delivery::kStatusOnly:
        return PN_DELIVERY_STATUS_ONLY;
      case pn::Delivery::kStale:
        return PN_DELIVERY_STALE;
    }
  } catch (...) {  // a C++ callback threw: it ran, and the ticket was released
    return PN_DELIVERY_CALLBACK;
  }
  return PN_DELIVERY_CALLBACK;  // not reached: every Delivery is handled above
}

void PN_ASYNC_WAIT_CTX_cancel_pending(PN_ASYNC_WAIT_CTX* ctx) {
  if (ctx != nullptr) WaitCtx::from_c(ctx)->cancel_pending();
}

int PN_ASYNC_WAIT_CTX_set_completion_callback(PN_ASYNC_WAIT_CTX* ctx, PN_COMPLETION_callback_fn fn,
                                              void* arg) {
  if (ctx == nullptr)
    return pn::internal::fail_static(-EINVAL,
                                     "PN_ASYNC_WAIT_CTX_set_completion_callback: NULL context");
  WaitCtx::from_c(ctx)->set_completion_callback(fn, arg);
  return 0;
}

}  // extern "C"
