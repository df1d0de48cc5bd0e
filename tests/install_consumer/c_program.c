/* A plain C program: built with `cc c_program.c $(pkg-config --cflags --libs pollnotify)`, by a
 * C-only CMake project, and by a project that adds pollnotify as a subdirectory. */
#include <pollnotify/async_job.h>
#include <pollnotify/async_wait.h>
#include <pollnotify/completion.h>
#include <pollnotify/sim_runtime.h>
#include <pollnotify/version.h>
#include <stdio.h>

static int count(void* arg) { return ++*(int*)arg; }

static int body(void* arg) {
  (void)arg;
  PN_ASYNC_pause_job();
  return 5;
}

static int remember(void* arg, const PN_COMPLETION* completion) {
  *(uint64_t*)arg = completion->user_data;
  return 1;
}

int main(void) {
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  PN_ASYNC_JOB* job = NULL;
  int fired = 0, ret = 0;
  PN_ASYNC_callback_fn fn = NULL;
  void* arg = NULL;
  if (ctx == NULL || !PN_ASYNC_WAIT_CTX_set_callback(ctx, count, &fired)) return 1;
  if (PN_ASYNC_start_job(&job, ctx, &ret, body, NULL, 0) != PN_ASYNC_PAUSE) return 2;
  if (!PN_ASYNC_WAIT_CTX_get_callback(ctx, &fn, &arg) || fn(arg) != 1) return 3;
  if (PN_ASYNC_start_job(&job, ctx, &ret, body, NULL, 0) != PN_ASYNC_FINISH || ret != 5) return 4;

  /* The simulated runtime, polled by this thread: the user data comes back whole. */
  PN_SIM_RUNTIME_OPTIONS options;
  PN_SIM_RUNTIME_OPTIONS_init(&options);
  options.policy = PN_POLL_EXTERNAL;
  PN_RUNTIME* runtime = PN_SIM_RUNTIME_new(&options);
  uint64_t seen = 0;
  if (runtime == NULL) return 5;
  PN_ASYNC_WAIT_CTX_set_completion_callback(ctx, remember, &seen);
  if (PN_RUNTIME_submit(runtime, ctx, 1234) != 0) return 6;
  if (PN_RUNTIME_poll(runtime, 0) != 1 || seen != 1234) return 7;
  PN_RUNTIME_free(runtime);

  PN_ASYNC_WAIT_CTX_free(ctx);
  PN_ASYNC_cleanup_thread();
  printf("c program ok (pollnotify %s)\n", PN_VERSION_STRING);
  return 0;
}
