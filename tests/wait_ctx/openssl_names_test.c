/* Code written against OpenSSL's async API, compiled unchanged (C, as an engine would be) against
 * pollnotify through <pollnotify/openssl_names.h>. Exit code 0 means every step behaved. */
#include <pollnotify/openssl_names.h>
#include <stdio.h>

static int fired;
static int on_done(void* arg) {
  fired += *(int*)arg;
  return 1;
}

static int engine_job(void* args) {
  ASYNC_JOB* job = ASYNC_get_current_job();
  ASYNC_WAIT_CTX* ctx = ASYNC_get_wait_ctx(job);
  OSSL_ASYNC_FD fd = OSSL_BAD_ASYNC_FD;
  void* custom = NULL;
  static const int key = 0;
  (void)args;
  if (ASYNC_WAIT_CTX_set_wait_fd(ctx, &key, 3, NULL, NULL) != 1) return -1;
  if (ASYNC_WAIT_CTX_get_fd(ctx, &key, &fd, &custom) != 1 || fd != 3) return -2;
  if (ASYNC_WAIT_CTX_set_status(ctx, ASYNC_STATUS_OK) != 1) return -3;
  ASYNC_pause_job();
  return ASYNC_WAIT_CTX_clear_fd(ctx, &key) == 1 ? 9 : -4;
}

int main(void) {
  ASYNC_WAIT_CTX* ctx = ASYNC_WAIT_CTX_new();
  ASYNC_JOB* job = NULL;
  ASYNC_callback_fn fn = NULL;
  void* arg = NULL;
  int weight = 2, ret = 0;
  size_t numfds = 0;
  if (!ASYNC_is_capable() || ASYNC_init_thread(4, 1) != 1) return 1;
  if (ASYNC_WAIT_CTX_set_callback(ctx, on_done, &weight) != 1) return 2;
  if (ASYNC_start_job(&job, ctx, &ret, engine_job, NULL, 0) != ASYNC_PAUSE) return 3;
  if (ASYNC_WAIT_CTX_get_all_fds(ctx, NULL, &numfds) != 1 || numfds != 1) return 4;
  if (ASYNC_WAIT_CTX_get_status(ctx) != ASYNC_STATUS_OK) return 5;
  if (ASYNC_WAIT_CTX_get_callback(ctx, &fn, &arg) != 1 || fn(arg) != 1 || fired != 2) return 6;
  if (ASYNC_start_job(&job, ctx, &ret, engine_job, NULL, 0) != ASYNC_FINISH || ret != 9) return 7;
  ASYNC_WAIT_CTX_free(ctx);
  ASYNC_cleanup_thread();
  puts("openssl names ok");
  return 0;
}
