/*
 * pollnotify runtime, C API: pollers plus the devices an engine adds, for drivers written in C.
 * A runtime with the simulated device is built by PN_SIM_RUNTIME_new (<pollnotify/sim_runtime.h>).
 * Errors (<pollnotify/error.h>): 0 or a count on success, a negative errno value on failure; NULL
 * for a pointer; NULL-safe free.
 *
 * Threads: PN_RUNTIME_submit, PN_RUNTIME_submit_to and PN_RUNTIME_in_flight from any thread;
 * PN_RUNTIME_poll from one thread at a time (external policy only); the rest from the owner.
 */
#ifndef POLLNOTIFY_RUNTIME_H
#define POLLNOTIFY_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "pollnotify/async_wait.h"
#include "pollnotify/device.h"
#include "pollnotify/error.h"
#include "pollnotify/poller.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pn_runtime_st PN_RUNTIME;

/* A runtime with `pollers` pollers (1 .. 256) built from `options` (NULL: defaults; the cpu field
 * is ignored, each poller is named pn-poller-N) and no device yet. NULL: -EINVAL for bad options
 * (the reason recorded), -ENOMEM. */
PN_RUNTIME* PN_RUNTIME_new(unsigned pollers, const PN_POLLER_OPTIONS* options);
/* Poller `index` (0 .. PN_RUNTIME_poller_count() - 1), for a C device to acquire its rings on and
 * to add poll sources to; owned by the runtime. NULL (-EINVAL) for NULL or past the count. */
PN_POLLER* PN_RUNTIME_get_poller(PN_RUNTIME* runtime, size_t index);
/* 0 for NULL. */
size_t PN_RUNTIME_poller_count(const PN_RUNTIME* runtime);
/* Before PN_RUNTIME_start: adds a device written in C (see <pollnotify/device.h>); its poll
 * function is registered with every poller; method->destroy(device) runs when the runtime is
 * freed. 0; -EINVAL for NULL or a bad table, -EBUSY after start, -ENOSPC past 64 devices (on any
 * failure the device is left to the caller: destroy is not called). */
int PN_RUNTIME_add_device(PN_RUNTIME* runtime, const PN_DEVICE_METHOD* method, void* device);
/* 0 for NULL. */
size_t PN_RUNTIME_device_count(const PN_RUNTIME* runtime);
/* Delivers or cancels (ERR) everything in flight, then frees. NULL is a no-op. Called from inside
 * one of the runtime's own callbacks it is refused: nothing is freed and -EBUSY is recorded
 * (freeing there would wait for the very poller thread it runs on). */
void PN_RUNTIME_free(PN_RUNTIME* runtime);
/* 0 started. -EINVAL for NULL; -EBUSY if started already; a device's or the OS's value if a
 * device or a thread could not be started (nothing is then left running). */
int PN_RUNTIME_start(PN_RUNTIME* runtime);
/* Waits for every accepted request to be delivered (at most 10 s), then stops. 0 stopped and
 * drained. -EINVAL for NULL; -EBUSY if not started or called from inside one of the runtime's
 * own callbacks (nothing done); -ETIMEDOUT when it stopped with requests still in flight at the
 * timeout (a device that never completes them): they stay in their devices and PN_RUNTIME_free
 * cancels them with ERR. In a child process after fork() it only marks the inherited runtime
 * stopped. */
int PN_RUNTIME_stop(PN_RUNTIME* runtime);
/* Submits a request for ctx to the runtime's first device and sets ctx's status to match:
 * 0 accepted (status PN_ASYNC_STATUS_OK; exactly one completion follows); -EAGAIN refused for
 * now, retry (PN_ASYNC_STATUS_EAGAIN); -EIO the device failed it (PN_ASYNC_STATUS_ERR); -EINVAL
 * for a NULL runtime or ctx, or a runtime with no device (PN_ASYNC_STATUS_ERR when ctx is not
 * NULL). Nothing follows a failure. */
int PN_RUNTIME_submit(PN_RUNTIME* runtime, PN_ASYNC_WAIT_CTX* ctx, uint64_t user_data);
/* Like PN_RUNTIME_submit, to device `device` (in the order they were added); -EINVAL past the
 * count. */
int PN_RUNTIME_submit_to(PN_RUNTIME* runtime, size_t device, PN_ASYNC_WAIT_CTX* ctx,
                         uint64_t user_data);
/* External policy: delivers up to max completions (0: a burst per ring; at most INT_MAX) and
 * returns how many, 0 when idle. -EINVAL for NULL; -EBUSY while a poller thread runs or from
 * inside one of the runtime's own callbacks. */
int PN_RUNTIME_poll(PN_RUNTIME* runtime, size_t max);
/* Accepted requests not yet delivered (0 for NULL). */
uint64_t PN_RUNTIME_in_flight(const PN_RUNTIME* runtime);

#ifdef __cplusplus
}
#endif

#endif /* POLLNOTIFY_RUNTIME_H */
