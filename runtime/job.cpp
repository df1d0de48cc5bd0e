// OpenSSL's job semantics (crypto/async/async.c) on pollnotify fibers.
#include <dlfcn.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "internal/fiber.hpp"
#include "pollnotify/async_job.h"
#include "pollnotify/wait_ctx.hpp"

// The per-thread state: one trivially destructible block of initial-exec TLS, declared in
// pollnotify/internal/async_job_inline.h, so the hot paths (inline in callers, or here) read it
// with one %fs-relative access, no __tls_get_addr call and no init guard.
extern "C" {
__attribute__((
    tls_model("initial-exec"))) __thread PN_internal_job_thread PN_internal_job_thread_state;
}

namespace pn::internal {
namespace {

enum class JobState : std::uint8_t {
  kIdle = PN_INTERNAL_JOB_IDLE,         // in a pool, no function
  kRunning = PN_INTERNAL_JOB_RUNNING,   // on this thread's CPU right now
  kPausing = PN_INTERNAL_JOB_PAUSING,   // pause_job switched away; start_job makes it kPaused
  kPaused = PN_INTERNAL_JOB_PAUSED,     // waiting to be resumed by start_job
  kStopping = PN_INTERNAL_JOB_STOPPING  // the function returned; start_job reports FINISH
};

PN_internal_job_thread& thread_state() noexcept { return PN_internal_job_thread_state; }

// Sanitizer bookkeeping of the thread's own stack, where pause and finish return to.
__attribute__((tls_model("initial-exec"))) constinit thread_local FiberContext dispatcher_fiber{};

// A job's handle is its PN_internal_job base, which the inline paths read: the state, the owner
// (never changes; jobs never leave their thread) and the stack pointer while it does not run.
struct Job : PN_internal_job {
  FiberContext fiber;
  FiberStack stack;
  int (*func)(void*) = nullptr;
  void* args = nullptr;
  std::unique_ptr<unsigned char[]> heap_args;
  std::size_t heap_args_capacity = 0;
  alignas(std::max_align_t) unsigned char inline_args[64];
  int ret = 0;
  std::uint64_t pool_epoch = 0;

  Job() : PN_internal_job{nullptr, nullptr, PN_INTERNAL_JOB_IDLE, 0, nullptr} {}
  [[nodiscard]] JobState job_state() const noexcept { return static_cast<JobState>(state); }
  void set_state(JobState next) noexcept { state = static_cast<unsigned char>(next); }
  // Another thread may pass the handle to start_job, which must refuse it without touching the
  // owner's state: relaxed, only the value matters and it never changes once the job exists.
  [[nodiscard]] std::uint64_t owner() const noexcept {
    return __atomic_load_n(&owner_token, __ATOMIC_RELAXED);
  }
  [[nodiscard]] PN_ASYNC_JOB* handle() noexcept {
    return reinterpret_cast<PN_ASYNC_JOB*>(static_cast<PN_internal_job*>(this));
  }
  static Job* from_handle(PN_ASYNC_JOB* handle) noexcept {
    return static_cast<Job*>(reinterpret_cast<PN_internal_job*>(handle));
  }
};

// Jobs alive in the process (pooled, running or paused), against the limit below.
std::atomic<std::size_t> live_jobs{0};

// Each job is two mappings (stack and guard); the kernel allows vm.max_map_count per process
// and a process that runs out cannot even create threads. Jobs take at most half of them.
std::size_t read_max_jobs() noexcept {
  std::size_t max_map_count = 65530;  // the kernel's default
  if (std::FILE* file = std::fopen("/proc/sys/vm/max_map_count", "r")) {
    unsigned long long value = 0;
    if (std::fscanf(file, "%llu", &value) == 1 && value >= 8) max_map_count = value;
    std::fclose(file);
  }
  return max_map_count / 4;
}

std::size_t max_jobs() noexcept {
  static const std::size_t limit = read_max_jobs();
  return limit;
}

std::uint64_t next_pool_epoch() noexcept {
  static std::atomic<std::uint64_t> next_epoch{1};
  return next_epoch.fetch_add(1, std::memory_order_relaxed);  // relaxed: uniqueness only
}

void job_main(void* raw) {
  auto* job = static_cast<Job*>(raw);
  fiber_entered(dispatcher_fiber);
  for (;;) {  // a pooled job runs its next function on the same fiber
    job->ret = job->func(job->args);
    job->set_state(JobState::kStopping);
    fiber_switch(&job->stack_pointer, job->fiber, thread_state().dispatcher_stack_pointer,
                 dispatcher_fiber);
  }
}

std::uint64_t this_thread_token() noexcept;

// nullptr at the process's job limit or out of memory.
Job* create_job() noexcept {
  // Relaxed: a count against a limit; the job itself is published by its owner thread only.
  if (live_jobs.fetch_add(1, std::memory_order_relaxed) >= max_jobs()) {
    live_jobs.fetch_sub(1, std::memory_order_relaxed);
    return nullptr;
  }
  auto* job = new (std::nothrow) Job();
  if (job != nullptr) {
    job->stack = allocate_fiber_stack(kFiberStackSize);
    if (job->stack.mapping != nullptr) {
      fiber_init(job->fiber, &job->stack_pointer, job->stack, &job_main, job);
      // Relaxed: see Job::owner().
      __atomic_store_n(&job->owner_token, this_thread_token(), __ATOMIC_RELAXED);
      return job;
    }
    delete job;
  }
  live_jobs.fetch_sub(1, std::memory_order_relaxed);
  return nullptr;
}

void delete_job(Job* job) noexcept {
  fiber_destroy(job->fiber);
  free_fiber_stack(job->stack);
  delete job;
  live_jobs.fetch_sub(1, std::memory_order_relaxed);
}

struct ThreadJobs {
  std::size_t max_size = 0;  // 0: unlimited
  std::size_t in_use = 0;
  std::vector<Job*> idle;
  std::uint64_t epoch = next_pool_epoch();

  ThreadJobs() = default;
  ~ThreadJobs() {
    for (Job* job : idle) delete_job(job);
  }
  ThreadJobs(const ThreadJobs&) = delete;
  ThreadJobs& operator=(const ThreadJobs&) = delete;

  [[nodiscard]] std::size_t size() const noexcept { return idle.size() + in_use; }

  Job* acquire() noexcept {
    Job* job = nullptr;
    if (!idle.empty()) {
      job = idle.back();
      idle.pop_back();
    } else {
      if (max_size != 0 && size() >= max_size) return nullptr;
      job = create_job();
      if (job == nullptr) return nullptr;
    }
    job->pool_epoch = epoch;
    ++in_use;
    return job;
  }

  void release(Job* job) noexcept {
    job->set_state(JobState::kIdle);
    job->wait_ctx = nullptr;
    job->libctx = nullptr;
    job->func = nullptr;
    if (job->pool_epoch != epoch) {  // started under a pool that cleanup_thread freed
      delete_job(job);
      return;
    }
    --in_use;
    try {
      idle.push_back(job);
    } catch (const std::bad_alloc&) {
      delete_job(job);
    }
  }
};

// Frees the thread's pool and, as OpenSSL frees its thread context, the block count with it.
void free_thread_pool(PN_internal_job_thread& state) noexcept {
  delete static_cast<ThreadJobs*>(state.pool);
  state.pool = nullptr;
  state.blocked = 0;
}

// Frees the pool when the thread exits; registered on the slow path that creates the pool.
struct ThreadExitHook {
  ~ThreadExitHook() { free_thread_pool(thread_state()); }
};

std::uint64_t this_thread_token() noexcept {
  PN_internal_job_thread& state = thread_state();
  if (state.token == 0) {
    static std::atomic<std::uint64_t> next_token{1};
    // Relaxed: only uniqueness matters.
    state.token = next_token.fetch_add(1, std::memory_order_relaxed);
  }
  return state.token;
}

// OpenSSL 3's OSSL_LIB_CTX_set0_default when libcrypto is loaded in the process (looked up, not
// linked: the job library does not depend on libcrypto). Looked up again by each new thread
// until found, so a libcrypto loaded later is seen by the threads that start jobs after it.
PN_internal_set_default_libctx find_set_default_libctx() noexcept {
  static std::atomic<PN_internal_set_default_libctx> found{nullptr};
  // Relaxed: a function's address, the same whichever thread finds it.
  PN_internal_set_default_libctx known = found.load(std::memory_order_relaxed);
  if (known != nullptr) return known;
  known = reinterpret_cast<PN_internal_set_default_libctx>(
      ::dlsym(RTLD_DEFAULT, "OSSL_LIB_CTX_set0_default"));
  found.store(known, std::memory_order_relaxed);
  return known;
}

[[gnu::noinline]] ThreadJobs* create_thread_jobs() noexcept {
  static thread_local ThreadExitHook exit_hook;
  (void)&exit_hook;
  auto* jobs = new (std::nothrow) ThreadJobs();
  if (jobs != nullptr) {
    fiber_init_thread(dispatcher_fiber);
    thread_state().pool = jobs;
    thread_state().inline_switch = kInlineSwitchCompatible;
    thread_state().set_default_libctx = find_set_default_libctx();
  }
  return jobs;
}

ThreadJobs* thread_jobs() noexcept {
  void* pool = thread_state().pool;
  return pool != nullptr ? static_cast<ThreadJobs*>(pool) : create_thread_jobs();
}

bool copy_args(Job& job, const void* args, std::size_t size) noexcept {
  if (args == nullptr) {
    job.args = nullptr;
    return true;
  }
  if (size <= sizeof job.inline_args) {
    job.args = job.inline_args;
  } else {
    if (size > job.heap_args_capacity) {
      job.heap_args.reset(new (std::nothrow) unsigned char[size]);
      job.heap_args_capacity = job.heap_args ? size : 0;
      if (!job.heap_args) return false;
    }
    job.args = job.heap_args.get();
  }
  std::memcpy(job.args, args, size);
  return true;
}

// What OpenSSL does on every resume: the wait context's change counts restart.
void reset_wait_ctx(Job& job) noexcept {
  if (job.wait_ctx != nullptr) static_cast<pn::WaitCtx*>(job.wait_ctx)->mark_resumed();
}

// Runs `job` until it pauses or returns; the caller checked it may.
int run_job(Job* job, PN_ASYNC_JOB** job_handle, int* ret) noexcept {
  PN_internal_job_thread& state = thread_state();
  job->set_state(JobState::kRunning);
  state.current = job;
  // As OpenSSL: the job runs with its own default library context (the caller's when it is
  // new), and the caller gets its own back at every pause.
  const PN_internal_set_default_libctx swap_libctx = state.set_default_libctx;
  void* const caller_libctx = swap_libctx != nullptr ? swap_libctx(job->libctx) : nullptr;
  fiber_switch(&state.dispatcher_stack_pointer, dispatcher_fiber, job->stack_pointer, job->fiber);
  if (swap_libctx != nullptr) job->libctx = swap_libctx(caller_libctx);
  state.current = nullptr;
  if (job->job_state() == JobState::kStopping) return PN_internal_job_finish(job, job_handle, ret);
  job->set_state(JobState::kPaused);
  *job_handle = job->handle();
  return PN_ASYNC_PAUSE;
}

}  // namespace
}  // namespace pn::internal

using pn::internal::Job;
using pn::internal::JobState;
using pn::internal::ThreadJobs;

extern "C" {

int PN_ASYNC_init_thread(size_t max_size, size_t init_size) {
  if (init_size > max_size) return 0;
  if (init_size > pn::internal::max_jobs()) return 0;  // more than the process may ever hold
  ThreadJobs* jobs = pn::internal::thread_jobs();
  if (jobs == nullptr || jobs->in_use != 0 || pn::internal::thread_state().current != nullptr) {
    return 0;
  }
  try {
    jobs->idle.reserve(init_size);
  } catch (const std::exception&) {  // bad_alloc or length_error: nothing changed
    return 0;
  }
  jobs->max_size = max_size;
  while (jobs->idle.size() > max_size && max_size != 0) {
    pn::internal::delete_job(jobs->idle.back());
    jobs->idle.pop_back();
  }
  while (jobs->idle.size() < init_size) {
    Job* job = pn::internal::create_job();
    if (job == nullptr) break;  // as OpenSSL: a short pool is not an error
    jobs->idle.push_back(job);
  }
  return 1;
}

void PN_ASYNC_cleanup_thread(void) {
  PN_internal_job_thread& state = pn::internal::thread_state();
  if (state.pool != nullptr && state.current == nullptr) pn::internal::free_thread_pool(state);
}

// Parenthesised names: async_job.h may define these as macros for its inline paths.
int(PN_ASYNC_start_job)(PN_ASYNC_JOB** job_handle, PN_ASYNC_WAIT_CTX* ctx, int* ret,
                        int (*func)(void*), void* args, size_t size) {
  if (job_handle == nullptr || ret == nullptr) return PN_ASYNC_ERR;
  ThreadJobs* jobs = pn::internal::thread_jobs();
  if (jobs == nullptr || pn::internal::thread_state().current != nullptr) return PN_ASYNC_ERR;

  Job* job = Job::from_handle(*job_handle);
  if (job != nullptr) {
    // Only after the owner matches is the state ours to read.
    if (job->owner() != pn::internal::this_thread_token() ||
        job->job_state() != JobState::kPaused) {
      return PN_ASYNC_ERR;
    }
    pn::internal::reset_wait_ctx(*job);
  } else {
    if (func == nullptr) return PN_ASYNC_ERR;
    job = jobs->acquire();
    if (job == nullptr) return PN_ASYNC_NO_JOBS;
    if (!pn::internal::copy_args(*job, args, size)) {
      jobs->release(job);
      return PN_ASYNC_ERR;
    }
    job->func = func;
    job->wait_ctx = pn::WaitCtx::from_c(ctx);
  }
  return pn::internal::run_job(job, job_handle, ret);
}

int(PN_ASYNC_pause_job)(void) {
  PN_internal_job_thread& state = pn::internal::thread_state();
  auto* job = static_cast<Job*>(state.current);
  if (job == nullptr || state.blocked != 0) {
    return 1;  // not in a job (or blocked): pausing is a successful no-op, as in OpenSSL
  }
  job->set_state(JobState::kPausing);
  pn::internal::fiber_switch(&job->stack_pointer, job->fiber, state.dispatcher_stack_pointer,
                             pn::internal::dispatcher_fiber);
  return 1;
}

void PN_internal_job_reset_wait_ctx(PN_internal_job* job) {
  pn::internal::reset_wait_ctx(*static_cast<Job*>(job));
}

int PN_internal_job_finish(PN_internal_job* head, PN_ASYNC_JOB** job_handle, int* ret) {
  auto* job = static_cast<Job*>(head);
  *ret = job->ret;
  // The pool the job came from may have been freed by cleanup_thread while it was paused.
  if (ThreadJobs* jobs = pn::internal::thread_jobs(); jobs != nullptr) {
    jobs->release(job);
  } else {
    pn::internal::delete_job(job);
  }
  *job_handle = nullptr;
  return PN_ASYNC_FINISH;
}

PN_ASYNC_JOB* PN_ASYNC_get_current_job(void) {
  auto* job = static_cast<Job*>(pn::internal::thread_state().current);
  return job == nullptr ? nullptr : job->handle();
}

PN_ASYNC_WAIT_CTX* PN_ASYNC_get_wait_ctx(PN_ASYNC_JOB* job) {
  if (job == nullptr) return nullptr;
  auto* ctx = static_cast<pn::WaitCtx*>(Job::from_handle(job)->wait_ctx);
  return ctx == nullptr ? nullptr : ctx->c_handle();
}

void PN_ASYNC_block_pause(void) {
  PN_internal_job_thread& state = pn::internal::thread_state();
  if (state.current == nullptr) return;
  ++state.blocked;
}

void PN_ASYNC_unblock_pause(void) {
  PN_internal_job_thread& state = pn::internal::thread_state();
  if (state.current == nullptr || state.blocked == 0) return;
  --state.blocked;
}

int PN_ASYNC_is_capable(void) { return 1; }

size_t PN_ASYNC_get_max_jobs(void) { return pn::internal::max_jobs(); }

}  // extern "C"
