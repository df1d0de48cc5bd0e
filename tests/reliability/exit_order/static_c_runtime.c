/* A C engine's runtime in a global, started, used and freed from an atexit handler: the C
 * equivalent of a runtime at namespace scope. */
#include <stdio.h>
#include <stdlib.h>

#include "pollnotify/async_wait.h"
#include "pollnotify/sim_runtime.h"

static PN_RUNTIME* global_runtime;
static PN_ASYNC_WAIT_CTX* global_ctx;

static int on_done(void* arg) {
  (void)arg;
  return 1;
}

static void free_at_exit(void) {
  PN_RUNTIME_free(global_runtime); /* still running, requests possibly in flight */
  PN_ASYNC_WAIT_CTX_free(global_ctx);
}

int main(void) {
  PN_SIM_RUNTIME_OPTIONS options;
  PN_SIM_RUNTIME_OPTIONS_init(&options);
  options.latency = "fixed:2000";
  global_runtime = PN_SIM_RUNTIME_new(&options);
  global_ctx = PN_ASYNC_WAIT_CTX_new();
  if (global_runtime == NULL || global_ctx == NULL || PN_RUNTIME_start(global_runtime) < 0) {
    fprintf(stderr, "setup failed: %s\n", PN_get_last_error());
    return 1;
  }
  PN_ASYNC_WAIT_CTX_set_callback(global_ctx, on_done, NULL);
  for (int i = 0; i < 100; ++i) {
    while (PN_RUNTIME_submit(global_runtime, global_ctx, (uint64_t)i) == -EAGAIN) {
    }
  }
  atexit(free_at_exit);
  puts("exiting; the runtime is freed by an atexit handler");
  return 0;
}
