/*
 * pollnotify internal: the inline fast paths of PN_ASYNC_pause_job and PN_ASYNC_start_job (resume
 * of a paused job). Do not include directly; pollnotify/async_job.h does.
 *
 * Why inline: a job switch reached through a call (the application calls pause_job, which
 * switches stacks) returns on the other stack through a `ret` whose address the return stack
 * buffer does not hold, so every resume and every pause mispredicts once. Compiled into the
 * caller, the switch is a jump from one call site to the other: no call or return straddles it,
 * and each site's jump has one target, which the branch predictor learns (about 22 ns per
 * pause + resume through calls, 3.5 ns inline, on the machine of docs/benchmarks.md).
 *
 * Everything else (a new job, errors, finishing, the thread's first use, builds with sanitizer
 * fiber annotations, the ucontext or AArch64 switch, FP-control preservation) goes to the
 * exported functions, which the library decides through `inline_switch`. The layout below is
 * part of the ABI, which the soname's minor version carries (0.x).
 */
#ifndef POLLNOTIFY_INTERNAL_ASYNC_JOB_INLINE_H
#define POLLNOTIFY_INTERNAL_ASYNC_JOB_INLINE_H

#include "pollnotify/async_job.h"

#ifdef __cplusplus
extern "C" {
#endif

/* __extension__: the header stays valid C89 for GCC and Clang, whose 64-bit type this is. */
#if defined(__GNUC__)
#define PN_INTERNAL_U64 __extension__ unsigned long long
#else
#define PN_INTERNAL_U64 unsigned long long
#endif

/* The first member of every job (runtime/job.cpp checks the layout). */
typedef struct PN_internal_job {
  void* stack_pointer;         /* where the job's stack was left while it is not running */
  void* wait_ctx;              /* pn::WaitCtx* the job was started with, or NULL */
  unsigned char state;         /* PN_INTERNAL_JOB_*: the owner thread only */
  PN_INTERNAL_U64 owner_token; /* the owning thread; read by others with a relaxed load */
  void* libctx;                /* the job's default OSSL_LIB_CTX while it is paused, or NULL */
} PN_internal_job;

/* OpenSSL's OSSL_LIB_CTX_set0_default when libcrypto is in the process, else NULL: a job keeps
 * its own default library context, as OpenSSL's jobs do. */
typedef void* (*PN_internal_set_default_libctx)(void* libctx);

#define PN_INTERNAL_JOB_IDLE 0
#define PN_INTERNAL_JOB_RUNNING 1
#define PN_INTERNAL_JOB_PAUSING 2
#define PN_INTERNAL_JOB_PAUSED 3
#define PN_INTERNAL_JOB_STOPPING 4

/* Each thread's job state: one block of static TLS, read with one %fs-relative access. */
typedef struct PN_internal_job_thread {
  void* pool;                     /* the library's pool, NULL until the first job */
  PN_internal_job* current;       /* the job running on this thread, or NULL */
  void* dispatcher_stack_pointer; /* where start_job's stack was left while a job runs */
  PN_INTERNAL_U64 token;          /* identifies the OS thread; 0 until it owns a job */
  unsigned blocked;               /* PN_ASYNC_block_pause nesting */
  int inline_switch;              /* 1: the library's switch frame matches the inline one */
  PN_internal_set_default_libctx set_default_libctx; /* found at the thread's first job */
} PN_internal_job_thread;

/* The library's side of a resume: what OpenSSL does to the wait context on resume. */
void PN_internal_job_reset_wait_ctx(PN_internal_job* job);
/* The library's side of a job that returned: pool it, report its result. */
int PN_internal_job_finish(PN_internal_job* job, PN_ASYNC_JOB** job_handle, int* ret);

/* The inline paths: x86-64 with GCC or Clang, not in code built with a sanitizer (its fiber
 * annotations are in the library's path). PN_ASYNC_NO_INLINE turns them off. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PN_INTERNAL_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PN_INTERNAL_SANITIZED 1
#endif
#if defined(__x86_64__) && defined(__GNUC__) && !defined(PN_INTERNAL_SANITIZED) && \
    !defined(PN_ASYNC_NO_INLINE)
#define PN_ASYNC_INLINE_FAST_PATH 1

extern __thread PN_internal_job_thread PN_internal_job_thread_state
    __attribute__((tls_model("initial-exec")));

/*
 * The frame is the one pn_fiber_switch (runtime/fiber_x86_64.S) pushes and pops: from the saved
 * stack pointer up, 8 bytes of padding, r15 r14 r13 r12 rbx rbp, the resume address. The side
 * that resumes pops the six registers and jumps, so the callee-saved registers come back as
 * pushed; the caller-saved ones are clobbered like a call's: the vector registers and the x87
 * register stack (st, mm) too, so that the compiler keeps no value there across the switch (the
 * ABI has a call leave the x87 stack empty; a long double kept there would be every job's). The red
 * zone below the stack pointer is stepped over first: the code around this may keep data there.
 */
static __inline__ __attribute__((always_inline)) void pn_internal_switch(void** save_stack_pointer,
                                                                         void* to_stack_pointer) {
  __asm__ __volatile__(
      "leaq -128(%%rsp), %%rsp\n\t"
      "leaq 1f(%%rip), %%rax\n\t"
      "pushq %%rax\n\t"
      "pushq %%rbp\n\t"
      "pushq %%rbx\n\t"
      "pushq %%r12\n\t"
      "pushq %%r13\n\t"
      "pushq %%r14\n\t"
      "pushq %%r15\n\t"
      "subq $8, %%rsp\n\t"
      "movq %%rsp, (%%rdi)\n\t"
      "movq %%rsi, %%rsp\n\t"
      "addq $8, %%rsp\n\t"
      "popq %%r15\n\t"
      "popq %%r14\n\t"
      "popq %%r13\n\t"
      "popq %%r12\n\t"
      "popq %%rbx\n\t"
      "popq %%rbp\n\t"
      "popq %%rcx\n\t"
      "jmpq *%%rcx\n"
      "1:\n\t"
      "leaq 128(%%rsp), %%rsp\n\t"
      : "+D"(save_stack_pointer), "+S"(to_stack_pointer)
      :
      : "rax", "rcx", "rdx", "r8", "r9", "r10", "r11", "memory", "cc", "xmm0", "xmm1", "xmm2",
        "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
        "xmm14", "xmm15", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)",
        "mm0", "mm1", "mm2", "mm3", "mm4", "mm5", "mm6", "mm7"
#if defined(__AVX512F__)
        ,
        "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25",
        "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "k1", "k2", "k3", "k4", "k5", "k6",
        "k7"
#endif
  );
}

static __inline__ __attribute__((always_inline)) int pn_internal_pause_job(void) {
  PN_internal_job_thread* thread = &PN_internal_job_thread_state;
  PN_internal_job* job = thread->current;
  if (job == NULL || thread->blocked != 0) return 1; /* a no-op outside a job, as OpenSSL's */
  if (!thread->inline_switch) return (PN_ASYNC_pause_job)();
  job->state = PN_INTERNAL_JOB_PAUSING;
  pn_internal_switch(&job->stack_pointer, thread->dispatcher_stack_pointer);
  return 1;
}

static __inline__ __attribute__((always_inline)) int pn_internal_start_job(
    PN_ASYNC_JOB** job_handle, PN_ASYNC_WAIT_CTX* ctx, int* ret, int (*func)(void*), void* args,
    size_t size) {
  PN_internal_job_thread* thread = &PN_internal_job_thread_state;
  PN_internal_job* job = job_handle == NULL ? NULL : (PN_internal_job*)*job_handle;
  /* Only the resume of a paused job of this thread runs here; the library checks the rest. The
   * owner is compared before the state is read: another thread's job is not ours to read. */
  if (job == NULL || ret == NULL || !thread->inline_switch || thread->current != NULL ||
      __atomic_load_n(&job->owner_token, __ATOMIC_RELAXED) != thread->token ||
      job->state != PN_INTERNAL_JOB_PAUSED) {
    return (PN_ASYNC_start_job)(job_handle, ctx, ret, func, args, size);
  }
  if (job->wait_ctx != NULL) PN_internal_job_reset_wait_ctx(job);
  job->state = PN_INTERNAL_JOB_RUNNING;
  thread->current = job;
  {
    /* The job runs with its own default library context and gives the caller's back. */
    PN_internal_set_default_libctx swap_libctx = thread->set_default_libctx;
    void* caller_libctx = swap_libctx != NULL ? swap_libctx(job->libctx) : NULL;
    pn_internal_switch(&thread->dispatcher_stack_pointer, job->stack_pointer);
    if (swap_libctx != NULL) job->libctx = swap_libctx(caller_libctx);
  }
  thread->current = NULL;
  if (job->state == PN_INTERNAL_JOB_STOPPING) return PN_internal_job_finish(job, job_handle, ret);
  job->state = PN_INTERNAL_JOB_PAUSED;
  return PN_ASYNC_PAUSE;
}

#endif /* PN_ASYNC_INLINE_FAST_PATH */

#ifdef __cplusplus
}
#endif

#endif /* POLLNOTIFY_INTERNAL_ASYNC_JOB_INLINE_H */
