// A runtime's lifecycle at its edges: stopped or freed from its own callback, inherited by a
// forked child, more submitting threads than rings, limits checked up front, a start that fails
// half-way.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "pollnotify/sim_runtime.h"
#include "pollnotify/sim_runtime.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using pn::test::count_callback;
using pn::test::eventually;

// --- Stopping or freeing a runtime from its own callback is refused, never a hang ---

struct StopFromCallback {
  pn::SimRuntime* runtime = nullptr;
  PN_RUNTIME* c_runtime = nullptr;
  std::atomic<int> outcome{0};  // 0: not yet, 1: refused with an error, 2: returned normally
  std::string message;
};

TEST(RuntimeTeardown, RuntimeStopFromItsCallbackIsRefused) {
  for (const pn::PollPolicy policy : {pn::PollPolicy::kBusy, pn::PollPolicy::kAdaptive}) {
    pn::SimRuntimeOptions options;
    options.poller.policy = policy;
    pn::SimRuntime runtime(options);
    ASSERT_TRUE(runtime.start());
    StopFromCallback state;
    state.runtime = &runtime;
    auto ctx = pn::WaitCtx::make();
    ctx->set_callback(
        [](void* raw) {
          auto* s = static_cast<StopFromCallback*>(raw);
          int outcome = 2;
          try {
            (void)s->runtime->stop();
          } catch (const std::logic_error& error) {
            s->message = error.what();
            outcome = 1;
          }
          s->outcome.store(outcome, std::memory_order_release);  // pairs with the acquire below
          return 1;
        },
        &state);
    ASSERT_EQ(runtime.submit(*ctx), pn::SubmitResult::kAccepted);
    ASSERT_TRUE(eventually([&] { return state.outcome.load(std::memory_order_acquire) != 0; }))
        << "stop() from a callback hung (" << pn::to_string(policy) << ")";
    EXPECT_EQ(state.outcome.load(std::memory_order_acquire), 1);
    EXPECT_NE(state.message.find("callback"), std::string::npos) << state.message;
    EXPECT_TRUE(runtime.stop()) << "stopped normally from its owner";
  }
}

TEST(RuntimeTeardown, CRuntimeStopAndFreeFromItsCallbackAreRefused) {
  PN_SIM_RUNTIME_OPTIONS options;
  PN_SIM_RUNTIME_OPTIONS_init(&options);
  options.policy = PN_POLL_BUSY;
  PN_RUNTIME* runtime = PN_SIM_RUNTIME_new(&options);
  ASSERT_NE(runtime, nullptr);
  ASSERT_EQ(PN_RUNTIME_start(runtime), 0);
  StopFromCallback state;
  state.c_runtime = runtime;
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_callback(
                ctx,
                [](void* raw) {
                  auto* s = static_cast<StopFromCallback*>(raw);
                  const int stopped = PN_RUNTIME_stop(s->c_runtime);
                  s->message = PN_get_last_error();
                  PN_RUNTIME_free(s->c_runtime);  // refused: the owner frees it later
                  s->message += std::string(" | ") + PN_get_last_error();
                  s->outcome.store(stopped == -EBUSY ? 1 : 2, std::memory_order_release);
                  return 1;
                },
                &state),
            1);
  ASSERT_EQ(PN_RUNTIME_submit(runtime, ctx, 0), 0);
  ASSERT_TRUE(eventually([&] { return state.outcome.load(std::memory_order_acquire) != 0; }))
      << "PN_RUNTIME_stop from a callback hung";
  EXPECT_EQ(state.outcome.load(std::memory_order_acquire), 1);
  EXPECT_NE(state.message.find("callback"), std::string::npos) << state.message;
  EXPECT_EQ(PN_RUNTIME_stop(runtime), 0);
  PN_RUNTIME_free(runtime);
  PN_ASYNC_WAIT_CTX_free(ctx);
}

// --- An inherited runtime stops at once in a forked child, even with requests held ---

int child_stops_inherited_runtime(pn::DeviceTiming timing) {
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kAdaptive;
  options.device.timing = timing;
  options.device.instances[0].latency = pn::LatencyModel::parse("fixed:3600000000000");  // 1 h
  pn::SimRuntime runtime(options);
  if (!runtime.start()) return 10;
  auto ctx = pn::WaitCtx::make();
  if (runtime.submit(*ctx) != pn::SubmitResult::kAccepted) return 11;
  // Fork while the poller is parked (see Fork.ChildBuildsAFreshRuntime).
  if (!eventually([&] { return runtime.stats().total.parks != 0; })) return 12;
  const pid_t child = ::fork();
  if (child < 0) return 13;
  if (child == 0) {
    ::alarm(20);  // a hang ends the child by SIGALRM
    const bool stopped = runtime.stop();
    ::_exit(stopped ? 0 : 1);
  }
  int status = 0;
  if (::waitpid(child, &status, 0) != child) return 14;
  const int result = WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
  return result;  // the parent's runtime is destroyed with the request in flight: ERR
}

TEST(RuntimeFork, InheritedRuntimeStopsWithRequestsInTheDevice) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer does not support a multithreaded fork";
#endif
  EXPECT_EQ(child_stops_inherited_runtime(pn::DeviceTiming::kPolled), 0)
      << "100 + 14 is SIGALRM: the child's stop() hung";
  EXPECT_EQ(child_stops_inherited_runtime(pn::DeviceTiming::kThread), 0)
      << "100 + 14 is SIGALRM: the child's stop() hung";
}

// --- More submitting threads than a poller has rings: none is refused for good ---

TEST(RuntimeRings, ThreeHundredSubmittingThreadsAllGetAccepted) {
  constexpr int kThreads = 300;
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kAdaptive;
  pn::SimRuntime runtime(options);
  ASSERT_TRUE(runtime.start());
  std::atomic<int> calls{0}, accepted{0}, never_accepted{0}, arrived{0};
  std::atomic<bool> leave{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      auto ctx = pn::WaitCtx::make();
      ctx->set_callback(count_callback, &calls);
      const bool ok =
          eventually([&] { return runtime.submit(*ctx) == pn::SubmitResult::kAccepted; }, 10s);
      (ok ? accepted : never_accepted).fetch_add(1, std::memory_order_relaxed);
      arrived.fetch_add(1, std::memory_order_acq_rel);
      // Every thread stays alive (holding whatever ring it took) until all have submitted.
      while (!leave.load(std::memory_order_acquire)) std::this_thread::yield();
      while (calls.load(std::memory_order_relaxed) < accepted.load(std::memory_order_relaxed)) {
        std::this_thread::yield();
      }
    });
  }
  while (arrived.load(std::memory_order_acquire) < kThreads) std::this_thread::yield();
  leave.store(true, std::memory_order_release);
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(never_accepted.load(std::memory_order_relaxed), 0);
  EXPECT_TRUE(runtime.stop());
  EXPECT_EQ(calls.load(std::memory_order_relaxed), kThreads);
}

// --- Limits checked up front; a start that fails half-way leaves nothing running ---

TEST(RuntimeLimits, PollerCountIsCheckedUpFront) {
  pn::SimRuntimeOptions options;
  options.pollers = pn::Runtime::kMaxPollers + 1;
  EXPECT_THROW(pn::SimRuntime{options}, std::invalid_argument);
  options.pollers = 1;
  options.device.instances.resize(pn::SimDeviceOptions::kMaxInstances + 1);
  EXPECT_THROW(pn::SimRuntime{options}, std::invalid_argument);
  PN_SIM_RUNTIME_OPTIONS c_options;
  PN_SIM_RUNTIME_OPTIONS_init(&c_options);
  c_options.pollers = 0xFFFFFFFFu;
  EXPECT_EQ(PN_SIM_RUNTIME_new(&c_options), nullptr);
  EXPECT_NE(std::string(PN_get_last_error()).find("kMaxPollers"), std::string::npos)
      << PN_get_last_error();
}

TEST(RuntimeLimits, StartFailingHalfWayStopsWhatItStarted) {
  pn::SimRuntimeOptions options;
  options.pollers = 3;
  options.poller.policy = pn::PollPolicy::kAdaptive;
  options.poller_cpus = {0, 0, CPU_SETSIZE - 1};  // the third cannot be pinned on this machine
  pn::SimRuntime runtime(options);
  EXPECT_THROW(runtime.start(), std::system_error);
  for (std::size_t i = 0; i < runtime.poller_count(); ++i) {
    EXPECT_FALSE(runtime.poller(i).running()) << "poller " << i << " left running";
  }
  EXPECT_FALSE(runtime.stop()) << "not started";
}

}  // namespace
