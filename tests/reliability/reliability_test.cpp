// Reliability: re-entrant callbacks, bounded retries, fork, contexts freed with requests in
// flight (run under ASan and TSan in CI), and bad input on the runtime's entry points.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "pollnotify/job_driver.hpp"
#include "pollnotify/sim_runtime.hpp"

namespace {

using namespace std::chrono_literals;

TEST(Reentrancy, CallbackSubmitsTheNextRequestItself) {
  for (const char* latency : {"zero", "fixed:2000"}) {
    pn::SimRuntimeOptions options;
    options.poller.policy = pn::PollPolicy::kBusy;
    options.device.instances[0].latency = pn::LatencyModel::parse(latency);
    pn::SimRuntime runtime(options);
    ASSERT_TRUE(runtime.start());
    struct Chain {
      pn::SimRuntime* runtime;
      pn::WaitCtxPtr ctx = pn::WaitCtx::make();
      std::atomic<int> done{0};
      int remaining = 1000;  // touched by the callback only (poller thread)
    } chain{&runtime};
    chain.ctx->set_callback(
        [](void* raw) {
          auto* c = static_cast<Chain*>(raw);
          if (--c->remaining > 0) {
            // Re-enters the runtime from the poller thread: allowed, and delivered later.
            while (c->runtime->submit(*c->ctx) == pn::SubmitResult::kRetry) {
            }
          } else {
            c->done.store(1, std::memory_order_release);  // pairs with the acquire below
          }
          return 1;
        },
        &chain);
    ASSERT_EQ(runtime.submit(*chain.ctx), pn::SubmitResult::kAccepted);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (chain.done.load(std::memory_order_acquire) == 0) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << latency;
      std::this_thread::yield();
    }
    ASSERT_TRUE(runtime.stop());
    EXPECT_EQ(runtime.stats().total.callbacks, 1000U) << latency;
  }
}

TEST(Retries, BoundedRetryGivesUpWithEagain) {
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kAdaptive;
  options.device.instances[0].refuse_rate = 1;  // the device never accepts
  pn::SimRuntime runtime(options);
  ASSERT_TRUE(runtime.start());
  pn::JobDriver driver(1);
  auto body = [runtime_ptr = &runtime] {
    return static_cast<int>(pn::offload_in_job(runtime_ptr->device(), 0, pn::RetryPolicy{5}));
  };
  ASSERT_EQ(driver.start(body), pn::JobStatus::kPause);
  driver.run_until_idle();
  EXPECT_EQ(driver.result_sum(), static_cast<int>(pn::SubmitResult::kRetry));
  EXPECT_EQ(driver.retry_resumes(), 5U);
  EXPECT_EQ(runtime.device().stats().refused_other, 6U);
  ASSERT_TRUE(runtime.stop());
}

TEST(Retries, OffloadOutsideAJobFails) {
  pn::SimRuntime runtime(pn::SimRuntimeOptions{});
  EXPECT_EQ(pn::offload_in_job(runtime.device(), 0), pn::SubmitResult::kFailed);
}

TEST(Fork, ChildBuildsAFreshRuntime) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP()
      << "ThreadSanitizer does not support starting threads in the child of a multithreaded fork";
#endif
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kAdaptive;
  options.device.instances[0].latency = pn::LatencyModel::parse("fixed:1000");
  pn::SimRuntime parent_runtime(options);
  ASSERT_TRUE(parent_runtime.start());
  // Fork while the poller thread is idle (parked), not while it is starting up: a thread that
  // holds an allocator lock at fork() leaves it locked in the child (a hazard of any
  // multithreaded fork, and one the sanitizers' allocators do not guard against).
  const auto idle_deadline = std::chrono::steady_clock::now() + 10s;
  while (parent_runtime.stats().total.parks == 0 &&
         std::chrono::steady_clock::now() < idle_deadline) {
    std::this_thread::sleep_for(1ms);
  }
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // In the child the parent's poller thread does not exist. A fresh runtime works; the
    // inherited one can only be stopped and destroyed.
    int failures = 0;
    {
      pn::SimRuntime fresh(options);
      fresh.start();
      std::atomic<int> calls{0};
      auto ctx = pn::WaitCtx::make();
      ctx->set_callback(
          [](void* arg) {
            static_cast<std::atomic<int>*>(arg)->fetch_add(1, std::memory_order_relaxed);
            return 1;
          },
          &calls);
      for (int i = 0; i < 100; ++i) {
        const int before = calls.load(std::memory_order_relaxed);
        failures += fresh.submit(*ctx) != pn::SubmitResult::kAccepted;
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (calls.load(std::memory_order_relaxed) == before &&
               std::chrono::steady_clock::now() < deadline) {
          std::this_thread::yield();
        }
      }
      fresh.stop();
      failures += calls.load(std::memory_order_relaxed) != 100;
    }
    failures += !parent_runtime.stop();  // marks the copied pollers stopped; must not hang
    ::_exit(failures == 0 ? 0 : 1);
  }
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  pid_t done = 0;
  while ((done = ::waitpid(child, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  if (done == 0) ::kill(child, SIGKILL);
  ASSERT_EQ(done, child) << "the child hung";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ASSERT_TRUE(parent_runtime.stop());
}

// Contexts freed at random moments while their requests are in the device or a ring: the late
// completions are recognised as stale, none touches freed state (ASan), none is lost.
TEST(Lifetimes, ContextsFreedWithRequestsInFlight) {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  constexpr int kRequests = 4'000;
#else
  constexpr int kRequests = 60'000;
#endif
  pn::SimRuntimeOptions options;
  options.pollers = 2;
  options.poller.policy = pn::PollPolicy::kAdaptive;
  pn::DeviceInstanceOptions instance;
  instance.latency = pn::LatencyModel::parse("exp:3000");
  instance.capacity = 256;
  options.device.instances = {instance, instance};
  pn::SimRuntime runtime(options);
  ASSERT_TRUE(runtime.start());
  std::atomic<std::uint64_t> callbacks{0};
  std::uint64_t accepted = 0, freed_in_flight = 0;
  std::mt19937 rng(42);
  std::vector<pn::WaitCtx*> waiting;
  for (int i = 0; i < kRequests; ++i) {
    pn::WaitCtx* ctx = pn::WaitCtx::create();
    ctx->set_callback(
        [](void* arg) {
          static_cast<std::atomic<std::uint64_t>*>(arg)->fetch_add(1, std::memory_order_relaxed);
          return 1;
        },
        &callbacks);
    pn::SubmitResult result;
    while ((result = runtime.submit(*ctx)) == pn::SubmitResult::kRetry) std::this_thread::yield();
    if (result != pn::SubmitResult::kAccepted) {
      pn::WaitCtx::destroy(ctx);
      continue;
    }
    ++accepted;
    if (rng() % 2 == 0) {
      pn::WaitCtx::destroy(ctx);  // freed with its request in flight
      ++freed_in_flight;
    } else {
      waiting.push_back(ctx);
    }
    if (waiting.size() > 64) {  // free the rest later, some after their completion, some before
      for (pn::WaitCtx* old : waiting) pn::WaitCtx::destroy(old);
      waiting.clear();
    }
  }
  ASSERT_TRUE(runtime.stop());
  for (pn::WaitCtx* old : waiting) pn::WaitCtx::destroy(old);
  const pn::RuntimeStats stats = runtime.stats();
  EXPECT_EQ(stats.total.delivered, accepted) << "every accepted request reached the poller";
  EXPECT_EQ(stats.total.callbacks + stats.total.stale, accepted) << "each one exactly once";
  EXPECT_EQ(callbacks.load(std::memory_order_relaxed), stats.total.callbacks);
  EXPECT_EQ(accepted, static_cast<std::uint64_t>(kRequests));
  std::printf("accepted %llu, freed in flight %llu, stale %llu\n",
              static_cast<unsigned long long>(accepted),
              static_cast<unsigned long long>(freed_in_flight),
              static_cast<unsigned long long>(stats.total.stale));
  EXPECT_GE(stats.total.stale, freed_in_flight / 2)
      << "most contexts freed in flight were still in flight";
}

TEST(BadInput, RuntimeEntryPoints) {
  pn::SimRuntime runtime(pn::SimRuntimeOptions{});
  EXPECT_THROW((void)runtime.poller(5), std::out_of_range);
  EXPECT_THROW((void)runtime.device_at(7), std::out_of_range);
  EXPECT_FALSE(runtime.stop()) << "not started";
  EXPECT_TRUE(runtime.start());
  EXPECT_FALSE(runtime.start()) << "started twice";
  EXPECT_THROW(runtime.poll_once(), std::logic_error) << "a poller thread runs";
  EXPECT_TRUE(runtime.stop());
  EXPECT_FALSE(runtime.stop()) << "stopped twice";
  EXPECT_THROW(pn::JobDriver{0}, std::invalid_argument);
}

}  // namespace
