/* Job pause + resume, OpenSSL's ASYNC against pollnotify's, from outside: a plain C program at -O2
 * using only the public headers, both libraries in one process. A job pauses N times; the
 * caller resumes it N times; the time per pause + resume is reported for each library, several
 * rounds alternating, and the ratio OpenSSL / pollnotify per round and its median.
 * Usage: job_switch [pauses-per-round] [rounds] [json-file]   (default 1000000, 5, none)
 * The JSON file gets every round's figures and the median ratio (scripts/bench_report.py). */
#include <openssl/async.h>
#include <pollnotify/async_job.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long pauses = 1000000;

static int openssl_pausing(void* arg) {
  (void)arg;
  for (long i = 0; i < pauses; ++i) ASYNC_pause_job();
  return 1;
}

static int pollnotify_pausing(void* arg) {
  (void)arg;
  for (long i = 0; i < pauses; ++i) PN_ASYNC_pause_job();
  return 1;
}

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* ns per pause + resume, or a negative value on failure */
static double openssl_round(void) {
  ASYNC_JOB* job = NULL;
  ASYNC_WAIT_CTX* ctx = ASYNC_WAIT_CTX_new();
  int ret = 0;
  long resumes = 0;
  const double start = now_ns();
  int status;
  while ((status = ASYNC_start_job(&job, ctx, &ret, openssl_pausing, NULL, 0)) == ASYNC_PAUSE)
    ++resumes;
  const double elapsed = now_ns() - start;
  ASYNC_WAIT_CTX_free(ctx);
  return status == ASYNC_FINISH && resumes == pauses ? elapsed / (double)pauses : -1.0;
}

static double pollnotify_round(void) {
  PN_ASYNC_JOB* job = NULL;
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  int ret = 0;
  long resumes = 0;
  const double start = now_ns();
  int status;
  while ((status = PN_ASYNC_start_job(&job, ctx, &ret, pollnotify_pausing, NULL, 0)) ==
         PN_ASYNC_PAUSE) {
    ++resumes;
  }
  const double elapsed = now_ns() - start;
  PN_ASYNC_WAIT_CTX_free(ctx);
  return status == PN_ASYNC_FINISH && resumes == pauses ? elapsed / (double)pauses : -1.0;
}

static int by_value(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  int rounds = 5;
  if (argc > 1) pauses = strtol(argv[1], NULL, 10);
  if (argc > 2) rounds = (int)strtol(argv[2], NULL, 10);
  if (pauses <= 0 || rounds <= 0 || rounds > 100) {
    fprintf(stderr, "usage: job_switch [pauses-per-round > 0] [rounds 1..100]\n");
    return 2;
  }
  double ratios[100], theirs_ns[100], ours_ns[100];
  printf("round  openssl ns  pollnotify ns  openssl/pollnotify\n");
  for (int r = 0; r < rounds; ++r) {
    const double theirs = openssl_round();
    const double ours = pollnotify_round();
    if (theirs < 0 || ours < 0) {
      fprintf(stderr, "job_switch: a job did not pause %ld times and finish\n", pauses);
      return 1;
    }
    ratios[r] = theirs / ours;
    theirs_ns[r] = theirs;
    ours_ns[r] = ours;
    printf("%5d  %10.1f  %13.1f  %18.2f\n", r + 1, theirs, ours, ratios[r]);
  }
  if (argc > 3) {
    FILE* json = fopen(argv[3], "w");
    if (json == NULL) {
      perror(argv[3]);
      return 1;
    }
    fprintf(json, "{\"pauses_per_round\": %ld, \"rounds\": [", pauses);
    for (int r = 0; r < rounds; ++r) {
      fprintf(json, "%s{\"openssl_ns\": %.2f, \"pollnotify_ns\": %.2f, \"ratio\": %.3f}",
              r ? ", " : "", theirs_ns[r], ours_ns[r], ratios[r]);
    }
    qsort(ratios, (size_t)rounds, sizeof ratios[0], by_value);
    fprintf(json, "], \"median_ratio\": %.3f}\n", ratios[rounds / 2]);
    fclose(json);
  } else {
    qsort(ratios, (size_t)rounds, sizeof ratios[0], by_value);
  }
  printf("median ratio: %.2f (target: at least 7)\n", ratios[rounds / 2]);
  ASYNC_cleanup_thread();
  PN_ASYNC_cleanup_thread();
  return 0;
}
