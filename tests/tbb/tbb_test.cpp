// Offload from oneTBB tasks: exactly one resume per request under stress (random latencies, ERR
// and EAGAIN faults, every polling policy), nested parallelism, external polling driven from a
// TBB task, cancellation through task_group_context, a device torn down while tasks are
// suspended, and a call outside any task.
#include <gtest/gtest.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "pollnotify/sim_runtime.hpp"
#include "pollnotify/tbb.hpp"

namespace {

struct Tally {
  std::atomic<int> ok{0}, err{0}, gave_up{0}, failed{0}, wrong{0};
  void add(const pn::tbb::OffloadResult& r) {
    // Relaxed: read after the parallel_for returned (which joins the tasks).
    switch (r.submit) {
      case pn::SubmitResult::kAccepted:
        (r.status == PN_ASYNC_STATUS_OK ? ok : err).fetch_add(1, std::memory_order_relaxed);
        if (r.status != PN_ASYNC_STATUS_OK && r.status != PN_ASYNC_STATUS_ERR) {
          wrong.fetch_add(1, std::memory_order_relaxed);
        }
        break;
      case pn::SubmitResult::kRetry:
        gave_up.fetch_add(1, std::memory_order_relaxed);
        break;
      case pn::SubmitResult::kFailed:
        failed.fetch_add(1, std::memory_order_relaxed);
        break;
    }
  }
};

pn::SimRuntimeOptions sim_options(pn::PollPolicy policy, const char* latency) {
  pn::SimRuntimeOptions options;
  options.poller.policy = policy;
  options.device.instances[0].latency = pn::LatencyModel::parse(latency);
  options.device.instances[0].capacity = 64;
  return options;
}

// Every request resumes its task exactly once: each accepted request's completion callback is
// counted by the poller; each offload returns once; the two counts match the device's.
void stress(pn::PollPolicy policy, const char* latency) {
  constexpr int kItems = 3000;
  pn::SimRuntimeOptions options = sim_options(policy, latency);
  options.device.instances[0].error_rate = 0.05;
  options.device.instances[0].refuse_rate = 0.05;
  pn::SimRuntime runtime(options);
  ASSERT_TRUE(runtime.start());
  Tally tally;
  oneapi::tbb::task_arena arena(2);
  arena.execute([&] {
    oneapi::tbb::parallel_for(0, kItems, [&](int i) {
      tally.add(pn::tbb::offload(runtime.device(), static_cast<std::uint64_t>(i)));
    });
  });
  ASSERT_TRUE(runtime.stop());
  const int accepted = tally.ok.load() + tally.err.load();
  EXPECT_EQ(accepted + tally.gave_up.load() + tally.failed.load(), kItems);
  EXPECT_EQ(tally.gave_up.load(), 0) << "the default retry bound was reached";
  EXPECT_EQ(tally.wrong.load(), 0);
  EXPECT_EQ(static_cast<std::uint64_t>(accepted), runtime.device().stats().accepted);
  EXPECT_EQ(runtime.stats().total.callbacks, static_cast<std::uint64_t>(accepted))
      << "one callback, so one resume, per accepted request";
  EXPECT_GT(tally.err.load(), 0) << "ERR completions were injected";
  EXPECT_GT(runtime.device().stats().refused_other, 0U) << "EAGAIN was injected";
}

TEST(TbbOffload, ExactlyOnceUnderStressBusy) { stress(pn::PollPolicy::kBusy, "exp:3000"); }
TEST(TbbOffload, ExactlyOnceUnderStressAdaptive) { stress(pn::PollPolicy::kAdaptive, "exp:3000"); }
TEST(TbbOffload, ExactlyOnceUnderStressTimed) { stress(pn::PollPolicy::kTimed, "exp:3000"); }
TEST(TbbOffload, ExactlyOnceUnderStressSpinYield) {
  stress(pn::PollPolicy::kSpinYield, "exp:3000");
}
// Zero latency with a busy poller: completions often arrive before suspend's function returns.
TEST(TbbOffload, CompletionFasterThanTheSuspend) { stress(pn::PollPolicy::kBusy, "zero"); }

TEST(TbbOffload, NestedParallelism) {
  pn::SimRuntime runtime(sim_options(pn::PollPolicy::kAdaptive, "exp:2000"));
  ASSERT_TRUE(runtime.start());
  Tally tally;
  oneapi::tbb::task_arena arena(2);
  arena.execute([&] {
    oneapi::tbb::parallel_for(0, 20, [&](int outer) {
      tally.add(pn::tbb::offload(runtime.device(), static_cast<std::uint64_t>(outer)));
      oneapi::tbb::parallel_for(0, 50, [&](int inner) {
        tally.add(pn::tbb::offload(runtime.device(), static_cast<std::uint64_t>(inner)));
      });
    });
  });
  ASSERT_TRUE(runtime.stop());
  EXPECT_EQ(tally.ok.load(), 20 + 20 * 50);
}

TEST(TbbOffload, ExternalPollingDrivenFromATbbTask) {
  pn::SimRuntime runtime(sim_options(pn::PollPolicy::kExternal, "exp:2000"));
  constexpr int kItems = 2000;
  Tally tally;
  std::atomic<int> returned{0};
  oneapi::tbb::task_arena arena(2);
  arena.execute([&] {
    oneapi::tbb::task_group group;
    group.run([&] {
      pn::tbb::poll_until(runtime.poller(0), [&] {
        return returned.load(std::memory_order_acquire) == kItems;  // TBBT-A1: pairs with TBBT-R1
      });
    });
    oneapi::tbb::parallel_for(0, kItems, [&](int i) {
      tally.add(pn::tbb::offload(runtime.device(), static_cast<std::uint64_t>(i)));
      returned.fetch_add(1, std::memory_order_release);  // TBBT-R1: pairs with TBBT-A1
    });
    group.wait();
  });
  EXPECT_EQ(tally.ok.load(), kItems);
}

TEST(TbbOffload, CancelledGroupSkipsTheRestAndResumesTheSuspended) {
  pn::SimRuntime runtime(sim_options(pn::PollPolicy::kAdaptive, "fixed:200000"));
  ASSERT_TRUE(runtime.start());
  constexpr int kItems = 5000;
  Tally tally;
  std::atomic<int> returned{0};
  oneapi::tbb::task_group_context group;
  oneapi::tbb::task_arena arena(2);
  arena.execute([&] {
    oneapi::tbb::parallel_for(
        oneapi::tbb::blocked_range<int>(0, kItems, 1),
        [&](const oneapi::tbb::blocked_range<int>& range) {
          for (int i = range.begin(); i != range.end(); ++i) {
            if (i == 100) group.cancel_group_execution();
            tally.add(pn::tbb::offload(runtime.device(), static_cast<std::uint64_t>(i)));
            returned.fetch_add(1, std::memory_order_relaxed);  // read after the join
          }
        },
        oneapi::tbb::simple_partitioner(), group);
  });
  EXPECT_TRUE(group.is_group_execution_cancelled());
  EXPECT_LT(returned.load(), kItems) << "cancellation skipped the remaining iterations";
  EXPECT_EQ(tally.ok.load() + tally.failed.load(), returned.load());
  EXPECT_EQ(runtime.in_flight(), 0U) << "every suspended task got its completion";
  ASSERT_TRUE(runtime.stop());
}

// The device goes away (runtime destroyed on another thread) while tasks wait for completions
// that would take an hour: the teardown completes them with ERR, which resumes every task.
TEST(TbbOffload, DeviceTornDownWhileTasksAreSuspended) {
  constexpr int kItems = 40;
  auto runtime = std::make_unique<pn::SimRuntime>(
      sim_options(pn::PollPolicy::kAdaptive, "fixed:3600000000000"));
  ASSERT_TRUE(runtime->start());
  pn::Device& device = runtime->device();
  Tally tally;
  std::thread tasks([&] {
    oneapi::tbb::task_arena arena(2);
    arena.execute([&] {
      // One task per item, so that every item is suspended at once.
      oneapi::tbb::parallel_for(
          oneapi::tbb::blocked_range<int>(0, kItems, 1),
          [&](const oneapi::tbb::blocked_range<int>& range) {
            tally.add(pn::tbb::offload(device, static_cast<std::uint64_t>(range.begin())));
          },
          oneapi::tbb::simple_partitioner());
    });
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (runtime->device().in_flight() < kItems && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(runtime->device().in_flight(), static_cast<std::uint64_t>(kItems));
  runtime.reset();  // pollers stop, the device completes the hour-long requests with ERR
  tasks.join();
  EXPECT_EQ(tally.err.load(), kItems);
}

TEST(TbbOffload, OutsideATaskFails) {
  pn::SimRuntime runtime(sim_options(pn::PollPolicy::kExternal, "zero"));
  const pn::tbb::OffloadResult result = pn::tbb::offload(runtime.device(), 1);
  EXPECT_EQ(result.submit, pn::SubmitResult::kFailed);
  EXPECT_EQ(runtime.device().stats().submitted, 0U);
}

TEST(TbbOffload, GivesUpAfterTheRetryBound) {
  pn::SimRuntimeOptions options = sim_options(pn::PollPolicy::kAdaptive, "zero");
  options.device.instances[0].refuse_rate = 1;
  pn::SimRuntime runtime(options);
  ASSERT_TRUE(runtime.start());
  pn::tbb::OffloadResult result;
  oneapi::tbb::task_arena arena(1);
  arena.execute([&] {
    oneapi::tbb::task_group group;
    group.run([&] {
      result = pn::tbb::offload(runtime.device(), 1, pn::tbb::OffloadOptions{5, 4});
    });
    group.wait();
  });
  EXPECT_EQ(result.submit, pn::SubmitResult::kRetry);
  EXPECT_EQ(result.status, PN_ASYNC_STATUS_EAGAIN);
  EXPECT_EQ(result.retries, 5U);
  EXPECT_EQ(runtime.device().stats().refused_other, 6U);
  ASSERT_TRUE(runtime.stop());
}

}  // namespace

namespace {

// parallel_offload: every index exactly once, never more than `window` bodies at once, and the
// completions carry each item's own user_data back.
TEST(TbbParallelOffload, EveryIndexOnceWithinTheWindow) {
  pn::SimRuntime runtime(sim_options(pn::PollPolicy::kAdaptive, "exp:2000"));
  ASSERT_TRUE(runtime.start());
  constexpr int kFirst = 7, kLast = 5007, kWindow = 16;
  std::vector<std::atomic<int>> seen(kLast);
  std::atomic<int> running{0}, peak{0}, mismatched{0};
  pn::tbb::offload_arena(2, kWindow).execute([&] {
    pn::tbb::parallel_offload(kFirst, kLast, kWindow, [&](int i) {
      // Relaxed: counters read after parallel_offload returned (its task group joined them).
      const int now = running.fetch_add(1, std::memory_order_relaxed) + 1;
      int high = peak.load(std::memory_order_relaxed);
      while (now > high && !peak.compare_exchange_weak(high, now, std::memory_order_relaxed)) {
      }
      const pn::tbb::OffloadResult result =
          pn::tbb::offload(runtime.device(), static_cast<std::uint64_t>(i));
      if (result.submit != pn::SubmitResult::kAccepted ||
          result.user_data != static_cast<std::uint64_t>(i)) {
        mismatched.fetch_add(1, std::memory_order_relaxed);
      }
      seen[static_cast<std::size_t>(i)].fetch_add(1, std::memory_order_relaxed);
      running.fetch_sub(1, std::memory_order_relaxed);
    });
  });
  ASSERT_TRUE(runtime.stop());
  for (int i = 0; i < kLast; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)].load(), i >= kFirst);
  EXPECT_LE(peak.load(), kWindow);
  EXPECT_GT(peak.load(), 2) << "bodies overlap: the tasks suspend instead of blocking workers";
  EXPECT_EQ(mismatched.load(), 0);
}

TEST(TbbParallelOffload, EmptyRangesAndBadWindows) {
  int calls = 0;
  oneapi::tbb::task_arena(1).execute([&] {
    pn::tbb::parallel_offload(5, 5, 4, [&](int) { ++calls; });
    pn::tbb::parallel_offload(9, 3, 4, [&](int) { ++calls; });
    pn::tbb::parallel_offload(0, 3, 100, [&](int) { ++calls; });  // fewer items than tasks
  });
  EXPECT_EQ(calls, 3);
  EXPECT_THROW(pn::tbb::parallel_offload(0, 3, 0, [](int) {}), std::invalid_argument);
}

TEST(TbbOffloadArena, ThreadsAndCoroutineRoom) {
  oneapi::tbb::task_arena arena = pn::tbb::offload_arena(2, 256);
  arena.initialize();
  EXPECT_EQ(arena.max_concurrency(), 64) << "4 coroutines per slot: 64 slots for 256";
  EXPECT_EQ(pn::tbb::offload_arena(3, 0).max_concurrency(), 3);
  EXPECT_THROW(pn::tbb::offload_arena(0, 8), std::invalid_argument);
  EXPECT_THROW(pn::tbb::offload_arena(2, -1), std::invalid_argument);
  EXPECT_THROW(pn::tbb::offload_arena(2, 65'537), std::invalid_argument);
}

}  // namespace
