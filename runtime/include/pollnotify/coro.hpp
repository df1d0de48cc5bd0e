// pollnotify coroutines: co_await a device submission and be resumed from the poller's callback,
// for users who prefer C++20 coroutines to stackful jobs.
//
//   pn::CoOffload offload(device);                 // one wait context, reused per await
//   pn::AsyncStatus status = co_await offload.submit(user_data);
//
// The awaiting coroutine resumes with the completion's status (kOk or kErr), or at once with
// kEagain (device full: retry) or kErr (submission failed). Where it resumes:
//   - no resume queue: inside the callback, on the poller thread (keep the code up to the next
//     co_await short and nonblocking, as for any callback);
//   - with a MpscQueue: the callback queues the coroutine and the thread that drains the queue
//     resumes it (call resume_ready()).
//
// Threads: one coroutine awaits a CoOffload at a time. Memory ordering: everything written
// before co_await submit() is visible to the callback, and everything the device/callback wrote
// is visible after the coroutine resumes (ring, then MpscQueue or the callback's own thread).
#pragma once

#include <coroutine>
#include <cstdint>
#include <exception>

#include "pollnotify/device.hpp"
#include "pollnotify/mpsc_queue.hpp"

namespace pn {

class CoOffload {
 public:
  explicit CoOffload(Device& device, MpscQueue<std::coroutine_handle<>>* resume_queue = nullptr)
      : device_(device), resume_queue_(resume_queue), ctx_(WaitCtx::make()) {
    ctx_->set_callback(&CoOffload::on_complete, this);
  }
  CoOffload(const CoOffload&) = delete;
  CoOffload& operator=(const CoOffload&) = delete;

  class Awaiter {
   public:
    bool await_ready() const noexcept { return false; }
    // Returns false (resume at once) when the device refused or failed the submission.
    bool await_suspend(std::coroutine_handle<> awaiting) noexcept {
      owner_.waiting_ = awaiting;  // before submit: the callback may run before submit returns
      // After an accepted submit nothing here touches *this or the frame: the coroutine may
      // already be running again on the poller thread.
      return owner_.device_.submit(*owner_.ctx_, user_data_) == SubmitResult::kAccepted;
    }
    AsyncStatus await_resume() const noexcept {
      return static_cast<AsyncStatus>(owner_.ctx_->status());
    }

   private:
    friend class CoOffload;
    Awaiter(CoOffload& owner, std::uint64_t user_data) : owner_(owner), user_data_(user_data) {}
    CoOffload& owner_;
    std::uint64_t user_data_;
  };

  [[nodiscard]] Awaiter submit(std::uint64_t user_data = 0) noexcept {
    return Awaiter(*this, user_data);
  }
  [[nodiscard]] WaitCtx& wait_ctx() noexcept { return *ctx_; }

 private:
  static int on_complete(void* self) {
    auto* offload = static_cast<CoOffload*>(self);
    const std::coroutine_handle<> waiting = offload->waiting_;
    if (offload->resume_queue_ != nullptr) return offload->resume_queue_->try_push(waiting) ? 1 : 0;
    waiting.resume();
    return 1;
  }

  Device& device_;
  MpscQueue<std::coroutine_handle<>>* resume_queue_;
  WaitCtxPtr ctx_;
  std::coroutine_handle<> waiting_;
};

// Resumes every coroutine queued in `queue`; returns how many. The thread that owns the queue.
inline std::size_t resume_ready(MpscQueue<std::coroutine_handle<>>& queue) {
  std::size_t resumed = 0;
  std::coroutine_handle<> handle;
  while (queue.try_pop(handle)) {
    handle.resume();
    ++resumed;
  }
  return resumed;
}

// A minimal fire-and-forget coroutine: starts at once, frees its frame when it returns.
// Exceptions escaping the body terminate (there is nobody to report them to).
struct DetachedTask {
  struct promise_type {
    DetachedTask get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

}  // namespace pn
