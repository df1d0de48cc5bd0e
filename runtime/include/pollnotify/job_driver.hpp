// pollnotify job driver: the application side of callback notification with stackful jobs.
//
// The thread that owns a JobDriver runs many jobs. Each job gets its own wait context whose
// callback pushes the job into the driver's ready queue; the driver resumes ready jobs on its
// thread. The protocol, per request:
//   1. the job submits (Device::submit sets the context's status) and pauses;
//   2. start/resume returns PAUSE to the driver; if the status is EAGAIN no callback will come,
//      so the driver resumes the job at once (it retries); otherwise it waits;
//   3. the poller delivers the completion: status set, callback pushes the job (any thread);
//   4. the driver pops the job and resumes it; the job reads the status and its result.
// A callback that fires before the job has finished pausing (hardware faster than the switch)
// is harmless: the job sits in the queue until the driver, which is the thread running the job,
// has seen it pause; each callback queues the job exactly once, so it is resumed exactly once.
//
// Threads: everything but the callback runs on the owner thread. Memory ordering: what the device
// and the callback wrote before the push is visible to the job after its resume (MpscQueue).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "pollnotify/device.hpp"
#include "pollnotify/job.hpp"
#include "pollnotify/mpsc_queue.hpp"
#include "pollnotify/wait_ctx.hpp"

namespace pn {

// How often a job retries a submission the device refused (EAGAIN) before giving up. The QAT
// engine retries forever in async mode; a bound turns a stuck device into an error the job sees.
struct RetryPolicy {
  unsigned max_retries = 1'000'000;
};

// Inside a job: submits a request for the job's wait context and pauses until its completion.
// After an EAGAIN the job pauses (a JobDriver resumes it at once) and retries, at most
// policy.max_retries times. Returns kAccepted once the completion was delivered (its status, OK or
// ERR, is in the context), kRetry when it gave up (status EAGAIN), kFailed when the submission
// failed (status ERR). Outside a job, or in a job without a wait context: kFailed.
SubmitResult offload_in_job(Device& device, std::uint64_t user_data, RetryPolicy policy = {});

class JobDriver {
 public:
  // Up to max_jobs jobs at once, from the calling thread's job pool. Throws std::invalid_argument
  // for 0.
  explicit JobDriver(std::size_t max_jobs);
  ~JobDriver();
  JobDriver(const JobDriver&) = delete;
  JobDriver& operator=(const JobDriver&) = delete;

  // Starts fn(copy of args) as a job with a fresh wait context and runs it until it pauses or
  // finishes. kNoJobs when max_jobs are running.
  JobStatus start(int (*fn)(void*), const void* args, std::size_t size);
  template <jobs::JobBody F>
  JobStatus start(const F& body) {
    return start(&call_body<F>, &body, sizeof body);
  }

  // Resumes ready jobs until none is running; waits (parks) while all are waiting for hardware.
  // Returns how many jobs finished.
  std::size_t run_until_idle();
  // One pass: resumes the jobs ready now. Returns how many it resumed.
  std::size_t run_ready();

  // --- For an application notified another way (an eventfd per context, a condition variable,
  // its own callback): it sets up context(slot) before it starts a job there with start_on(),
  // calls resume(slot) for each notification, and resume_retries() for the jobs a device refused
  // (EAGAIN: no notification comes). Slots are numbered 0 .. max_jobs - 1.
  // Throws std::out_of_range past max_jobs.
  [[nodiscard]] WaitCtx& context(std::size_t slot) const { return *slots_.at(slot)->ctx; }
  // kNoJobs when a job runs on the slot already.
  JobStatus start_on(std::size_t slot, int (*fn)(void*), const void* args, std::size_t size);
  template <jobs::JobBody F>
  JobStatus start_on(std::size_t slot, const F& body) {
    return start_on(slot, &call_body<F>, &body, sizeof body);
  }
  // Resumes the job paused on the slot; kErr when there is none.
  JobStatus resume(std::size_t slot);
  // Resumes the jobs whose submission was refused; returns how many.
  std::size_t resume_retries();
  [[nodiscard]] bool retries_pending() const noexcept { return !retry_.empty(); }

  [[nodiscard]] std::size_t running() const noexcept { return running_; }
  // How many times each finished job was resumed by a callback, summed (for exactly-once checks).
  [[nodiscard]] std::uint64_t callback_resumes() const noexcept { return callback_resumes_; }
  [[nodiscard]] std::uint64_t retry_resumes() const noexcept { return retry_resumes_; }
  [[nodiscard]] std::uint64_t finished() const noexcept { return finished_; }
  // Sum of the finished jobs' return values.
  [[nodiscard]] std::int64_t result_sum() const noexcept { return result_sum_; }

 private:
  struct Slot {
    JobDriver* driver = nullptr;
    std::size_t index = 0;
    WaitCtxPtr ctx;
    AsyncJob* job = nullptr;
    bool in_use = false;
  };
  // A callable's copy, stored in the job's arguments, called as the job function.
  template <class F>
  static int call_body(void* stored) {
    return (*static_cast<F*>(stored))();
  }
  static int on_complete(void* slot);
  JobStatus start_in(Slot& slot, int (*fn)(void*), const void* args, std::size_t size);
  JobStatus resume_slot(Slot& slot, std::uint64_t& counter);
  void after_switch(Slot& slot, JobStatus status, int ret);

  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Slot*> free_slots_;
  std::vector<Slot*> retry_;
  MpscQueue<Slot*> ready_;
  std::size_t running_ = 0;
  std::uint64_t callback_resumes_ = 0;
  std::uint64_t retry_resumes_ = 0;
  std::uint64_t finished_ = 0;
  std::int64_t result_sum_ = 0;
};

}  // namespace pn
