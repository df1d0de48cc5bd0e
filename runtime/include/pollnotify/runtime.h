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
#include "pollnotify/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pn_runtime_st PN_RUNTIME;

/* Polling policies (see pollnotify/poller.hpp). */
#define PN_POLL_BUSY 0
#define PN_POLL_SPIN_YIELD 1
#define PN_POLL_ADAPTIVE 2
#define PN_POLL_TIMED 3
#define PN_POLL_EXTERNAL 4

/* Delivers or cancels (ERR) everything in flight, then frees. NULL is a no-op. Called from inside
 * one of the runtime's own callbacks it is refused: nothing is freed and PN_RUNTIME_last_error()
 * says so (freeing there would wait for the very poller thread it runs on). */
void PN_RUNTIME_free(PN_RUNTIME* runtime);
/* 1 started; 0 if already started, NULL, or a thread could not be created (then nothing was left
 * running; PN_RUNTIME_last_error() says why). */
int PN_RUNTIME_start(PN_RUNTIME* runtime);
/* Waits for every accepted request to be delivered, stops. 1 stopped; 0 if not started, NULL, or
 * called from inside one of the runtime's own callbacks (with PN_RUNTIME_last_error()). In a child
 * process after fork() it only marks the inherited runtime stopped. */
int PN_RUNTIME_stop(PN_RUNTIME* runtime);
/* Submits a request for ctx to the runtime's first device. Returns the status it set: PN_ASYNC_STATUS_OK (a completion will
 * follow), PN_ASYNC_STATUS_EAGAIN (retry) or PN_ASYNC_STATUS_ERR (failed; also for NULL). */
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
