/*
 * pollnotify async jobs, C API: OpenSSL 3's ASYNC_JOB API under a PN_ prefix (same signatures,
 * return values and semantics), on stackful fibers with a hand-written context switch.
 *
 * Threads: every function acts on the calling thread's job pool and current job. A paused job
 * is resumed by the thread that started it (another thread gets PN_ASYNC_ERR); callbacks on other
 * threads hand the job back through a queue (see pollnotify/mpsc_queue.hpp).
 *
 * Memory ordering: start_job and pause_job run on one thread, so everything the job wrote before
 * pausing is visible to the caller of start_job after it returns, and the other way round.
 *
 * Differences from OpenSSL, on input it does not check: NULL job or ret pointers, a NULL func for
 * a new job, resuming a job that is not paused (or from another thread), and starting a job from
 * inside a job all return PN_ASYNC_ERR. PN_ASYNC_init_thread on a thread whose pool has jobs in
 * use returns 0. The job function must not throw.
 */
#ifndef POLLNOTIFY_ASYNC_JOB_H
#define POLLNOTIFY_ASYNC_JOB_H

#include <stddef.h>

#include "pollnotify/async_wait.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pn_async_job_st PN_ASYNC_JOB;

/* start_job results */
#define PN_ASYNC_ERR 0     /* failed: bad arguments or out of memory */
#define PN_ASYNC_NO_JOBS 1 /* the pool or the process limit is exhausted: try again later */
#define PN_ASYNC_PAUSE 2   /* the job paused: resume it with the same *job */
#define PN_ASYNC_FINISH 3  /* the job returned; *ret holds its result, *job is NULL again */

/* Creates the calling thread's pool: at most max_size jobs (0: unlimited), init_size created
 * now. 1 ok; 0 if init_size > max_size, init_size > PN_ASYNC_get_max_jobs(), memory is short,
 * or the pool has jobs in use. */
int PN_ASYNC_init_thread(size_t max_size, size_t init_size);
/* Frees the calling thread's idle jobs and pool. Paused jobs stay resumable and are freed when
 * they finish. A no-op inside a job. */
void PN_ASYNC_cleanup_thread(void);
/* Starts func(copy of args) as a new job when *job is NULL, else resumes the paused *job. Runs it
 * until it pauses or returns. */
int PN_ASYNC_start_job(PN_ASYNC_JOB** job, PN_ASYNC_WAIT_CTX* ctx, int* ret, int (*func)(void*),
                       void* args, size_t size);
/* Inside a job: returns to the start_job caller; returns 1 when resumed. Outside a job or while
 * pausing is blocked it does nothing and returns 1. Like a function call, it keeps the job's
 * callee-saved registers and every value the compiler holds across it (x87 ones included). One
 * difference from OpenSSL (whose jobs run on ucontext): the MXCSR and x87 control words (rounding
 * mode, exception masks) belong to the thread, not to each job, so a job that changes them
 * restores them before it pauses; a library built with PN_FIBER_PRESERVE_FP_CONTROL switches
 * them with each job, as OpenSSL does. */
int PN_ASYNC_pause_job(void);
/* The job running on this thread, or NULL. */
PN_ASYNC_JOB* PN_ASYNC_get_current_job(void);
/* The wait context the job was started with, or NULL (also for a NULL job). */
PN_ASYNC_WAIT_CTX* PN_ASYNC_get_wait_ctx(PN_ASYNC_JOB* job);
/* Nesting counters on the current thread; no-ops outside a job. */
void PN_ASYNC_block_pause(void);
void PN_ASYNC_unblock_pause(void);
/* 1: jobs are supported on this platform. */
int PN_ASYNC_is_capable(void);
/* The most jobs (pooled, running or paused) the process holds at once. Each job's stack and its
 * guard are two memory mappings, and a process past vm.max_map_count mappings cannot even create
 * threads, so jobs take at most half of them: vm.max_map_count / 4 (16382 by default). Past it,
 * PN_ASYNC_start_job returns PN_ASYNC_NO_JOBS and PN_ASYNC_init_thread returns 0 for a larger
 * init_size (or creates fewer jobs when other threads hold the rest). */
size_t PN_ASYNC_get_max_jobs(void);

#ifdef __cplusplus
}
#endif

/* On x86-64 (GCC, Clang) the pause and the resume of a paused job are compiled into the caller,
 * with the same semantics; the exported functions stay, for &PN_ASYNC_pause_job, other
 * languages and code built with -DPN_ASYNC_NO_INLINE or a sanitizer. */
#include "pollnotify/internal/async_job_inline.h"
#if defined(PN_ASYNC_INLINE_FAST_PATH)
#define PN_ASYNC_pause_job() pn_internal_pause_job()
#define PN_ASYNC_start_job(job, ctx, ret, func, args, size) \
  pn_internal_start_job(job, ctx, ret, func, args, size)
#endif

#endif /* POLLNOTIFY_ASYNC_JOB_H */
