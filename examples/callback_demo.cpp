// The smallest end-to-end picture of callback notification: a job pauses waiting for "hardware"
// (a thread standing in for a device), the device thread fires the wait context's callback, the
// callback hands the job back to the application thread, which resumes it.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "pollnotify/job.hpp"
#include "pollnotify/wait_ctx.hpp"

namespace {

struct Request {
  pn::WaitCtx* ctx = nullptr;
  pn::RequestTicket ticket{};
  std::atomic<bool> submitted{false};
  std::atomic<bool> job_ready{false};
  std::thread::id callback_thread;
  int result = 0;
};

int on_completion(void* arg) {
  auto* request = static_cast<Request*>(arg);
  request->callback_thread = std::this_thread::get_id();
  // DEMO-R1: publishes the result to the resuming thread; pairs with DEMO-A1.
  request->job_ready.store(true, std::memory_order_release);
  return 1;
}

}  // namespace

int main() {
  auto ctx = pn::WaitCtx::make();
  Request request;
  request.ctx = ctx.get();
  ctx->set_callback(on_completion, &request);

  std::thread device([&] {
    // DEMO-A2: pairs with DEMO-R2: the ticket is visible.
    while (!request.submitted.load(std::memory_order_acquire)) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::microseconds(50));  // "hardware latency"
    request.result = 42;
    (void)request.ctx->deliver(request.ticket, pn::AsyncStatus::kOk);
  });

  const auto start = std::chrono::steady_clock::now();
  pn::AsyncJob* job = nullptr;
  int ret = 0;
  auto body = [&request] {
    request.ticket = request.ctx->arm();
    request.submitted.store(true, std::memory_order_release);  // DEMO-R2: publishes the ticket
    pn::jobs::pause();                                         // wait for the device
    return request.result;
  };
  auto status = pn::jobs::start(job, ctx.get(), ret, body);
  std::printf("job started on thread %zu: %s\n",
              std::hash<std::thread::id>{}(std::this_thread::get_id()) % 1000,
              status == pn::JobStatus::kPause ? "paused, waiting for the device" : "did not pause");
  // DEMO-A1: pairs with DEMO-R1.
  while (!request.job_ready.load(std::memory_order_acquire)) std::this_thread::yield();
  status = pn::jobs::resume(job, ret);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  device.join();
  std::printf(
      "callback fired on thread %zu with status %d; job resumed and %s with %d after %lld us\n",
      std::hash<std::thread::id>{}(request.callback_thread) % 1000, ctx->status(),
      status == pn::JobStatus::kFinish ? "finished" : "failed", ret,
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()));
  pn::jobs::cleanup_thread();
  return status == pn::JobStatus::kFinish && ret == 42 ? 0 : 1;
}
