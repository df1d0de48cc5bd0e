/*
 * pollnotify device, C API: a device written in C (a driver's queue pair, an accelerator
 * instance) as a table of functions, so a runtime (<pollnotify/runtime.h>), its job helpers and
 * its stats work with it exactly as with a C++ pn::Device. The contract is pn::Device's
 * (pollnotify/device.hpp):
 *   submit      any thread, never blocks. Accept: PN_ASYNC_WAIT_CTX_arm(ctx), keep the ticket
 *               with the request, return 0. Refuse: -EAGAIN (full, or refused for now) or
 *               another negative errno value (failed), after abandoning a ticket already taken.
 *               The runtime sets the context's status to match (OK, EAGAIN, ERR).
 *   poll        on poller `poller_index`'s thread: reap what the hardware finished and push one
 *               PN_COMPLETION per request into a ring the device acquired on that poller
 *               (PN_POLLER_acquire_ring); return how many. NULL for a device that completes by
 *               other means (inline on PN_POLLER_thread_ring, or its own threads).
 *   destroy     when the runtime frees the device: complete (ERR) or deliver what is in flight.
 * Struct sizes come first so the table can grow without breaking older drivers. The functions
 * a table provides follow <pollnotify/error.h>: 0 on success, a negative errno value on failure.
 */
#ifndef POLLNOTIFY_DEVICE_H
#define POLLNOTIFY_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "pollnotify/async_wait.h"
#include "pollnotify/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A device's counters, defined once: X(name, description). */
#define PN_DEVICE_COUNTERS(X)                                                   \
  X(submitted, "submit calls")                                                  \
  X(accepted, "submissions accepted (a completion follows)")                    \
  X(refused_full, "EAGAIN because the device was at capacity")                  \
  X(refused_other, "EAGAIN for another reason (injected or transient refusal)") \
  X(failed, "submissions failed (ERR, nothing follows)")                        \
  X(completed, "completions pushed into rings")                                 \
  X(completed_err, "of which with status ERR")                                  \
  X(in_flight, "accepted, not yet completed into a ring")

#define PN_DEVICE_STATS_FIELD(name, description) uint64_t name;
typedef struct {
  size_t struct_size; /* set by the caller: sizeof(PN_DEVICE_STATS) */
  PN_DEVICE_COUNTERS(PN_DEVICE_STATS_FIELD)
} PN_DEVICE_STATS;
#undef PN_DEVICE_STATS_FIELD

typedef struct {
  size_t struct_size; /* sizeof(PN_DEVICE_METHOD) */
  const char* name;   /* for reports; may be NULL */
  /* Required. Returns 0, -EAGAIN or another negative errno value (see above). */
  int (*submit)(void* device, PN_ASYNC_WAIT_CTX* ctx, uint64_t user_data);
  /* Optional: the poll function, run by each of the runtime's pollers. */
  size_t (*poll)(void* device, size_t poller_index);
  /* Optional: asked while poller `poller_index` parks: 0 if nothing is pending, else ns until
   * the next completion (bounds the park). A device with no pending_ns must call
   * PN_POLLER_notify after making work visible to poll. */
  uint64_t (*pending_ns)(void* device, size_t poller_index);
  /* Required: requests the device holds at most, and now (accepted, not completed). */
  uint64_t (*capacity)(void* device);
  uint64_t (*in_flight)(void* device);
  /* Optional: fills the fields past struct_size it knows; the runtime counts submit results
   * itself when NULL. */
  void (*get_stats)(void* device, PN_DEVICE_STATS* stats);
  /* Optional: start / stop threads the device runs itself. start returns 0, or a negative errno
   * value that PN_RUNTIME_start returns. */
  int (*start)(void* device);
  void (*stop)(void* device);
  /* Optional: called once when the runtime frees the device, after its pollers stopped. */
  void (*destroy)(void* device);
} PN_DEVICE_METHOD;

#ifdef __cplusplus
}
#endif

#endif /* POLLNOTIFY_DEVICE_H */
