/* A plain C program built with: cc c_program.c $(pkg-config --cflags --libs pollnotify) */
#include <pollnotify/async_job.h>
#include <pollnotify/async_wait.h>
#include <stdio.h>

static int count(void* arg) { return ++*(int*)arg; }

static int body(void* arg) {
  (void)arg;
  PN_ASYNC_pause_job();
  return 5;
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
  PN_ASYNC_WAIT_CTX_free(ctx);
  PN_ASYNC_cleanup_thread();
  puts("c program ok");
  return 0;
}
