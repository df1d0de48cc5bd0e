/*
 * pollnotify simulated runtime, C API: a runtime with pollers and one simulated device from one
 * options struct, the quickest way to drive callback notification from C. Everything else on
 * the runtime is in <pollnotify/runtime.h>. Errors (<pollnotify/error.h>): NULL on failure, with
 * the reason recorded.
 */
#ifndef POLLNOTIFY_SIM_RUNTIME_H
#define POLLNOTIFY_SIM_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "pollnotify/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  size_t struct_size; /* sizeof(PN_SIM_RUNTIME_OPTIONS), set by PN_SIM_RUNTIME_OPTIONS_init */
  unsigned pollers;   /* 1 .. 256 (pn::Runtime::kMaxPollers), default 1 */
  int policy;         /* PN_POLL_*, default PN_POLL_ADAPTIVE */
  uint64_t timed_interval_ns; /* PN_POLL_TIMED: sleep between empty polls, > 0, default 10000 */
  unsigned instances;         /* device instances, 1 .. 1024, default 1 */
  const char* latency;        /* "zero", "fixed:NS", "exp:MEAN", ... default "zero" */
  size_t capacity;            /* requests each instance holds at most, 1 .. 2^20, default 1024 */
  double error_rate;          /* fraction of completions with ERR, 0 .. 1, default 0 */
  double refuse_rate;         /* fraction of submissions refused with EAGAIN, 0 .. 1, default 0 */
  uint64_t seed;              /* default 1 */
} PN_SIM_RUNTIME_OPTIONS;

/* Fills in the defaults (and struct_size). NULL: nothing done. */
void PN_SIM_RUNTIME_OPTIONS_init(PN_SIM_RUNTIME_OPTIONS* options);
/* A runtime whose first device is the simulator. NULL options: defaults. A struct_size smaller
 * than this header's takes defaults for the fields past it. NULL: -EINVAL for bad options (the
 * reason recorded), -ENOMEM. */
PN_RUNTIME* PN_SIM_RUNTIME_new(const PN_SIM_RUNTIME_OPTIONS* options);

#ifdef __cplusplus
}
#endif

#endif /* POLLNOTIFY_SIM_RUNTIME_H */
