/* A plain-C smoke test of the job API and the context switch: many jobs interleaved, arguments
 * copied, values in callee-saved and floating-point registers kept across pauses, wait-context
 * change counts reset on resume. Built natively as a test, and by scripts/check_aarch64.sh for
 * AArch64 under qemu. Exit code 0 and "job smoke ok" on success. */
#include <pollnotify/async_job.h>
#include <pollnotify/async_wait.h>
#include <stdio.h>

#define JOBS 64
#define ROUNDS 100

struct work {
  int id;
  double scale;
};

static long accumulate(const struct work* w, int round) {
  /* Enough live values that some sit in callee-saved registers across the pause. */
  long a = w->id, b = round, c = a * 3 + b, d = c ^ 0x5a5a, e = d + a * b;
  double f = w->scale * round;
  PN_ASYNC_pause_job();
  return a + b + c + d + e + (long)(f * 2.0);
}

static long expected_value(const struct work* w, int round) {
  long a = w->id, b = round, c = a * 3 + b, d = c ^ 0x5a5a, e = d + a * b;
  double f = w->scale * round;
  return a + b + c + d + e + (long)(f * 2.0);
}

static int job_body(void* arg) {
  const struct work* w = arg;
  long errors = 0;
  for (int round = 0; round < ROUNDS; ++round) {
    if (accumulate(w, round) != expected_value(w, round)) ++errors;
  }
  return errors == 0 ? w->id : -1;
}

static int key;
static int fd_job(void* arg) {
  (void)arg;
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_get_wait_ctx(PN_ASYNC_get_current_job());
  PN_ASYNC_WAIT_CTX_set_wait_fd(ctx, &key, 5, NULL, NULL);
  PN_ASYNC_pause_job();
  size_t added = 9, deleted = 9;
  PN_ASYNC_WAIT_CTX_get_changed_fds(ctx, NULL, &added, NULL, &deleted);
  return (int)added; /* 0: the resume reset the counts */
}

int main(void) {
  PN_ASYNC_JOB* jobs[JOBS] = {0};
  int rets[JOBS] = {0};
  int status[JOBS];
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  if (!PN_ASYNC_is_capable() || ctx == NULL) return 1;
  for (int j = 0; j < JOBS; ++j) {
    struct work w = {j, 0.5 + j};
    status[j] = PN_ASYNC_start_job(&jobs[j], ctx, &rets[j], job_body, &w, sizeof w);
    if (status[j] != PN_ASYNC_PAUSE) return 2;
  }
  for (int round = 0; round < ROUNDS; ++round) {
    for (int j = 0; j < JOBS; ++j) {
      status[j] = PN_ASYNC_start_job(&jobs[j], ctx, &rets[j], job_body, NULL, 0);
    }
  }
  for (int j = 0; j < JOBS; ++j) {
    if (status[j] != PN_ASYNC_FINISH || rets[j] != j || jobs[j] != NULL) {
      printf("job %d: status %d ret %d\n", j, status[j], rets[j]);
      return 3;
    }
  }
  PN_ASYNC_JOB* job = NULL;
  int ret = -1;
  if (PN_ASYNC_start_job(&job, ctx, &ret, fd_job, NULL, 0) != PN_ASYNC_PAUSE) return 4;
  if (PN_ASYNC_start_job(&job, ctx, &ret, fd_job, NULL, 0) != PN_ASYNC_FINISH || ret != 0) return 5;
  PN_ASYNC_WAIT_CTX_free(ctx);
  PN_ASYNC_cleanup_thread();
  puts("job smoke ok");
  return 0;
}
