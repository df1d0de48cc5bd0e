/*
 * pollnotify poller, C API for engine drivers written in C: pollers that drain completion rings
 * in bursts and deliver each completion to its wait context (see pollnotify/poller.hpp for the
 * policies and the parking protocol), the rings a device pushes completions into, and poll
 * sources (a driver's poll function the poller runs before draining its rings).
 *
 * Threads: PN_RING_push* by the ring's producer (one thread at a time; any thread on the shared
 * overflow ring from PN_POLLER_thread_ring); PN_POLLER_poll by one thread at a time (external
 * policy); the rest from the owner. Errors (<pollnotify/error.h>): 0 or a count on success, a
 * negative errno value on failure; NULL for a pointer; NULL-safe free. Options and stats structs
 * start with their own size, so they can grow without breaking programs built against an older
 * header.
 *
 * Memory ordering: everything a producer wrote before pushing a completion is visible to the
 * callback that completion invokes.
 */
#ifndef POLLNOTIFY_POLLER_H
#define POLLNOTIFY_POLLER_H

#include <stddef.h>
#include <stdint.h>

#include "pollnotify/completion.h"
#include "pollnotify/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pn_poller_st PN_POLLER;
typedef struct pn_ring_st PN_RING;
typedef struct pn_poll_source_st PN_POLL_SOURCE;

/* Polling policies: what the poller thread does after a poll that found nothing. */
#define PN_POLL_BUSY 0       /* spins: lowest latency, one core at 100 % */
#define PN_POLL_SPIN_YIELD 1 /* spins, then sched_yield between polls */
#define PN_POLL_ADAPTIVE 2   /* spins, then parks until a producer wakes it (default) */
#define PN_POLL_TIMED 3      /* sleeps interval_ns between empty polls, backing off when idle */
#define PN_POLL_EXTERNAL 4   /* no thread: the application calls PN_POLLER_poll */

typedef struct {
  size_t struct_size;            /* sizeof(PN_POLLER_OPTIONS), set by PN_POLLER_OPTIONS_init */
  int policy;                    /* PN_POLL_*, default PN_POLL_ADAPTIVE */
  size_t max_burst;              /* completions drained per ring per poll, default 32 */
  size_t ring_capacity;          /* default ring capacity, 1 .. 2^32, default 4096 */
  unsigned spin_polls;           /* empty polls before yielding or parking, default 4096 */
  uint64_t interval_ns;          /* PN_POLL_TIMED: sleep between empty polls, default 10000 */
  uint64_t max_idle_interval_ns; /* PN_POLL_TIMED: longest idle sleep, default 2000000 */
  unsigned idle_backoff_polls;   /* PN_POLL_TIMED: empty polls before backing off, default 100 */
  uint64_t watchdog_ns;          /* PN_POLL_ADAPTIVE: longest park, default 10000000 */
  int cpu;                       /* pin the poller thread; -1 (default): no affinity */
  const char* name;              /* thread name, default "pn-poller" */
  uint64_t max_source_park_ns;   /* PN_POLL_ADAPTIVE: longest park while a poll source has work
                                    in flight that cannot wake the poller, default 4000000 */
} PN_POLLER_OPTIONS;

/* The poller's counters, defined once: X(name, description). */
#define PN_POLLER_COUNTERS(X)                                                  \
  X(delivered, "completions taken from the rings")                             \
  X(callbacks, "callbacks invoked")                                            \
  X(callback_failures, "callbacks that returned 0")                            \
  X(callback_exceptions, "C++ callbacks that threw (caught)")                  \
  X(fd_signals, "notify eventfds made readable")                               \
  X(status_only, "completions for contexts with no callback and no notify fd") \
  X(stale, "completions for freed contexts or cancelled requests")             \
  X(invalid, "entries with no context or a bad status")                        \
  X(polls, "polls of all rings")                                               \
  X(empty_polls, "polls that found nothing")                                   \
  X(parks, "futex sleeps (adaptive)")                                          \
  X(wakes, "futex wakes issued by producers")                                  \
  X(watchdog_wakes, "parks that ended by timeout")                             \
  X(ring_full, "pushes refused because a ring was full")                       \
  X(cpu_time_ns, "the poller thread's CPU time, all runs")                     \
  X(in_flight, "completions pushed and not yet delivered")

#define PN_POLLER_STATS_FIELD(name, description) uint64_t name;
typedef struct {
  size_t struct_size; /* set by the caller: sizeof(PN_POLLER_STATS) */
  PN_POLLER_COUNTERS(PN_POLLER_STATS_FIELD)
} PN_POLLER_STATS;
#undef PN_POLLER_STATS_FIELD

/* Fills in the defaults (and struct_size). */
void PN_POLLER_OPTIONS_init(PN_POLLER_OPTIONS* options);
/* NULL on bad options (-EINVAL; PN_get_last_error() says which) or out of memory (-ENOMEM).
 * NULL options: defaults. A struct_size smaller than this header's takes defaults for the fields
 * past it. */
PN_POLLER* PN_POLLER_new(const PN_POLLER_OPTIONS* options);
/* Stops the thread if it runs (its last poll runs the poll sources and drains the rings), then
 * delivers what the rings still hold without calling any poll function, frees the sources added
 * with PN_POLLER_add_source, and frees the poller. NULL is a no-op. From inside one of the
 * poller's own callbacks it is refused (nothing freed, -EBUSY recorded).
 * A driver with a poll source tears down in this order: PN_POLLER_stop (no poll function runs
 * after it returns), then the driver's own state, then PN_POLLER_free; or PN_POLLER_free first.
 * Completions still in its rings are delivered, so their wait contexts must still exist or have
 * been freed with PN_ASYNC_WAIT_CTX_free (a late completion for a freed context is dropped). */
void PN_POLLER_free(PN_POLLER* poller);
/* 0 started. -EINVAL for NULL or the external policy (no thread); -EBUSY if running; the OS's
 * value if the thread could not be created or pinned (the poller is left stopped). */
int PN_POLLER_start(PN_POLLER* poller);
/* Delivers what the rings hold, joins the thread. 0 stopped. -EINVAL for NULL; -EBUSY if not
 * running, or called from inside one of its own callbacks. */
int PN_POLLER_stop(PN_POLLER* poller);
/* External polling: delivers up to max completions (0: one burst per ring; at most INT_MAX) and
 * returns how many, 0 when idle. -EINVAL for NULL; -EBUSY while a thread runs or from inside one
 * of its own callbacks. */
int PN_POLLER_poll(PN_POLLER* poller, size_t max);
/* Any thread, any time. stats->struct_size must be set; fields past it are not written. 0, or
 * -EINVAL for NULL or a struct_size this library does not know. */
int PN_POLLER_get_stats(const PN_POLLER* poller, PN_POLLER_STATS* stats);

/* A single-producer ring (released earlier, or new). Any thread. NULL: -EINVAL for NULL,
 * -ENOSPC past 256 rings. */
PN_RING* PN_POLLER_acquire_ring(PN_POLLER* poller);
/* Gives a ring back to the poller. 0; -EINVAL for NULL, a ring of another poller or the shared
 * ring; -EBUSY for a ring released already or one PN_POLLER_thread_ring returned (its thread's
 * exit releases it). */
int PN_POLLER_release_ring(PN_POLLER* poller, PN_RING* ring);
/* The calling thread's ring on this poller (released when the thread exits, never by hand). From
 * a thread-local destructor that runs after the thread's ring cache is gone, and past 256 rings:
 * the poller's shared ring, on which any thread may push. NULL (-EINVAL) for NULL. */
PN_RING* PN_POLLER_thread_ring(PN_POLLER* poller);
/* Producer: 0 pushed; -EAGAIN when the ring is full (back off, or report EAGAIN; counted as
 * ring_full); -EINVAL for NULL. */
int PN_RING_push(PN_RING* ring, const PN_COMPLETION* completion);
/* Producer: pushes as many as fit (at most INT_MAX), publishing once per 32, and returns how many,
 * 0 when the ring is full; -EINVAL for a NULL ring, or NULL completions with a count. */
int PN_RING_push_burst(PN_RING* ring, const PN_COMPLETION* completions, size_t count);

/* A poll function the poller runs on its thread before each drain of its rings: it returns how
 * many completions it pushed (0: idle). pending_ns (may be NULL) is asked while the poller parks:
 * 0 if nothing is pending; below 50000 when the source has work to do now (the poller does not
 * park); else nanoseconds until the next event, or 50000 for work in flight that finishes at an
 * unknown time and cannot wake the poller (an adaptive poller parks that long, then doubles the
 * park while nothing arrives, up to max_source_park_ns). Any value is accepted. Work published
 * to the source must be followed by PN_POLLER_notify. While the poller is not running; at most
 * 16 sources per poller. NULL: -EINVAL (NULL poller or poll), -EBUSY (running), -ENOSPC. */
PN_POLL_SOURCE* PN_POLLER_add_source(PN_POLLER* poller, size_t (*poll)(void* arg),
                                     uint64_t (*pending_ns)(void* arg), void* arg);
/* While the poller is not running: removes and frees the source. 0; -EINVAL for NULL; -EBUSY
 * while running; -ENOENT if it was not added here (not freed). PN_POLLER_free frees the sources
 * still added. */
int PN_POLLER_remove_source(PN_POLLER* poller, PN_POLL_SOURCE* source);
/* Any thread, after publishing work to a source: wakes a parked poller. NULL: nothing done. */
void PN_POLLER_notify(PN_POLLER* poller);

#ifdef __cplusplus
}
#endif

#endif /* POLLNOTIFY_POLLER_H */
