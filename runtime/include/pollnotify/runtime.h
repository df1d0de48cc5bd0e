/*
 * pollnotify runtime, C API: pollers plus the devices an engine adds, for drivers written in C.
 * A runtime with the simulated device is built by PN_RUNTIME_new (<pollnotify/sim.h>).
 * Conventions (<pollnotify/error.h>): 1 success, 0 failure with PN_get_last_error(); NULL-safe
 * free.
 *
 * Threads: PN_RUNTIME_submit and PN_RUNTIME_in_flight from any thread; PN_RUNTIME_poll from one
 * thread at a time (external policy only); the rest from the owner.
 */
#ifndef POLLNOTIFY_RUNTIME_H
#define POLLNOTIFY_RUNTIME_H

#include <stddef.h>

#include "pollnotify/async_wait.h"
#include "pollnotify/device.h"
#include "pollnotify/error.h"
#include "pollnotify/poller.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pn_runtime_st PN_RUNTIME;

/* A runtime with `pollers` pollers (1 .. 256) built from `options` (NULL: defaults; the cpu field
 * is ignored, each poller is named pn-poller-N) and no device yet. NULL on bad options. */
PN_RUNTIME* PN_RUNTIME_new_with_pollers(unsigned pollers, const PN_POLLER_OPTIONS* options);
/* Poller `index` (0 .. PN_RUNTIME_poller_count() - 1), for a C device to acquire its rings on and
 * to add poll sources to; NULL past the count. Owned by the runtime. */
PN_POLLER* PN_RUNTIME_get_poller(PN_RUNTIME* runtime, size_t index);
size_t PN_RUNTIME_poller_count(const PN_RUNTIME* runtime);
/* Before PN_RUNTIME_start: adds a device written in C (see <pollnotify/device.h>); its poll
 * function is registered with every poller; method->destroy(device) runs when the runtime is
 * freed. 1 ok; 0 for a bad table, after start, or past 64 devices (the device is then left to
 * the caller: destroy is not called). */
int PN_RUNTIME_add_device(PN_RUNTIME* runtime, const PN_DEVICE_METHOD* method, void* device);
size_t PN_RUNTIME_device_count(const PN_RUNTIME* runtime);
/* Like PN_RUNTIME_submit, to device `device` (in the order they were added); ERR past the count. */
int PN_RUNTIME_submit_to(PN_RUNTIME* runtime, size_t device, PN_ASYNC_WAIT_CTX* ctx,
                         unsigned long long user_data);
/* Delivers or cancels (ERR) everything in flight, then frees. NULL is a no-op. Called from inside
 * one of the runtime's own callbacks it is refused: nothing is freed and PN_RUNTIME_last_error()
 * says so (freeing there would wait for the very poller thread it runs on). */
void PN_RUNTIME_free(PN_RUNTIME* runtime);
/* 1 started; 0 if already started, NULL, or a thread could not be created (then nothing was left
 * running; PN_RUNTIME_last_error() says why). */
int PN_RUNTIME_start(PN_RUNTIME* runtime);
/* Waits for every accepted request to be delivered (at most 10 s), stops. 1 stopped and drained;
 * 0 if not started, NULL, or called from inside one of the runtime's own callbacks, and 0 after
 * stopping when requests were still in flight at the timeout (a device that never completes
 * them): they stay in their devices and PN_RUNTIME_free cancels them with ERR; the reason is in
 * PN_RUNTIME_last_error(). In a child process after fork() it only marks the inherited runtime
 * stopped. */
int PN_RUNTIME_stop(PN_RUNTIME* runtime);
/* Submits a request for ctx to the runtime's first device. Returns the status it set:
 * PN_ASYNC_STATUS_OK (a completion will follow), PN_ASYNC_STATUS_EAGAIN (retry) or
 * PN_ASYNC_STATUS_ERR (failed; also for NULL). */
int PN_RUNTIME_submit(PN_RUNTIME* runtime, PN_ASYNC_WAIT_CTX* ctx, unsigned long long user_data);
/* External policy: delivers up to max completions (0: a burst per ring); returns how many.
 * Returns 0 (and sets the last error) when misused: NULL, or a poller thread runs. */
size_t PN_RUNTIME_poll(PN_RUNTIME* runtime, size_t max);
/* Accepted requests not yet delivered (0 for NULL). */
unsigned long long PN_RUNTIME_in_flight(const PN_RUNTIME* runtime);
/* The same as PN_get_last_error() (kept for existing callers). */
const char* PN_RUNTIME_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* POLLNOTIFY_RUNTIME_H */
