// Simulated device and runtime: deterministic tests stepped by hand (external polling, a fake
// clock), then threaded end-to-end tests with jobs, coroutines and fd mode.
#include <gtest/gtest.h>
#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "pollnotify/coro.hpp"
#include "pollnotify/fd_bridge.hpp"
#include "pollnotify/job_driver.hpp"
#include "pollnotify/sim_runtime.h"
#include "pollnotify/sim_runtime.hpp"

namespace {

using namespace std::chrono_literals;

struct FakeClock {
  std::uint64_t now = 0;
  static std::uint64_t read(void* self) { return static_cast<FakeClock*>(self)->now; }
};

int count_call(void* arg) {
  static_cast<std::atomic<int>*>(arg)->fetch_add(1, std::memory_order_relaxed);
  return 1;
}

// Submits `count` requests, each for a fresh context whose callback counts into `calls`; returns
// the contexts of the accepted ones (they must outlive the completions).
std::vector<pn::WaitCtxPtr> submit_counted(pn::SimRuntime& runtime, int count,
                                           std::atomic<int>& calls) {
  std::vector<pn::WaitCtxPtr> contexts;
  for (int i = 0; i < count; ++i) {
    auto ctx = pn::WaitCtx::make();
    ctx->set_callback(count_call, &calls);
    if (runtime.submit(*ctx) == pn::SubmitResult::kAccepted) contexts.push_back(std::move(ctx));
  }
  return contexts;
}

// A runtime with one external poller and a polled device on a fake clock.
pn::SimRuntimeOptions stepped_options(FakeClock& clock, const char* latency,
                                      std::size_t capacity = 16) {
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kExternal;
  pn::DeviceInstanceOptions instance;
  instance.latency = pn::LatencyModel::parse(latency);
  instance.capacity = capacity;
  options.device.instances = {instance};
  options.device.clock = &FakeClock::read;
  options.device.clock_context = &clock;
  return options;
}

TEST(LatencyModel, ParsesEveryForm) {
  EXPECT_EQ(pn::LatencyModel::parse("zero").kind, pn::LatencyKind::kZero);
  const auto fixed = pn::LatencyModel::parse("fixed:2500");
  EXPECT_EQ(fixed.kind, pn::LatencyKind::kFixed);
  EXPECT_DOUBLE_EQ(fixed.first, 2500);
  const auto uniform = pn::LatencyModel::parse("uniform:10:20");
  EXPECT_DOUBLE_EQ(uniform.second, 20);
  EXPECT_EQ(pn::LatencyModel::parse("exp:5000").kind, pn::LatencyKind::kExponential);
  EXPECT_EQ(pn::LatencyModel::parse("lognormal:5000:0.5").kind, pn::LatencyKind::kLogNormal);
}

TEST(LatencyModel, RejectsBadSpecsWithAMessage) {
  for (const char* bad : {"", "fast", "fixed", "fixed:-3", "fixed:abc", "uniform:9:3", "exp:1:2",
                          "lognormal:0:1", "trace:/nonexistent/file"}) {
    try {
      (void)pn::LatencyModel::parse(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find("latency"), std::string::npos) << error.what();
    }
  }
}

TEST(LatencyModel, TraceReplaysValuesInOrder) {
  const std::string path = ::testing::TempDir() + "pn_trace.txt";
  {
    std::ofstream file(path);
    file << "# ns\n100\n300\n";
  }
  FakeClock clock;
  pn::SimRuntimeOptions options = stepped_options(clock, "zero");
  options.device.instances[0].latency = pn::LatencyModel::parse("trace:" + path);
  pn::SimRuntime runtime(options);
  std::atomic<int> calls{0};
  const auto contexts = submit_counted(runtime, 3, calls);
  ASSERT_EQ(contexts.size(), 3U);
  // Latencies 100, 300, 100 (cyclic): due at 100, 300, 100.
  clock.now = 100;
  EXPECT_EQ(runtime.poll_once(), 2U);
  clock.now = 299;
  EXPECT_EQ(runtime.poll_once(), 0U);
  clock.now = 300;
  EXPECT_EQ(runtime.poll_once(), 1U);
  std::remove(path.c_str());
}

TEST(SimDevice, FixedLatencyCompletesExactlyAtItsTime) {
  FakeClock clock;
  pn::SimRuntime runtime(stepped_options(clock, "fixed:1000"));
  auto ctx = pn::WaitCtx::make();
  std::atomic<int> calls{0};
  ctx->set_callback(count_call, &calls);
  ASSERT_EQ(runtime.submit(*ctx, 7), pn::SubmitResult::kAccepted);
  EXPECT_EQ(ctx->status(), PN_ASYNC_STATUS_OK) << "accepted: status OK";
  EXPECT_EQ(runtime.in_flight(), 1U);
  clock.now = 999;
  EXPECT_EQ(runtime.poll_once(), 0U);
  EXPECT_EQ(calls.load(std::memory_order_relaxed), 0);
  clock.now = 1000;
  EXPECT_EQ(runtime.poll_once(), 1U);
  EXPECT_EQ(calls.load(std::memory_order_relaxed), 1);
  EXPECT_EQ(runtime.in_flight(), 0U);
}

TEST(SimDevice, EnginesLimitSerializesRequests) {
  FakeClock clock;
  pn::SimRuntimeOptions options = stepped_options(clock, "fixed:1000");
  options.device.instances[0].engines = 1;
  pn::SimRuntime runtime(options);
  std::atomic<int> calls{0};
  const auto contexts = submit_counted(runtime, 3, calls);
  ASSERT_EQ(contexts.size(), 3U);
  for (std::uint64_t t : {1000, 2000, 3000}) {
    clock.now = t - 1;
    runtime.poll_once();
    EXPECT_EQ(calls.load(std::memory_order_relaxed), static_cast<int>(t / 1000) - 1);
    clock.now = t;
    runtime.poll_once();
    EXPECT_EQ(calls.load(std::memory_order_relaxed), static_cast<int>(t / 1000));
  }
}

TEST(SimDevice, CapacityBackPressureThenEveryRequestOnce) {
  FakeClock clock;
  pn::SimRuntime runtime(stepped_options(clock, "fixed:10", 2));
  std::atomic<int> calls[3] = {0, 0, 0};
  pn::WaitCtxPtr contexts[3] = {pn::WaitCtx::make(), pn::WaitCtx::make(), pn::WaitCtx::make()};
  for (int i = 0; i < 3; ++i) contexts[i]->set_callback(count_call, &calls[i]);
  ASSERT_EQ(runtime.submit(*contexts[0]), pn::SubmitResult::kAccepted);
  ASSERT_EQ(runtime.submit(*contexts[1]), pn::SubmitResult::kAccepted);
  EXPECT_EQ(runtime.submit(*contexts[2]), pn::SubmitResult::kRetry);
  EXPECT_EQ(contexts[2]->status(), PN_ASYNC_STATUS_EAGAIN);
  EXPECT_EQ(contexts[2]->in_flight(), 0U) << "a refused request holds no reference";
  clock.now = 10;
  EXPECT_EQ(runtime.poll_once(), 2U);
  ASSERT_EQ(runtime.submit(*contexts[2]), pn::SubmitResult::kAccepted) << "the retry is accepted";
  clock.now = 20;
  EXPECT_EQ(runtime.poll_once(), 1U);
  for (auto& count : calls) EXPECT_EQ(count.load(std::memory_order_relaxed), 1);
  const pn::DeviceStats stats = runtime.device().stats();
  EXPECT_EQ(stats.refused_full, 1U);
  EXPECT_EQ(stats.accepted, 3U);
  EXPECT_EQ(stats.completed, 3U);
}

// Zero latency: a request completes into the submitting thread's ring at once. Its one counter
// update shows in submitted, accepted and completed alike; a full ring refuses with EAGAIN.
TEST(SimDevice, ZeroLatencyCountsEachRequestOnceAndAFullRingRefuses) {
  FakeClock clock;
  pn::SimRuntimeOptions options = stepped_options(clock, "zero");
  options.poller.default_ring_capacity = 8;
  pn::SimRuntime runtime(options);
  std::atomic<int> calls{0};
  std::vector<pn::WaitCtxPtr> contexts = submit_counted(runtime, 8, calls);
  ASSERT_EQ(contexts.size(), 8U);
  auto refused = pn::WaitCtx::make();
  EXPECT_EQ(runtime.submit(*refused), pn::SubmitResult::kRetry) << "the ring is full";
  EXPECT_EQ(refused->status(), PN_ASYNC_STATUS_EAGAIN);
  EXPECT_EQ(refused->in_flight(), 0U);
  pn::DeviceStats stats = runtime.device().stats();
  EXPECT_EQ(stats.submitted, 9U);
  EXPECT_EQ(stats.accepted, 8U);
  EXPECT_EQ(stats.completed, 8U);
  EXPECT_EQ(stats.refused_full, 1U);
  EXPECT_EQ(stats.in_flight, 0U);
  EXPECT_EQ(runtime.poll_once(), 8U);
  EXPECT_EQ(calls.load(std::memory_order_relaxed), 8);
  ASSERT_EQ(runtime.submit(*refused), pn::SubmitResult::kAccepted) << "room again";
  EXPECT_EQ(refused->status(), PN_ASYNC_STATUS_OK);
  EXPECT_EQ(runtime.poll_once(), 1U);
  stats = runtime.device().stats();
  EXPECT_EQ(stats.submitted, 10U);
  EXPECT_EQ(stats.accepted, 9U);
  EXPECT_EQ(stats.completed, 9U);
}

// Every counter of the device table (PN_DEVICE_COUNTERS) is reported non-zero by the simulator
// after work that bumps it: a counter added to the table but kept nowhere fails here with its
// name (the drivers' DeviceCounters are built from the same table).
TEST(SimDevice, EveryDeviceCounterOfTheTableIsKept) {
  FakeClock clock;
  pn::SimRuntimeOptions options = stepped_options(clock, "fixed:1000");
  options.device.instances[0].capacity = 8;
  options.device.instances[0].error_rate = 0.3;
  options.device.instances[0].refuse_rate = 0.2;
  options.device.instances[0].fatal_rate = 0.1;
  pn::SimRuntime runtime(options);
  auto ctx = pn::WaitCtx::make();
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 10; ++i) (void)runtime.submit(*ctx);  // past the capacity: refused_full
    clock.now += 1000;
    while (runtime.poll_once() != 0) {
    }
  }
  for (int i = 0; i < 4; ++i) (void)runtime.submit(*ctx);  // left in flight
  pn::for_each_counter(runtime.device().stats(),
                       [](const char* name, const char*, std::uint64_t value) {
                         EXPECT_NE(value, 0U) << name << " was never kept";
                       });
  clock.now += 1000;
  while (runtime.poll_once() != 0) {
  }
}

TEST(SimDevice, InjectedFaults) {
  FakeClock clock;
  pn::SimRuntimeOptions options = stepped_options(clock, "zero");
  options.device.instances[0].fatal_rate = 1;
  {
    pn::SimRuntime runtime(options);
    auto ctx = pn::WaitCtx::make();
    EXPECT_EQ(runtime.submit(*ctx), pn::SubmitResult::kFailed);
    EXPECT_EQ(ctx->status(), PN_ASYNC_STATUS_ERR);
    EXPECT_EQ(runtime.poll_once(), 0U) << "nothing follows a failed submission";
  }
  options.device.instances[0].fatal_rate = 0;
  options.device.instances[0].refuse_rate = 1;
  {
    pn::SimRuntime runtime(options);
    auto ctx = pn::WaitCtx::make();
    EXPECT_EQ(runtime.submit(*ctx), pn::SubmitResult::kRetry);
    EXPECT_EQ(ctx->status(), PN_ASYNC_STATUS_EAGAIN);
    EXPECT_EQ(runtime.device().stats().refused_other, 1U);
  }
  options.device.instances[0].refuse_rate = 0;
  options.device.instances[0].error_rate = 1;
  {
    pn::SimRuntime runtime(options);
    auto ctx = pn::WaitCtx::make();
    std::atomic<int> calls{0};
    ctx->set_callback(count_call, &calls);
    EXPECT_EQ(runtime.submit(*ctx), pn::SubmitResult::kAccepted);
    EXPECT_EQ(runtime.poll_once(), 1U);
    EXPECT_EQ(calls.load(std::memory_order_relaxed), 1);
    EXPECT_EQ(ctx->status(), PN_ASYNC_STATUS_ERR) << "the completion carries the injected error";
  }
}

TEST(SimDevice, BadOptionsAndInstanceThrowOrFail) {
  pn::SimRuntimeOptions options;
  options.pollers = 0;
  EXPECT_THROW(pn::SimRuntime{options}, std::invalid_argument);
  options = {};
  options.device.instances[0].capacity = 0;
  EXPECT_THROW(pn::SimRuntime{options}, std::invalid_argument);
  options = {};
  options.device.instances[0].error_rate = 1.5;
  EXPECT_THROW(pn::SimRuntime{options}, std::invalid_argument);
  options = {};
  pn::SimRuntime runtime(options);
  auto ctx = pn::WaitCtx::make();
  EXPECT_EQ(runtime.device().submit(99, *ctx, 0), pn::SubmitResult::kFailed);
  EXPECT_EQ(ctx->status(), PN_ASYNC_STATUS_ERR);
}

TEST(SimDevice, SameSeedSameLatencies) {
  auto completion_times = [](std::uint64_t seed) {
    FakeClock clock;
    pn::SimRuntimeOptions options = stepped_options(clock, "exp:1000", 64);
    options.device.seed = seed;
    pn::SimRuntime runtime(options);
    std::atomic<int> calls{0};
    const auto contexts = submit_counted(runtime, 20, calls);
    EXPECT_EQ(contexts.size(), 20U);
    std::vector<std::uint64_t> times;
    for (clock.now = 0; calls.load(std::memory_order_relaxed) < 20; clock.now += 10) {
      for (std::size_t n = runtime.poll_once(); n != 0; --n) times.push_back(clock.now);
    }
    return times;
  };
  EXPECT_EQ(completion_times(5), completion_times(5));
  EXPECT_NE(completion_times(5), completion_times(6));
}

TEST(Runtime, DestroyWithWorkInFlightCancelsWithErr) {
  FakeClock clock;  // never advances: nothing completes on its own
  std::atomic<int> calls{0};
  auto ctx = pn::WaitCtx::make();
  ctx->set_callback(count_call, &calls);
  {
    pn::SimRuntime runtime(stepped_options(clock, "fixed:1000000"));
    ASSERT_TRUE(runtime.start());
    ASSERT_EQ(runtime.submit(*ctx), pn::SubmitResult::kAccepted);
  }
  EXPECT_EQ(calls.load(std::memory_order_relaxed), 1);
  EXPECT_EQ(ctx->status(), PN_ASYNC_STATUS_ERR);
  EXPECT_EQ(ctx->in_flight(), 0U);
}

// --- threaded end to end ---

struct JobArgs {
  pn::SimRuntime* runtime;
  int requests;
};

// A job that offloads `requests` times, retrying on EAGAIN; returns the number that completed OK.
int offloading_job(void* raw) {
  const JobArgs args = *static_cast<JobArgs*>(raw);
  pn::WaitCtx* ctx = pn::jobs::wait_ctx(pn::jobs::current());
  int ok = 0;
  for (int i = 0; i < args.requests; ++i) {
    // No practical bound on retries: a count of retries is a time limit a starved poller can
    // outlast (1'000'000 fast resumes last about 10 ms).
    if (pn::offload_in_job(args.runtime->device(), static_cast<std::uint64_t>(i),
                           pn::RetryPolicy{std::numeric_limits<unsigned>::max()}) !=
        pn::SubmitResult::kAccepted)
      return -1;
    ok += ctx->status() == PN_ASYNC_STATUS_OK;
  }
  return ok;
}

void run_jobs(pn::SimRuntimeOptions options, int jobs, int requests_per_job) {
  pn::SimRuntime runtime(std::move(options));
  ASSERT_TRUE(runtime.start());
  pn::JobDriver driver(static_cast<std::size_t>(jobs));
  const JobArgs args{&runtime, requests_per_job};
  for (int j = 0; j < jobs; ++j) {
    ASSERT_NE(driver.start(offloading_job, &args, sizeof args), pn::JobStatus::kErr);
  }
  driver.run_until_idle();
  ASSERT_TRUE(runtime.stop());
  const std::uint64_t total = static_cast<std::uint64_t>(jobs) * requests_per_job;
  EXPECT_EQ(driver.finished(), static_cast<std::uint64_t>(jobs));
  EXPECT_EQ(driver.callback_resumes(), total) << "each completion resumed its job exactly once";
  const pn::RuntimeStats stats = runtime.stats();
  EXPECT_EQ(stats.total.callbacks, total);
  EXPECT_EQ(stats.device.accepted, total);
  EXPECT_EQ(static_cast<std::uint64_t>(driver.result_sum()), total - stats.device.completed_err);
  EXPECT_EQ(driver.retry_resumes(), stats.device.refused_full + stats.device.refused_other);
}

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kRequests = 40;
#else
constexpr int kRequests = 400;
#endif

// Zero latency + busy poller: callbacks routinely fire before the job has finished pausing.
TEST(RuntimeJobs, CallbackFasterThanPauseResumesExactlyOnce) {
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kBusy;
  run_jobs(options, 32, kRequests);
}

TEST(RuntimeJobs, BackPressureAndErrorsWithAdaptivePoller) {
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kAdaptive;
  pn::DeviceInstanceOptions instance;
  instance.latency = pn::LatencyModel::parse("exp:2000");
  instance.capacity = 8;  // far fewer than the jobs: EAGAIN is routine
  instance.error_rate = 0.1;
  instance.refuse_rate = 0.05;
  options.device.instances = {instance, instance};
  options.pollers = 2;
  run_jobs(options, 48, kRequests / 4);
}

TEST(RuntimeJobs, DeviceThreadTiming) {
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kAdaptive;
  options.device.timing = pn::DeviceTiming::kThread;
  options.device.instances[0].latency = pn::LatencyModel::parse("uniform:1000:20000");
  run_jobs(options, 16, kRequests / 4);
}

TEST(RuntimeJobs, TwoApplicationThreads) {
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kAdaptive;
  options.device.instances[0].latency = pn::LatencyModel::parse("fixed:3000");
  pn::SimRuntime runtime(options);
  ASSERT_TRUE(runtime.start());
  std::atomic<std::uint64_t> finished{0}, resumes{0};
  auto app = [&] {
    pn::JobDriver driver(16);
    const JobArgs args{&runtime, kRequests / 4};
    for (int j = 0; j < 16; ++j) (void)driver.start(offloading_job, &args, sizeof args);
    driver.run_until_idle();
    finished.fetch_add(driver.finished(), std::memory_order_relaxed);
    resumes.fetch_add(driver.callback_resumes(), std::memory_order_relaxed);
    pn::jobs::cleanup_thread();
  };
  std::thread first(app), second(app);
  first.join();
  second.join();
  ASSERT_TRUE(runtime.stop());
  EXPECT_EQ(finished.load(std::memory_order_relaxed), 32U);
  EXPECT_EQ(resumes.load(std::memory_order_relaxed), 32U * (kRequests / 4));
}

pn::DetachedTask offload_loop(pn::CoOffload& offload, int requests, std::atomic<int>& ok,
                              std::atomic<bool>& done) {
  for (int i = 0; i < requests; ++i) {
    pn::AsyncStatus status;
    while ((status = co_await offload.submit(static_cast<std::uint64_t>(i))) ==
           pn::AsyncStatus::kEagain) {
    }
    ok.fetch_add(status == pn::AsyncStatus::kOk, std::memory_order_relaxed);
  }
  done.store(true, std::memory_order_release);  // pairs with the test's acquire
}

TEST(RuntimeCoroutines, ResumedInsideTheCallback) {
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kBusy;
  options.device.instances[0].latency = pn::LatencyModel::parse("fixed:1000");
  pn::SimRuntime runtime(options);
  ASSERT_TRUE(runtime.start());
  pn::CoOffload offload(runtime.device());
  std::atomic<int> ok{0};
  std::atomic<bool> done{false};
  offload_loop(offload, kRequests, ok, done);
  while (!done.load(std::memory_order_acquire)) std::this_thread::yield();
  ASSERT_TRUE(runtime.stop());
  EXPECT_EQ(ok.load(std::memory_order_relaxed), kRequests);
}

TEST(RuntimeCoroutines, ResumedFromAMpscQueue) {
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kAdaptive;
  pn::SimRuntime runtime(options);
  ASSERT_TRUE(runtime.start());
  pn::MpscQueue<std::coroutine_handle<>> queue(4);
  pn::CoOffload offload(runtime.device(), &queue);
  std::atomic<int> ok{0};
  std::atomic<bool> done{false};
  offload_loop(offload, kRequests, ok, done);
  const std::thread::id app_thread = std::this_thread::get_id();
  while (!done.load(std::memory_order_acquire)) {
    std::coroutine_handle<> handle;
    if (queue.pop_wait(handle, 1s)) handle.resume();
  }
  EXPECT_EQ(std::this_thread::get_id(), app_thread);
  ASSERT_TRUE(runtime.stop());
  EXPECT_EQ(ok.load(std::memory_order_relaxed), kRequests);
}

TEST(RuntimeFdMode, EpollOwnerSeesEveryCompletion) {
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kAdaptive;
  options.device.instances[0].latency = pn::LatencyModel::parse("fixed:2000");
  pn::SimRuntime runtime(options);
  ASSERT_TRUE(runtime.start());
  auto ctx = pn::WaitCtx::make();
  static const int key = 0;
  const pn::AsyncFd fd = pn::attach_notify_eventfd(*ctx, &key);
  ASSERT_GE(fd, 0);
  const int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event interest{};
  interest.events = EPOLLIN;
  ASSERT_EQ(::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &interest), 0);
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(runtime.submit(*ctx, static_cast<std::uint64_t>(i)), pn::SubmitResult::kAccepted);
    epoll_event ready{};
    ASSERT_EQ(::epoll_wait(epoll, &ready, 1, 5000), 1);
    ASSERT_TRUE(pn::consume_notify_eventfd(fd));
    EXPECT_EQ(ctx->status(), PN_ASYNC_STATUS_OK);
  }
  ::close(epoll);
  ASSERT_TRUE(runtime.stop());
  EXPECT_EQ(runtime.stats().total.fd_signals, 50U);
}

TEST(RuntimeCApi, LifecycleAndBadInput) {
  PN_SIM_RUNTIME_OPTIONS options;
  PN_SIM_RUNTIME_OPTIONS_init(&options);
  options.policy = 99;
  EXPECT_EQ(PN_SIM_RUNTIME_new(&options), nullptr);
  EXPECT_NE(std::string(PN_get_last_error()).find("policy"), std::string::npos);
  PN_SIM_RUNTIME_OPTIONS_init(&options);
  options.latency = "warp-speed";
  EXPECT_EQ(PN_SIM_RUNTIME_new(&options), nullptr);
  EXPECT_NE(std::string(PN_get_last_error()).find("latency"), std::string::npos);

  PN_SIM_RUNTIME_OPTIONS_init(&options);
  options.policy = PN_POLL_EXTERNAL;
  PN_RUNTIME* runtime = PN_SIM_RUNTIME_new(&options);
  ASSERT_NE(runtime, nullptr);
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  std::atomic<int> calls{0};
  PN_ASYNC_WAIT_CTX_set_callback(ctx, count_call, &calls);
  EXPECT_EQ(PN_RUNTIME_submit(runtime, ctx, 1), 0);
  EXPECT_EQ(PN_RUNTIME_in_flight(runtime), 1U);
  EXPECT_EQ(PN_RUNTIME_poll(runtime, 0), 1);
  EXPECT_EQ(calls.load(std::memory_order_relaxed), 1);
  EXPECT_EQ(PN_RUNTIME_poll(runtime, 0), 0) << "idle";
  EXPECT_EQ(PN_RUNTIME_stop(runtime), -EBUSY) << "not started";
  EXPECT_EQ(PN_RUNTIME_start(runtime), 0);
  EXPECT_EQ(PN_RUNTIME_start(runtime), -EBUSY) << "started twice";
  EXPECT_EQ(PN_RUNTIME_stop(runtime), 0);
  PN_RUNTIME_free(runtime);
  PN_ASYNC_WAIT_CTX_free(ctx);
}

}  // namespace

namespace {

TEST(SimDevice, RefusesARunningPollerAndLeavesItClean) {
  pn::Poller poller;
  ASSERT_TRUE(poller.start());
  pn::SimDeviceOptions options;
  options.instances[0].latency = pn::LatencyModel::parse("fixed:1000");
  pn::Poller* pollers[] = {&poller};
  const std::size_t room = poller.ring_room();
  EXPECT_THROW(pn::SimDevice(options, pollers), std::logic_error)
      << "a polled device needs a stopped poller";
  EXPECT_EQ(poller.ring_room(), room) << "no ring kept for it";
  ASSERT_TRUE(poller.stop());
  EXPECT_EQ(poller.poll_once(), 0U) << "no dangling source left behind";
}

// A long-lived poller serves devices created and destroyed one after another, far past
// Poller::kMaxRings: each gives its ring back.
TEST(SimDevice, DevicesGiveTheirRingsBackToALongLivedPoller) {
  pn::Poller poller;
  pn::Poller* pollers[] = {&poller};
  pn::SimDeviceOptions options;
  options.instances[0].latency = pn::LatencyModel::parse("fixed:1000");
  const std::size_t room = poller.ring_room();
  for (std::size_t i = 0; i < 2 * pn::Poller::kMaxRings + 10; ++i) {
    options.timing = i % 2 == 0 ? pn::DeviceTiming::kPolled : pn::DeviceTiming::kThread;
    ASSERT_NO_THROW(pn::SimDevice(options, pollers)) << "device " << i;
  }
  EXPECT_EQ(poller.ring_room(), room);
}

// More instances on one poller than it has rings: refused up front, naming the limit, with
// nothing created.
TEST(SimDevice, InstancesBeyondAPollersRingsAreRefusedUpFront) {
  pn::Poller poller;
  pn::Poller* pollers[] = {&poller};
  pn::SimDeviceOptions options;
  options.instances.resize(pn::Poller::kMaxRings + 1);
  for (auto& instance : options.instances) instance.latency = pn::LatencyModel::parse("fixed:1000");
  try {
    pn::SimDevice device(options, pollers);
    ADD_FAILURE() << "accepted " << options.instances.size() << " instances on one poller";
  } catch (const std::length_error& error) {
    EXPECT_NE(std::string(error.what()).find("kMaxRings"), std::string::npos) << error.what();
  }
  EXPECT_EQ(poller.ring_room(), pn::Poller::kMaxRings);
}

// Teardown beside a running poller whose ring for the device is full: the cancelled requests
// still reach their context through the poller only (one deliverer per context, so in_flight()
// stays exact), never from the destroying thread.
TEST(SimDevice, TeardownBesideARunningPollerDeliversThroughItOnly) {
  struct Seen {
    std::atomic<std::thread::id> poller_thread{};
    std::atomic<int> off_poller{0};
    std::atomic<int> calls{0};
    std::atomic<bool> hold{true};
  } seen;
  auto ctx = pn::WaitCtx::make();
  ctx->set_completion_callback(
      [](void* raw, const PN_COMPLETION*) {
        auto* s = static_cast<Seen*>(raw);
        if (s->poller_thread.load() != std::this_thread::get_id()) s->off_poller.fetch_add(1);
        // The first callback holds the poller, so the ring fills.
        // SDT-A1: pairs with SDT-R1.
        while (s->hold.load(std::memory_order_acquire)) std::this_thread::yield();
        s->calls.fetch_add(1);
        return 1;
      },
      &seen);
  pn::Poller poller;
  struct Release {  // whatever ends the test, the held callback returns (no hang)
    Seen& held;
    ~Release() { held.hold.store(false, std::memory_order_release); }  // SDT-R1, as below
  } release{seen};
  pn::SimDeviceOptions options;
  options.timing = pn::DeviceTiming::kThread;
  options.instances[0].latency = pn::LatencyModel::parse("fixed:1000000");
  options.instances[0].capacity = 200;  // its ring holds 256
  pn::Poller* pollers[] = {&poller};
  auto device = std::make_unique<pn::SimDevice>(options, pollers);
  device->start();  // its thread completes into the ring
  ASSERT_TRUE(poller.start());
  // Learn the poller's thread id from a first completion pushed by hand.
  {
    auto& ring = poller.acquire_ring();
    auto probe = pn::WaitCtx::make();
    std::atomic<std::thread::id> where{};
    probe->set_completion_callback(
        [](void* raw, const PN_COMPLETION*) {
          static_cast<std::atomic<std::thread::id>*>(raw)->store(std::this_thread::get_id());
          return 1;
        },
        &where);
    ASSERT_TRUE(ring.try_push(pn::Completion{probe.get(), 0, probe->arm(), PN_ASYNC_STATUS_OK}));
    while (probe->in_flight() != 0) std::this_thread::yield();
    seen.poller_thread.store(where.load());
    poller.release_ring(ring);
  }
  // 200 complete after 1 ms: the poller holds in the first callback, 199 stay in the ring.
  for (std::uint64_t i = 0; i < 200; ++i) {
    ASSERT_EQ(device->submit(*ctx, i), pn::SubmitResult::kAccepted);
  }
  const auto filled = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (poller.stats().in_flight < 199 && std::chrono::steady_clock::now() < filled) {
    std::this_thread::yield();
  }
  ASSERT_GE(poller.stats().in_flight, 199U) << "the ring did not fill";
  // 200 more, cancelled by the teardown: more than the ring has room for.
  for (std::uint64_t i = 200; i < 400; ++i) {
    ASSERT_EQ(device->submit(*ctx, i), pn::SubmitResult::kAccepted);
  }
  std::atomic<bool> destroyed{false};
  std::thread owner([&] {
    device.reset();                                    // cancels the 200 hour-long requests
    destroyed.store(true, std::memory_order_release);  // SDT-R2: pairs with SDT-A2
  });
  // The poller holds in the first callback; a teardown that delivered beside it would deliver
  // the ones the full ring cannot take from this thread. Watched for a bounded time.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (seen.off_poller.load() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  seen.hold.store(false, std::memory_order_release);  // SDT-R1: pairs with SDT-A1
  owner.join();
  EXPECT_TRUE(destroyed.load(std::memory_order_acquire));  // SDT-A2: pairs with SDT-R2
  ASSERT_TRUE(poller.stop());                              // delivers what its rings hold
  EXPECT_EQ(seen.off_poller.load(), 0) << "delivered by the destroying thread";
  EXPECT_EQ(seen.calls.load(), 400);
  EXPECT_EQ(ctx->in_flight(), 0U);
}

}  // namespace

namespace {

// JobDriver for an application notified another way: it replaces a slot's callback, resumes
// the slot itself, and has the driver retry refused submissions.
struct SlotNotes {
  std::atomic<int> notified{0};
};

int note_slot(void* arg) {
  // JDT-R1: publishes the notification; pairs with JDT-A1.
  static_cast<SlotNotes*>(arg)->notified.fetch_add(1, std::memory_order_release);
  return 1;
}

TEST(JobDriverSlots, ResumeBySlotAndRetries) {
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kExternal;
  pn::SimRuntime runtime(options);
  pn::JobDriver driver(2);
  SlotNotes notes;
  driver.context(1).set_callback(note_slot, &notes);
  auto body = [&runtime] {
    return static_cast<int>(pn::offload_in_job(runtime.device(), 5, pn::RetryPolicy{0}));
  };
  ASSERT_EQ(driver.start_on(1, body), pn::JobStatus::kPause);
  EXPECT_EQ(driver.start_on(1, [] { return 0; }), pn::JobStatus::kNoJobs) << "slot 1 is busy";
  EXPECT_EQ(driver.resume(0), pn::JobStatus::kErr) << "no job on slot 0";
  EXPECT_EQ(runtime.poll_once(), 1U);
  // JDT-A1: pairs with JDT-R1 (same thread here: the external poller runs on it).
  EXPECT_EQ(notes.notified.load(std::memory_order_acquire), 1);
  EXPECT_EQ(driver.resume(1), pn::JobStatus::kFinish);
  EXPECT_EQ(driver.result_sum(), static_cast<int>(pn::SubmitResult::kAccepted));
  EXPECT_FALSE(driver.retries_pending());
  EXPECT_THROW((void)driver.context(2), std::out_of_range);
}

TEST(JobDriverSlots, RefusedSubmissionsAreRetriedByTheDriver) {
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kExternal;
  options.device.instances[0].refuse_rate = 1;
  pn::SimRuntime runtime(options);
  pn::JobDriver driver(1);
  auto body = [&runtime] {
    return static_cast<int>(pn::offload_in_job(runtime.device(), 0, pn::RetryPolicy{2}));
  };
  ASSERT_EQ(driver.start_on(0, body), pn::JobStatus::kPause);
  EXPECT_TRUE(driver.retries_pending());
  EXPECT_EQ(driver.resume_retries(), 1U);
  EXPECT_EQ(driver.resume_retries(), 1U);
  EXPECT_EQ(driver.running(), 0U) << "gave up after two retries";
  EXPECT_EQ(driver.result_sum(), static_cast<int>(pn::SubmitResult::kRetry));
  EXPECT_EQ(driver.retry_resumes(), 2U);
}

}  // namespace
