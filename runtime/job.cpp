// OpenSSL's job semantics (crypto/async/async.c) on pollnotify fibers.
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

namespace pn::internal {
namespace {

enum class JobState : std::uint8_t {
  kIdle,      // in a pool, no function
  kRunning,   // on this thread's CPU right now
  kPausing,   // pause_job switched to the dispatcher; start_job turns it into kPaused
  kPaused,    // waiting to be resumed by start_job
  kStopping,  // the function returned; start_job reports FINISH and pools the job
};

struct Job {
  FiberContext fiber;
  FiberStack stack;
  FiberContext* dispatcher = nullptr;  // where pause and finish return to
  int (*func)(void*) = nullptr;
  void* args = nullptr;
  std::unique_ptr<unsigned char[]> heap_args;
  std::size_t heap_args_capacity = 0;
  alignas(std::max_align_t) unsigned char inline_args[64];
  int ret = 0;
  JobState state = JobState::kIdle;  // the owner thread only
  WaitCtx* wait_ctx = nullptr;
  // The thread whose pool created the job; it never changes, and jobs never leave that thread.
  // Atomic because another thread may pass the handle to start_job, which must refuse it
  // without touching the owner's state.
  std::atomic<std::uint64_t> owner_thread{0};
  std::uint64_t pool_epoch = 0;
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
  fiber_entered(*job->dispatcher);
  for (;;) {  // a pooled job runs its next function on the same fiber
    job->ret = job->func(job->args);
    job->state = JobState::kStopping;
    fiber_switch(job->fiber, *job->dispatcher);
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
      fiber_init(job->fiber, job->stack, &job_main, job);
      job->owner_thread.store(this_thread_token(), std::memory_order_relaxed);
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
  FiberContext dispatcher;
  Job* current = nullptr;
  unsigned blocked = 0;
  std::size_t max_size = 0;  // 0: unlimited
  std::size_t in_use = 0;
  std::vector<Job*> idle;
  std::uint64_t epoch = next_pool_epoch();

  ThreadJobs() { fiber_init_thread(dispatcher); }
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
    job->state = JobState::kIdle;
    job->wait_ctx = nullptr;
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

// The per-thread state is one trivially destructible block in the initial-exec TLS model, so
// the hot path reads it with one %fs-relative load (no __tls_get_addr call, no init guard).
struct ThreadState {
  ThreadJobs* jobs;
  std::uint64_t token;  // identifies the OS thread across pool re-creation (cleanup_thread)
};
__attribute__((tls_model("initial-exec"))) constinit thread_local ThreadState tls_state{nullptr, 0};

// Frees the pool when the thread exits; registered on the slow path that creates the pool.
struct ThreadExitHook {
  ~ThreadExitHook() {
    delete tls_state.jobs;
    tls_state.jobs = nullptr;
  }
};

std::uint64_t this_thread_token() noexcept {
  if (tls_state.token == 0) {
    static std::atomic<std::uint64_t> next_token{1};
    // Relaxed: only uniqueness matters.
    tls_state.token = next_token.fetch_add(1, std::memory_order_relaxed);
  }
  return tls_state.token;
}

[[gnu::noinline]] ThreadJobs* create_thread_jobs() noexcept {
  static thread_local ThreadExitHook exit_hook;
  (void)&exit_hook;
  tls_state.jobs = new (std::nothrow) ThreadJobs();
  return tls_state.jobs;
}

ThreadJobs* thread_jobs() noexcept {
  return tls_state.jobs != nullptr ? tls_state.jobs : create_thread_jobs();
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
  if (jobs == nullptr || jobs->in_use != 0 || jobs->current != nullptr) return 0;
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
  ThreadJobs*& jobs = pn::internal::tls_state.jobs;
  if (jobs != nullptr && jobs->current == nullptr) {
    delete jobs;
    jobs = nullptr;
  }
}

int PN_ASYNC_start_job(PN_ASYNC_JOB** job_handle, PN_ASYNC_WAIT_CTX* ctx, int* ret,
                       int (*func)(void*), void* args, size_t size) {
  if (job_handle == nullptr || ret == nullptr) return PN_ASYNC_ERR;
  ThreadJobs* jobs = pn::internal::thread_jobs();
  if (jobs == nullptr || jobs->current != nullptr) return PN_ASYNC_ERR;

  Job* job = reinterpret_cast<Job*>(*job_handle);
  if (job != nullptr) {
    // Relaxed: the owner never changes; only after it matches is the state ours to read.
    if (job->owner_thread.load(std::memory_order_relaxed) != pn::internal::this_thread_token() ||
        job->state != JobState::kPaused) {
      return PN_ASYNC_ERR;
    }
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

  job->state = JobState::kRunning;
  job->dispatcher = &jobs->dispatcher;
  jobs->current = job;
  pn::internal::fiber_switch(jobs->dispatcher, job->fiber);
  jobs->current = nullptr;

  if (job->state == JobState::kStopping) {
    *ret = job->ret;
    jobs->release(job);
    *job_handle = nullptr;
    return PN_ASYNC_FINISH;
  }
  job->state = JobState::kPaused;
  *job_handle = reinterpret_cast<PN_ASYNC_JOB*>(job);
  return PN_ASYNC_PAUSE;
}

int PN_ASYNC_pause_job(void) {
  ThreadJobs* jobs = pn::internal::tls_state.jobs;
  if (jobs == nullptr || jobs->current == nullptr || jobs->blocked != 0) {
    return 1;  // not in a job (or blocked): pausing is a successful no-op, as in OpenSSL
  }
  Job* job = jobs->current;
  job->state = JobState::kPausing;
  pn::internal::fiber_switch(job->fiber, *job->dispatcher);
  // Resumed: the wait context's change counts restart, as OpenSSL does on resume.
  if (job->wait_ctx != nullptr) job->wait_ctx->mark_resumed();
  return 1;
}

PN_ASYNC_JOB* PN_ASYNC_get_current_job(void) {
  ThreadJobs* jobs = pn::internal::tls_state.jobs;
  return jobs == nullptr ? nullptr : reinterpret_cast<PN_ASYNC_JOB*>(jobs->current);
}

PN_ASYNC_WAIT_CTX* PN_ASYNC_get_wait_ctx(PN_ASYNC_JOB* job) {
  if (job == nullptr) return nullptr;
  pn::WaitCtx* ctx = reinterpret_cast<Job*>(job)->wait_ctx;
  return ctx == nullptr ? nullptr : ctx->c_handle();
}

void PN_ASYNC_block_pause(void) {
  ThreadJobs* jobs = pn::internal::tls_state.jobs;
  if (jobs == nullptr || jobs->current == nullptr) return;
  ++jobs->blocked;
}

void PN_ASYNC_unblock_pause(void) {
  ThreadJobs* jobs = pn::internal::tls_state.jobs;
  if (jobs == nullptr || jobs->current == nullptr || jobs->blocked == 0) return;
  --jobs->blocked;
}

int PN_ASYNC_is_capable(void) { return 1; }

size_t PN_ASYNC_get_max_jobs(void) { return pn::internal::max_jobs(); }

}  // extern "C"
