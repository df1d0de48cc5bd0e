/*
 * pollnotify simulated device, C API: a runtime with pollers and one simulated device from one
 * options struct, the quickest way to drive callback notification from C. Everything else on
 * the runtime is in <pollnotify/runtime.h>. Conventions (<pollnotify/error.h>): NULL or 0 on
 * failure with PN_get_last_error().
 */
#ifndef POLLNOTIFY_SIM_H
#define POLLNOTIFY_SIM_H

#include <stddef.h>

#include "pollnotify/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  unsigned pollers;           /* 1 .. 256 (pn::Runtime::kMaxPollers), default 1 */
  int policy;                 /* PN_POLL_*, default PN_POLL_ADAPTIVE */
  unsigned timed_interval_ns; /* PN_POLL_TIMED, default 10000 */
  unsigned instances;         /* device instances, 1 .. 1024, default 1 */
  const char* latency;        /* "zero", "fixed:NS", "exp:MEAN", ... default "zero" */
  size_t capacity;            /* requests each instance holds at most, 1 .. 2^20, default 1024 */
  double error_rate;          /* fraction of completions with ERR, default 0 */
  double refuse_rate;         /* fraction of submissions refused with EAGAIN, default 0 */
  unsigned long long seed;    /* default 1 */
} PN_RUNTIME_OPTIONS;

/* Fills in the defaults. */
void PN_RUNTIME_OPTIONS_init(PN_RUNTIME_OPTIONS* options);
/* A runtime whose first device is the simulator. NULL on bad options or out of memory;
 * PN_get_last_error() says why. NULL options: defaults. */
PN_RUNTIME* PN_RUNTIME_new(const PN_RUNTIME_OPTIONS* options);

#ifdef __cplusplus
}
#endif

#endif /* POLLNOTIFY_SIM_H */
