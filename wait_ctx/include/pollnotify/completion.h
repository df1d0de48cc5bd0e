/*
 * pollnotify completions, C API: what a device hands back for each finished request, and the
 * engine side of the request lifetime protocol on a wait context (see pollnotify/wait_ctx.hpp).
 *
 * Per request: the device calls PN_ASYNC_WAIT_CTX_arm(ctx) when it accepts it (the ticket names
 * the context's generation; contexts live in type-stable memory, so a completion may arrive after
 * the context was freed), or PN_ASYNC_WAIT_CTX_abandon(ctx, ticket) if it refuses it after
 * all. When the request finishes, exactly one PN_COMPLETION {ctx, user_data, ticket, status,
 * result} reaches PN_ASYNC_WAIT_CTX_deliver, normally through a poller's ring
 * (<pollnotify/poller.h>), which sets the status and invokes the context's callback once, or
 * drops the completion (stale) when the context was freed or cancel_pending was called after the
 * arm.
 *
 * Threads: arm/abandon on the submitting thread, deliver on the consuming thread (a poller),
 * cancel_pending and the callback setters on the owner. Errors: <pollnotify/error.h> (0 or a
 * negative errno; arm returns 0 only on failure).
 */
#ifndef POLLNOTIFY_COMPLETION_H
#define POLLNOTIFY_COMPLETION_H

#include <stdint.h>

#include "pollnotify/async_wait.h"
#include "pollnotify/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  PN_ASYNC_WAIT_CTX* ctx; /* armed by the device when it accepted the request */
  uint64_t user_data;     /* the submitter's value, passed through untouched */
  uint64_t ticket;        /* from PN_ASYNC_WAIT_CTX_arm */
  int32_t status;         /* PN_ASYNC_STATUS_OK, or PN_ASYNC_STATUS_ERR for a failed request */
  int32_t result;         /* the device's own result code, 0 when it has none */
} PN_COMPLETION;

/* A callback that receives the whole completion, set beside OpenSSL's one-argument callback.
 * Runs on the poller thread; must not block. Returns 1, or 0 to report a failure (counted). */
typedef int (*PN_COMPLETION_callback_fn)(void* arg, const PN_COMPLETION* completion);

/* What PN_ASYNC_WAIT_CTX_deliver did (each a success). */
#define PN_DELIVERY_CALLBACK 0    /* status set, a callback invoked once */
#define PN_DELIVERY_FD_SIGNALED 1 /* no callback: status set, the notify eventfd made readable */
#define PN_DELIVERY_STATUS_ONLY 2 /* no callback, no notify fd: status set */
#define PN_DELIVERY_STALE 3       /* context freed or request cancelled: nothing touched */

/* Device, per accepted request: the ticket its completion carries (never 0). 0 and -EINVAL for
 * a NULL ctx. */
uint64_t PN_ASYNC_WAIT_CTX_arm(PN_ASYNC_WAIT_CTX* ctx);
/* Device, for a ticket whose request was never submitted after all: nothing will be delivered.
 * NULL: nothing done. */
void PN_ASYNC_WAIT_CTX_abandon(PN_ASYNC_WAIT_CTX* ctx, uint64_t ticket);
/* Poller, exactly once per ticket: a PN_DELIVERY_* value; -EINVAL for a NULL completion or
 * context (nothing done). A status outside PN_ASYNC_STATUS_UNSUPPORTED..PN_ASYNC_STATUS_EAGAIN is
 * delivered as PN_ASYNC_STATUS_ERR. */
int PN_ASYNC_WAIT_CTX_deliver(const PN_COMPLETION* completion);
/* Owner: completions armed before this call become stale. With a request in flight it waits for
 * the deliveries in progress (a grace period, as PN_ASYNC_WAIT_CTX_free does), so it must not be
 * called while holding a lock a callback takes; with nothing in flight, or from inside a
 * callback, it never waits. NULL: nothing done. */
void PN_ASYNC_WAIT_CTX_cancel_pending(PN_ASYNC_WAIT_CTX* ctx);
/* Owner (any thread): the completion callback; it takes precedence over the callback set with
 * PN_ASYNC_WAIT_CTX_set_callback, which OpenSSL-style code keeps reading unchanged. NULL fn
 * clears it. 0, or -EINVAL for a NULL ctx. */
int PN_ASYNC_WAIT_CTX_set_completion_callback(PN_ASYNC_WAIT_CTX* ctx, PN_COMPLETION_callback_fn fn,
                                              void* arg);

#ifdef __cplusplus
}
#endif

#endif /* POLLNOTIFY_COMPLETION_H */
