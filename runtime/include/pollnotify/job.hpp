// pollnotify async jobs (C++): the OpenSSL job API over stackful fibers.
//
// A job is a function running on its own stack. start() runs it until it pauses (an engine is
// waiting for hardware) or returns; a later start() with the same job resumes it after the
// pause. Pause and resume are one hand-written register switch each.
//
// Threads: all calls act on the calling thread's pool and current job. A job is resumed on the
// thread that started it. Memory ordering: pause and resume happen on one thread, so no fences
// are involved; a callback on another thread must hand the job over with release/acquire (for
// example through pn::MpscQueue).
#pragma once

#include <cstddef>
#include <type_traits>

#include "pollnotify/async_job.h"
#include "pollnotify/wait_ctx.hpp"

namespace pn {

using AsyncJob = PN_ASYNC_JOB;

enum class JobStatus : int {
  kErr = PN_ASYNC_ERR,         // bad arguments or out of memory
  kNoJobs = PN_ASYNC_NO_JOBS,  // pool exhausted
  kPause = PN_ASYNC_PAUSE,     // paused; resume with the same job
  kFinish = PN_ASYNC_FINISH,   // returned; result in ret, job reset to nullptr
};

namespace jobs {

// A job body stored in the job's argument buffer: copied bytewise, so it must be trivially
// copyable (a lambda capturing pointers and integers is).
template <class F>
concept JobBody = std::is_trivially_copyable_v<F> && std::is_invocable_r_v<int, F&> &&
                  alignof(F) <= alignof(std::max_align_t);

[[nodiscard]] inline bool init_thread(std::size_t max_size, std::size_t init_size) noexcept {
  return PN_ASYNC_init_thread(max_size, init_size) == 1;
}
inline void cleanup_thread() noexcept { PN_ASYNC_cleanup_thread(); }

// Starts fn(copy of args) when job is nullptr, else resumes it.
[[nodiscard]] inline JobStatus start(AsyncJob*& job, WaitCtx* ctx, int& ret, int (*fn)(void*),
                                     const void* args, std::size_t size) noexcept {
  return static_cast<JobStatus>(PN_ASYNC_start_job(&job, ctx ? ctx->c_handle() : nullptr, &ret, fn,
                                                   const_cast<void*>(args), size));
}

// Starts body() as a new job when job is nullptr, else resumes it (body unused then).
template <JobBody F>
[[nodiscard]] JobStatus start(AsyncJob*& job, WaitCtx* ctx, int& ret, const F& body) noexcept {
  return start(
      job, ctx, ret, [](void* stored) { return (*static_cast<F*>(stored))(); }, &body, sizeof body);
}

// Resumes a paused job.
[[nodiscard]] inline JobStatus resume(AsyncJob*& job, int& ret) noexcept {
  if (job == nullptr) return JobStatus::kErr;
  return start(job, nullptr, ret, nullptr, nullptr, 0);
}

// Inside a job: pause until resumed. Elsewhere (or while blocked): returns at once.
inline void pause() noexcept { (void)PN_ASYNC_pause_job(); }
[[nodiscard]] inline AsyncJob* current() noexcept { return PN_ASYNC_get_current_job(); }
[[nodiscard]] inline WaitCtx* wait_ctx(AsyncJob* job) noexcept {
  return WaitCtx::from_c(PN_ASYNC_get_wait_ctx(job));
}
[[nodiscard]] inline bool is_capable() noexcept { return PN_ASYNC_is_capable() == 1; }

// Blocks pausing for its lifetime (nests).
class PauseBlocker {
 public:
  PauseBlocker() noexcept { PN_ASYNC_block_pause(); }
  ~PauseBlocker() { PN_ASYNC_unblock_pause(); }
  PauseBlocker(const PauseBlocker&) = delete;
  PauseBlocker& operator=(const PauseBlocker&) = delete;
};

}  // namespace jobs
}  // namespace pn
