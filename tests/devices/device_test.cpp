// The Device interface: a runtime drives a device written in C++ or in C (a table of
// functions) exactly as it drives the simulator: submit results, poll sources, stats, teardown.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "pollnotify/c_device.hpp"
#include "pollnotify/device.h"
#include "pollnotify/job_driver.hpp"
#include "pollnotify/runtime.h"
#include "pollnotify/runtime.hpp"

namespace {

// A polled device in C++: a locked queue drained by one poll source on poller 0.
class QueueDevice final : public pn::Device {
 public:
  explicit QueueDevice(pn::Poller& poller)
      : poller_(poller), source_(*this), ring_(poller.acquire_ring()) {
    poller.add_source(source_);
  }
  ~QueueDevice() override { (void)poller_.remove_source(source_); }  // the pollers have stopped
  pn::SubmitResult submit(pn::WaitCtx& ctx, std::uint64_t user_data) noexcept override {
    std::lock_guard lock(mutex_);
    if (queue_.size() == 4) {
      ctx.set_status(pn::AsyncStatus::kEagain);
      return pn::SubmitResult::kRetry;
    }
    ctx.set_status(pn::AsyncStatus::kOk);
    queue_.push_back(pn::Completion{&ctx, user_data, ctx.arm(), PN_ASYNC_STATUS_OK, 7});
    return pn::SubmitResult::kAccepted;
  }
  [[nodiscard]] std::uint64_t capacity() const noexcept override { return 4; }
  [[nodiscard]] std::uint64_t in_flight() const noexcept override {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }
  [[nodiscard]] pn::DeviceStats stats() const noexcept override {
    pn::DeviceStats stats;
    stats.in_flight = in_flight();
    return stats;
  }
  [[nodiscard]] std::string_view name() const noexcept override { return "queue"; }

 private:
  struct Source final : pn::PollSource {
    explicit Source(QueueDevice& owner) : device(owner) {}
    std::size_t poll() override {
      std::lock_guard lock(device.mutex_);
      std::size_t pushed = 0;
      while (!device.queue_.empty() && device.ring_.try_push(device.queue_.front())) {
        device.queue_.pop_front();
        ++pushed;
      }
      return pushed;
    }
    std::uint64_t pending_ns() override { return device.in_flight() != 0 ? 1 : 0; }
    QueueDevice& device;
  };
  pn::Poller& poller_;
  mutable std::mutex mutex_;
  std::deque<pn::Completion> queue_;
  Source source_;
  pn::CompletionRing& ring_;
};

int add_result(void* arg, const PN_COMPLETION* completion) {
  static_cast<std::atomic<std::int64_t>*>(arg)->fetch_add(
      static_cast<std::int64_t>(completion->user_data) + completion->result,
      std::memory_order_relaxed);
  return 1;
}

TEST(Device, RuntimeDrivesACppDevice) {
  pn::RuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kExternal;
  pn::Runtime runtime(options);
  EXPECT_EQ(runtime.submit(*pn::WaitCtx::make()), pn::SubmitResult::kFailed) << "no device yet";
  pn::Device& device = runtime.add_device(std::make_unique<QueueDevice>(runtime.poller(0)));
  EXPECT_EQ(device.name(), "queue");
  std::atomic<std::int64_t> sum{0};
  auto ctx = pn::WaitCtx::make();
  ctx->set_completion_callback(add_result, &sum);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(runtime.submit(*ctx, 100), pn::SubmitResult::kAccepted);
  EXPECT_EQ(runtime.submit(*ctx, 100), pn::SubmitResult::kRetry);
  EXPECT_EQ(ctx->status(), PN_ASYNC_STATUS_EAGAIN);
  EXPECT_EQ(runtime.in_flight(), 4U);
  ASSERT_TRUE(runtime.start());
  ASSERT_TRUE(runtime.stop());  // drains through the poll source
  EXPECT_EQ(sum.load(std::memory_order_relaxed), 4 * 107);
  EXPECT_EQ(runtime.stats().devices.size(), 1U);
  EXPECT_THROW(runtime.add_device(nullptr), std::invalid_argument);
}

constexpr pn::RetryPolicy kRetryForever{std::numeric_limits<unsigned>::max()};

TEST(Device, JobDriverOffloadsToAnyDevice) {
  pn::RuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kAdaptive;
  pn::Runtime runtime(options);
  pn::Device& device = runtime.add_device(std::make_unique<QueueDevice>(runtime.poller(0)));
  ASSERT_TRUE(runtime.start());
  pn::JobDriver driver(8);
  for (int j = 0; j < 8; ++j) {
    ASSERT_NE(driver.start([&device] {
      for (int i = 0; i < 20; ++i) {
        // Retries without a practical bound: a count of retries is a time limit, and one that a
        // starved poller can outlast (1'000'000 fast resumes last about 10 ms).
        if (pn::offload_in_job(device, 1, kRetryForever) != pn::SubmitResult::kAccepted) return 0;
      }
      return 1;
    }),
              pn::JobStatus::kNoJobs);
  }
  EXPECT_EQ(driver.run_until_idle(), 8U);
  EXPECT_EQ(driver.result_sum(), 8);
  ASSERT_TRUE(runtime.stop());
}

// A C device whose submit and poll are counted; checked through the C runtime API.
struct CCounts {
  int submits = 0, destroyed = 0;
};

int c_submit(void* raw, PN_ASYNC_WAIT_CTX*, uint64_t) {
  ++static_cast<CCounts*>(raw)->submits;
  return -EAGAIN;
}
uint64_t c_capacity(void*) { return 1; }
uint64_t c_in_flight(void*) { return 0; }
void c_destroy(void* raw) { ++static_cast<CCounts*>(raw)->destroyed; }

// A device whose requests never finish (its in_flight() stays 1 until the test says otherwise).
class StuckDevice final : public pn::Device {
 public:
  explicit StuckDevice(std::atomic<std::uint64_t>& in_flight) : in_flight_(in_flight) {}
  pn::SubmitResult submit(pn::WaitCtx& ctx, std::uint64_t) noexcept override {
    ctx.set_status(pn::AsyncStatus::kErr);
    return pn::SubmitResult::kFailed;
  }
  [[nodiscard]] std::uint64_t capacity() const noexcept override { return 1; }
  [[nodiscard]] std::uint64_t in_flight() const noexcept override {
    return in_flight_.load(std::memory_order_relaxed);  // relaxed: a test's flag
  }
  [[nodiscard]] pn::DeviceStats stats() const noexcept override { return {}; }
  [[nodiscard]] std::string_view name() const noexcept override { return "stuck"; }

 private:
  std::atomic<std::uint64_t>& in_flight_;
};

// stop() waits at most stop_timeout for a device that never drains, then reports what it left;
// the C API says so with -ETIMEDOUT and the reason. If stop() does not return within 10 s the
// device is made to drain, so a broken stop fails here instead of hanging.
TEST(Device, StopIsBoundedWhenADeviceNeverDrains) {
  std::atomic<std::uint64_t> stuck{1};
  pn::RuntimeOptions options;
  options.stop_timeout = std::chrono::milliseconds(200);
  auto runtime = std::make_unique<pn::Runtime>(options);
  runtime->add_device(std::make_unique<StuckDevice>(stuck));
  ASSERT_TRUE(runtime->start());
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    EXPECT_TRUE(runtime->stop());
    stopped.store(true, std::memory_order_release);  // DVT-R1: pairs with DVT-A1
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  // DVT-A1: pairs with DVT-R1.
  while (!stopped.load(std::memory_order_acquire) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  const bool bounded = stopped.load(std::memory_order_acquire);  // DVT-A1, as above
  stuck.store(0, std::memory_order_relaxed);
  stopper.join();
  ASSERT_TRUE(bounded) << "stop() waited past its timeout";
  EXPECT_EQ(runtime->stop_left_in_flight(), 1U);

  stuck.store(1, std::memory_order_relaxed);
  PN_RUNTIME* handle = pn::to_c_handle(std::move(runtime));
  ASSERT_NE(handle, nullptr);
  ASSERT_EQ(PN_RUNTIME_start(handle), 0);
  EXPECT_EQ(PN_RUNTIME_stop(handle), -ETIMEDOUT);
  EXPECT_NE(std::string(PN_get_last_error()).find("still in flight"), std::string::npos)
      << PN_get_last_error();
  stuck.store(0, std::memory_order_relaxed);
  PN_RUNTIME_free(handle);

  pn::RuntimeOptions bad;
  bad.stop_timeout = std::chrono::nanoseconds(0);
  EXPECT_THROW(pn::Runtime{bad}, std::invalid_argument);
}

TEST(Device, CTableThroughTheCRuntime) {
  PN_POLLER_OPTIONS options;
  PN_POLLER_OPTIONS_init(&options);
  options.policy = PN_POLL_EXTERNAL;
  PN_RUNTIME* runtime = PN_RUNTIME_new(2, &options);
  ASSERT_NE(runtime, nullptr) << PN_get_last_error();
  EXPECT_EQ(PN_RUNTIME_poller_count(runtime), 2U);
  EXPECT_NE(PN_RUNTIME_get_poller(runtime, 1), nullptr);
  EXPECT_EQ(PN_RUNTIME_get_poller(runtime, 2), nullptr);
  CCounts counts;
  PN_DEVICE_METHOD method{};
  method.struct_size = sizeof method;
  EXPECT_EQ(PN_RUNTIME_add_device(runtime, &method, &counts), -EINVAL) << "no submit";
  EXPECT_NE(std::string(PN_get_last_error()).find("submit"), std::string::npos);
  method.submit = c_submit;
  method.capacity = c_capacity;
  method.in_flight = c_in_flight;
  method.destroy = c_destroy;
  ASSERT_EQ(PN_RUNTIME_add_device(runtime, &method, &counts), 0) << PN_get_last_error();
  EXPECT_EQ(PN_RUNTIME_device_count(runtime), 1U);
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  EXPECT_EQ(PN_RUNTIME_submit(runtime, ctx, 0), -EAGAIN);
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_status(ctx), PN_ASYNC_STATUS_EAGAIN);
  EXPECT_EQ(PN_RUNTIME_submit_to(runtime, 0, ctx, 0), -EAGAIN);
  EXPECT_EQ(PN_RUNTIME_submit_to(runtime, 1, ctx, 0), -EINVAL) << "no device 1";
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_status(ctx), PN_ASYNC_STATUS_ERR);
  EXPECT_EQ(counts.submits, 2);
  ASSERT_EQ(PN_RUNTIME_start(runtime), 0);
  EXPECT_EQ(PN_RUNTIME_add_device(runtime, &method, &counts), -EBUSY) << "after start";
  EXPECT_EQ(PN_RUNTIME_stop(runtime), 0);
  PN_RUNTIME_free(runtime);
  EXPECT_EQ(counts.destroyed, 1);
  PN_ASYNC_WAIT_CTX_free(ctx);
  EXPECT_EQ(PN_RUNTIME_new(0, nullptr), nullptr);
}

}  // namespace
