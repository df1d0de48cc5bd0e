#include "pollnotify/job_driver.hpp"

#include <stdexcept>

namespace pn {

SubmitResult offload_in_job(Device& device, std::uint64_t user_data, RetryPolicy policy) {
  AsyncJob* job = jobs::current();
  WaitCtx* ctx = job != nullptr ? jobs::wait_ctx(job) : nullptr;
  if (ctx == nullptr) return SubmitResult::kFailed;
  for (unsigned attempt = 0;; ++attempt) {
    const SubmitResult result = device.submit(*ctx, user_data);
    if (result == SubmitResult::kFailed) return result;
    if (result == SubmitResult::kRetry && attempt == policy.max_retries) return result;
    jobs::pause();  // accepted: until the callback; refused: until the driver's retry
    if (result == SubmitResult::kAccepted) return result;
  }
}

JobDriver::JobDriver(std::size_t max_jobs) : ready_(max_jobs == 0 ? 1 : max_jobs) {
  if (max_jobs == 0) throw std::invalid_argument("JobDriver: max_jobs must be > 0");
  for (std::size_t i = 0; i < max_jobs; ++i) {
    slots_.push_back(std::make_unique<Slot>());
    Slot& slot = *slots_.back();
    slot.driver = this;
    slot.index = i;
    slot.ctx = WaitCtx::make();
    slot.ctx->set_callback(&JobDriver::on_complete, &slot);
    free_slots_.push_back(&slot);
  }
}

JobDriver::~JobDriver() {
  run_until_idle();  // a paused job's stack must not be abandoned
}

int JobDriver::on_complete(void* raw) {
  auto* slot = static_cast<Slot*>(raw);
  // Capacity equals the number of slots and a slot is queued at most once at a time.
  return slot->driver->ready_.try_push(slot) ? 1 : 0;
}

JobStatus JobDriver::start(int (*fn)(void*), const void* args, std::size_t size) {
  if (free_slots_.empty()) return JobStatus::kNoJobs;
  return start_in(*free_slots_.back(), fn, args, size);
}

JobStatus JobDriver::start_on(std::size_t slot, int (*fn)(void*), const void* args,
                              std::size_t size) {
  Slot& chosen = *slots_.at(slot);
  if (chosen.in_use) return JobStatus::kNoJobs;
  return start_in(chosen, fn, args, size);
}

JobStatus JobDriver::start_in(Slot& slot, int (*fn)(void*), const void* args, std::size_t size) {
  int ret = 0;
  AsyncJob* job = nullptr;
  const JobStatus status = jobs::start(job, slot.ctx.get(), ret, fn, args, size);
  if (status == JobStatus::kErr || status == JobStatus::kNoJobs) return status;
  std::erase(free_slots_, &slot);
  slot.in_use = true;
  slot.job = job;
  ++running_;
  after_switch(slot, status, ret);
  return status;
}

JobStatus JobDriver::resume(std::size_t slot) {
  Slot& chosen = *slots_.at(slot);
  if (!chosen.in_use) return JobStatus::kErr;
  std::erase(retry_, &chosen);  // resumed now, not again as a retry
  return resume_slot(chosen, callback_resumes_);
}

JobStatus JobDriver::resume_slot(Slot& slot, std::uint64_t& counter) {
  int ret = 0;
  const JobStatus status = jobs::resume(slot.job, ret);
  ++counter;
  after_switch(slot, status, ret);
  return status;
}

std::size_t JobDriver::resume_retries() {
  std::vector<Slot*> retry;
  retry.swap(retry_);
  for (Slot* slot : retry) (void)resume_slot(*slot, retry_resumes_);
  return retry.size();
}

void JobDriver::after_switch(Slot& slot, JobStatus status, int ret) {
  if (status == JobStatus::kFinish) {
    ++finished_;
    result_sum_ += ret;
    slot.in_use = false;
    slot.job = nullptr;
    free_slots_.push_back(&slot);
    --running_;
    return;
  }
  // Paused. EAGAIN (set by the device at submission) means no callback is coming: retry soon.
  if (slot.ctx->status() == PN_ASYNC_STATUS_EAGAIN) retry_.push_back(&slot);
}

std::size_t JobDriver::run_ready() {
  std::size_t resumed = resume_retries();
  Slot* slot = nullptr;
  while (ready_.try_pop(slot)) {
    (void)resume_slot(*slot, callback_resumes_);
    ++resumed;
  }
  return resumed;
}

std::size_t JobDriver::run_until_idle() {
  const std::uint64_t finished_before = finished_;
  while (running_ != 0) {
    if (run_ready() != 0 || !retry_.empty()) continue;
    Slot* slot = nullptr;
    if (ready_.pop_wait(slot, std::chrono::milliseconds(100))) {
      (void)resume_slot(*slot, callback_resumes_);
    }
  }
  return static_cast<std::size_t>(finished_ - finished_before);
}

}  // namespace pn
