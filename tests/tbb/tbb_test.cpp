// Offload from oneTBB tasks, suspend style (offload) and continuation style (offload_then,
// parallel_offload, offload_node): exactly once under stress (random latencies, ERR and EAGAIN
// faults, every polling policy), nested parallelism, external polling driven from a TBB task,
// cancellation through task_group_context with requests in flight, a device torn down while
// requests wait, and a call outside any task.
#include <gtest/gtest.h>
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
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

// A device that says when each submit call has returned, so that a test may destroy the device
// it wraps only once no submit is still running in it.
class ReturnCountingDevice final : public pn::Device {
 public:
  explicit ReturnCountingDevice(pn::Device& inner) : inner_(inner) {}
  pn::SubmitResult submit(pn::WaitCtx& ctx, std::uint64_t user_data) noexcept override {
    const pn::SubmitResult result = inner_.submit(ctx, user_data);
    returned_.fetch_add(1, std::memory_order_release);  // TBBT-R2: pairs with TBBT-A2
    return result;
  }
  [[nodiscard]] std::uint64_t capacity() const noexcept override { return inner_.capacity(); }
  [[nodiscard]] std::uint64_t in_flight() const noexcept override { return inner_.in_flight(); }
  [[nodiscard]] pn::DeviceStats stats() const noexcept override { return inner_.stats(); }
  [[nodiscard]] std::string_view name() const noexcept override { return inner_.name(); }
  // Waits (at most 60 s) until `calls` submit calls have returned.
  bool wait_for_returns(std::uint64_t calls) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    // TBBT-A2: pairs with TBBT-R2: those calls are over.
    while (returned_.load(std::memory_order_acquire) < calls) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::yield();
    }
    return true;
  }

 private:
  pn::Device& inner_;
  std::atomic<std::uint64_t> returned_{0};
};

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

// A started runtime whose requests take an hour: they end only with the device's teardown.
std::unique_ptr<pn::SimRuntime> hour_long_runtime() {
  auto runtime = std::make_unique<pn::SimRuntime>(
      sim_options(pn::PollPolicy::kAdaptive, "fixed:3600000000000"));
  EXPECT_TRUE(runtime->start());
  return runtime;
}

// Once every one of `items` submits has returned (no call still runs in the device) and was
// accepted, destroys the hour_long_runtime(): its pollers stop and the device completes every
// request with ERR, which must reach each waiting task.
void tear_down_while_waiting(std::unique_ptr<pn::SimRuntime>& runtime, ReturnCountingDevice& device,
                             std::thread& tasks, Tally& tally, int items) {
  EXPECT_TRUE(device.wait_for_returns(items));
  EXPECT_EQ(runtime->device().in_flight(), static_cast<std::uint64_t>(items));
  runtime.reset();
  tasks.join();
  EXPECT_EQ(tally.err.load(), items);
}

// The device goes away (runtime destroyed on another thread) while tasks wait for completions
// that would take an hour: the teardown completes them with ERR, which resumes every task.
TEST(TbbOffload, DeviceTornDownWhileTasksAreSuspended) {
  constexpr int kItems = 40;
  auto runtime = hour_long_runtime();
  ReturnCountingDevice device(runtime->device());
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
  tear_down_while_waiting(runtime, device, tasks, tally, kItems);
}

TEST(TbbOffload, OutsideATaskFails) {
  pn::SimRuntime runtime(sim_options(pn::PollPolicy::kExternal, "zero"));
  const pn::tbb::OffloadResult result = pn::tbb::offload(runtime.device(), 1);
  EXPECT_EQ(result.submit, pn::SubmitResult::kFailed);
  EXPECT_EQ(runtime.device().stats().submitted, 0U);
}

// A started runtime whose device refuses every submission with EAGAIN.
std::unique_ptr<pn::SimRuntime> refusing_runtime() {
  pn::SimRuntimeOptions options = sim_options(pn::PollPolicy::kAdaptive, "zero");
  options.device.instances[0].refuse_rate = 1;
  auto runtime = std::make_unique<pn::SimRuntime>(options);
  EXPECT_TRUE(runtime->start());
  return runtime;
}

// The outcome of an offload with OffloadOptions{5, ...} on refusing_runtime(): five retries,
// six refusals, then EAGAIN.
void expect_gave_up_after_five_retries(const pn::tbb::OffloadResult& result,
                                       pn::SimRuntime& runtime) {
  EXPECT_EQ(result.submit, pn::SubmitResult::kRetry);
  EXPECT_EQ(result.status, PN_ASYNC_STATUS_EAGAIN);
  EXPECT_EQ(result.retries, 5U);
  EXPECT_EQ(runtime.device().stats().refused_other, 6U);
  EXPECT_TRUE(runtime.stop());
}

TEST(TbbOffload, GivesUpAfterTheRetryBound) {
  const auto runtime = refusing_runtime();
  pn::tbb::OffloadResult result;
  oneapi::tbb::task_arena arena(1);
  arena.execute([&] {
    oneapi::tbb::task_group group;
    group.run([&] {
      result = pn::tbb::offload(runtime->device(), 1, pn::tbb::OffloadOptions{5, 4});
    });
    group.wait();
  });
  expect_gave_up_after_five_retries(result, *runtime);
}

}  // namespace

namespace {

// parallel_window: every index exactly once, never more than `window` bodies at once, and the
// completions carry each item's own user_data back.
TEST(TbbParallelWindow, EveryIndexOnceWithinTheWindow) {
  pn::SimRuntime runtime(sim_options(pn::PollPolicy::kAdaptive, "exp:2000"));
  ASSERT_TRUE(runtime.start());
  constexpr int kFirst = 7, kLast = 5007, kWindow = 16;
  std::vector<std::atomic<int>> seen(kLast);
  std::atomic<int> running{0}, peak{0}, mismatched{0};
  pn::tbb::offload_arena(2, kWindow).execute([&] {
    pn::tbb::parallel_window(kFirst, kLast, kWindow, [&](int i) {
      // Relaxed: counters read after parallel_window returned (its task group joined them).
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

TEST(TbbParallelWindow, EmptyRangesAndBadWindows) {
  int calls = 0;
  oneapi::tbb::task_arena(1).execute([&] {
    pn::tbb::parallel_window(5, 5, 4, [&](int) { ++calls; });
    pn::tbb::parallel_window(9, 3, 4, [&](int) { ++calls; });
    pn::tbb::parallel_window(0, 3, 100, [&](int) { ++calls; });  // fewer items than tasks
  });
  EXPECT_EQ(calls, 3);
  EXPECT_THROW(pn::tbb::parallel_window(0, 3, 0, [](int) {}), std::invalid_argument);
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

namespace {

// --- continuation style ---

// Every request gets exactly one continuation, under random latencies with ERR and EAGAIN faults,
// for every polling policy: the continuations, the callbacks and the device's acceptances agree,
// and every item's own user_data comes back.
void continuation_stress(pn::PollPolicy policy, const char* latency) {
  constexpr int kItems = 5000, kWindow = 48;
  pn::SimRuntimeOptions options = sim_options(policy, latency);
  options.device.instances[0].error_rate = 0.05;
  options.device.instances[0].refuse_rate = 0.05;
  pn::SimRuntime runtime(options);
  ASSERT_TRUE(runtime.start());
  Tally tally;
  std::vector<std::atomic<int>> seen(kItems);
  std::atomic<int> mismatched{0};
  oneapi::tbb::task_arena(2).execute([&] {
    pn::tbb::parallel_offload(
        runtime.device(), 0, kItems, kWindow, [](int item) { return item; },
        [&](int item, const pn::tbb::OffloadResult& result) {
          // Relaxed: read after parallel_offload returned (its group's wait joined them).
          seen[static_cast<std::size_t>(item)].fetch_add(1, std::memory_order_relaxed);
          if (result.submit == pn::SubmitResult::kAccepted &&
              result.user_data != static_cast<std::uint64_t>(item)) {
            mismatched.fetch_add(1, std::memory_order_relaxed);
          }
          tally.add(result);
        });
  });
  ASSERT_TRUE(runtime.stop());
  for (int i = 0; i < kItems; ++i) {
    ASSERT_EQ(seen[static_cast<std::size_t>(i)].load(), 1) << "item " << i;
  }
  const int accepted = tally.ok.load() + tally.err.load();
  EXPECT_EQ(accepted + tally.gave_up.load() + tally.failed.load(), kItems);
  EXPECT_EQ(tally.gave_up.load(), 0);
  EXPECT_EQ(tally.wrong.load(), 0);
  EXPECT_EQ(mismatched.load(), 0);
  EXPECT_EQ(static_cast<std::uint64_t>(accepted), runtime.device().stats().accepted);
  EXPECT_EQ(runtime.stats().total.callbacks, static_cast<std::uint64_t>(accepted));
  EXPECT_GT(tally.err.load(), 0) << "ERR completions were injected";
  EXPECT_GT(runtime.device().stats().refused_other, 0U) << "EAGAIN was injected";
}

TEST(TbbContinuation, ExactlyOnceUnderStressBusy) {
  continuation_stress(pn::PollPolicy::kBusy, "exp:3000");
}
TEST(TbbContinuation, ExactlyOnceUnderStressAdaptive) {
  continuation_stress(pn::PollPolicy::kAdaptive, "exp:3000");
}
TEST(TbbContinuation, ExactlyOnceUnderStressTimed) {
  continuation_stress(pn::PollPolicy::kTimed, "exp:3000");
}
// Zero latency: the completion (and its continuation) often comes before offload_then returns.
TEST(TbbContinuation, CompletionBeforeTheCallReturns) {
  continuation_stress(pn::PollPolicy::kBusy, "zero");
}

// A window larger than the device's capacity: refusals are retried from tasks at the back of the
// arena until every item is accepted.
TEST(TbbContinuation, WindowAboveTheDeviceCapacityIsRetried) {
  pn::SimRuntimeOptions options = sim_options(pn::PollPolicy::kAdaptive, "exp:2000");
  options.device.instances[0].capacity = 8;
  pn::SimRuntime runtime(options);
  ASSERT_TRUE(runtime.start());
  Tally tally;
  oneapi::tbb::task_arena(2).execute([&] {
    pn::tbb::parallel_offload(
        runtime.device(), 0, 2000, 64, [](int item) { return item; },
        [&](int, const pn::tbb::OffloadResult& result) { tally.add(result); });
  });
  ASSERT_TRUE(runtime.stop());
  EXPECT_EQ(tally.ok.load(), 2000);
  EXPECT_GT(runtime.device().stats().refused_full, 0U) << "the window outran the device";
}

// Nested parallelism both ways: parallel_offload from inside parallel_for bodies (its waiting
// task suspends, so the thread goes on running continuations), and a parallel_for inside the
// continuations.
TEST(TbbContinuation, NestedParallelism) {
  pn::SimRuntime runtime(sim_options(pn::PollPolicy::kAdaptive, "exp:2000"));
  ASSERT_TRUE(runtime.start());
  Tally tally;
  std::atomic<int> inner_iterations{0};
  oneapi::tbb::task_arena(2).execute([&] {
    oneapi::tbb::parallel_for(0, 16, [&](int) {
      pn::tbb::parallel_offload(
          runtime.device(), 0, 50, 8, [](int item) { return item; },
          [&](int, const pn::tbb::OffloadResult& result) { tally.add(result); });
    });
    pn::tbb::parallel_offload(
        runtime.device(), 0, 20, 8, [](int item) { return item; },
        [&](int, const pn::tbb::OffloadResult& result) {
          tally.add(result);
          oneapi::tbb::parallel_for(0, 4, [&](int) {
            inner_iterations.fetch_add(1, std::memory_order_relaxed);  // read after the join
          });
        });
  });
  ASSERT_TRUE(runtime.stop());
  EXPECT_EQ(tally.ok.load(), 16 * 50 + 20);
  EXPECT_EQ(inner_iterations.load(), 20 * 4);
}

// offload_then by itself, from the thread in the arena's execute(): one continuation per call.
TEST(TbbContinuation, OffloadThenRunsOneContinuationPerCall) {
  pn::SimRuntime runtime(sim_options(pn::PollPolicy::kAdaptive, "exp:2000"));
  ASSERT_TRUE(runtime.start());
  oneapi::tbb::task_arena arena(2);
  std::atomic<int> continuations{0};
  std::atomic<std::uint64_t> sum{0};
  arena.execute([&] {
    oneapi::tbb::task_group group;
    for (int i = 1; i <= 50; ++i) {
      pn::tbb::offload_then(runtime.device(), static_cast<std::uint64_t>(i), arena, group,
                            [&](const pn::tbb::OffloadResult& result) {
                              // Relaxed: read after group.wait().
                              continuations.fetch_add(1, std::memory_order_relaxed);
                              sum.fetch_add(result.user_data, std::memory_order_relaxed);
                            });
    }
    group.wait();
  });
  ASSERT_TRUE(runtime.stop());
  EXPECT_EQ(continuations.load(), 50);
  EXPECT_EQ(sum.load(), 50U * 51U / 2U);
}

// Cancelling the group while requests are in the device: the continuations not run yet are
// skipped, the requests already accepted are still completed, and group.wait() returns.
TEST(TbbContinuation, CancelledGroupWithRequestsInFlight) {
  pn::SimRuntime runtime(sim_options(pn::PollPolicy::kAdaptive, "fixed:100000000"));  // 100 ms
  ASSERT_TRUE(runtime.start());
  oneapi::tbb::task_arena arena(2);
  std::atomic<int> continuations{0};
  oneapi::tbb::task_group_status status = oneapi::tbb::complete;
  arena.execute([&] {
    oneapi::tbb::task_group group;
    for (int i = 0; i < 40; ++i) {
      pn::tbb::offload_then(runtime.device(), static_cast<std::uint64_t>(i), arena, group,
                            [&](const pn::tbb::OffloadResult&) {
                              continuations.fetch_add(1, std::memory_order_relaxed);
                            });
    }
    EXPECT_EQ(runtime.device().in_flight(), 40U) << "all 40 are in the device (100 ms each)";
    group.cancel();
    status = group.wait();
  });
  EXPECT_EQ(status, oneapi::tbb::canceled);
  EXPECT_EQ(continuations.load(), 0) << "a cancelled group runs no continuation";
  ASSERT_TRUE(runtime.stop());  // every accepted request still completes
  EXPECT_EQ(runtime.stats().total.callbacks, 40U);
}

// The device goes away while requests wait an hour: its teardown completes them with ERR, and
// every continuation runs with it.
TEST(TbbContinuation, DeviceTornDownWhileRequestsWait) {
  constexpr int kItems = 40;
  auto runtime = hour_long_runtime();
  ReturnCountingDevice device(runtime->device());
  Tally tally;
  std::thread tasks([&] {
    oneapi::tbb::task_arena(2).execute([&] {
      pn::tbb::parallel_offload(
          device, 0, kItems, kItems, [](int item) { return item; },
          [&](int, const pn::tbb::OffloadResult& result) { tally.add(result); });
    });
  });
  tear_down_while_waiting(runtime, device, tasks, tally, kItems);
}

TEST(TbbContinuation, GivesUpAfterTheRetryBound) {
  const auto runtime = refusing_runtime();
  pn::tbb::OffloadResult seen;
  oneapi::tbb::task_arena arena(1);
  arena.execute([&] {
    oneapi::tbb::task_group group;
    pn::tbb::offload_then(
        runtime->device(), 1, arena, group,
        [&](const pn::tbb::OffloadResult& result) { seen = result; },
        pn::tbb::OffloadOptions{5, 4});
    group.wait();
  });
  expect_gave_up_after_five_retries(seen, *runtime);
}

// An exception from on_result cancels the rest of the range and reaches the caller; the
// requests already in the device are still completed.
TEST(TbbContinuation, AnExceptionFromOnResultEndsTheRange) {
  pn::SimRuntime runtime(sim_options(pn::PollPolicy::kAdaptive, "exp:2000"));
  ASSERT_TRUE(runtime.start());
  std::atomic<int> results{0};
  bool thrown = false;
  oneapi::tbb::task_arena(2).execute([&] {
    try {
      pn::tbb::parallel_offload(
          runtime.device(), 0, 10'000, 16, [](int item) { return item; },
          [&](int item, const pn::tbb::OffloadResult&) {
            results.fetch_add(1, std::memory_order_relaxed);  // read after the join
            if (item == 100) throw std::runtime_error("item 100");
          });
    } catch (const std::runtime_error& error) {
      thrown = std::string(error.what()) == "item 100";
    }
  });
  EXPECT_TRUE(thrown);
  EXPECT_LT(results.load(), 10'000) << "the rest of the range was cancelled";
  ASSERT_TRUE(runtime.stop());
  EXPECT_EQ(runtime.in_flight(), 0U);
}

TEST(TbbContinuation, BadWindowsAndEmptyRanges) {
  pn::SimRuntime runtime(sim_options(pn::PollPolicy::kExternal, "zero"));
  int calls = 0;
  const auto count = [&](int, const pn::tbb::OffloadResult&) { ++calls; };
  oneapi::tbb::task_arena(1).execute([&] {
    pn::tbb::parallel_offload(
        runtime.device(), 5, 5, 4, [](int i) { return i; }, count);
    pn::tbb::parallel_offload(
        runtime.device(), 9, 3, 4, [](int i) { return i; }, count);
  });
  EXPECT_EQ(calls, 0);
  EXPECT_THROW(pn::tbb::parallel_offload(
                   runtime.device(), 0, 3, 0, [](int i) { return i; }, count),
               std::invalid_argument);
}

// --- async_node ---

// Every message through the offload node once, with ERR and EAGAIN faults; the graph's wait
// covers the requests in flight, and the node's bound keeps the device from filling up.
TEST(TbbOffloadNode, EveryMessageOnceUnderStress) {
  constexpr int kMessages = 5000;
  pn::SimRuntimeOptions options = sim_options(pn::PollPolicy::kAdaptive, "exp:3000");
  options.device.instances[0].error_rate = 0.05;
  options.device.instances[0].refuse_rate = 0.05;
  pn::SimRuntime runtime(options);
  ASSERT_TRUE(runtime.start());
  namespace flow = oneapi::tbb::flow;
  std::vector<int> seen(kMessages, 0);
  int errors = 0, others = 0;
  oneapi::tbb::task_arena(2).execute([&] {
    flow::graph graph;
    int next = 0;
    flow::input_node<int> source(graph, [&](oneapi::tbb::flow_control& control) {
      if (next == kMessages) control.stop();
      return next++;
    });
    struct Out {
      int item;
      int status;
    };
    pn::tbb::offload_node<int, Out> offload(
        graph, runtime.device(), /*max_in_flight=*/48,
        [](int item) { return static_cast<std::uint64_t>(item); },
        [](const pn::tbb::OffloadResult& result) {
          return Out{result.submit == pn::SubmitResult::kAccepted
                         ? static_cast<int>(result.user_data)
                         : -1,
                     result.status};
        });
    flow::function_node<Out> sink(graph, flow::serial, [&](const Out& out) {
      if (out.item < 0) {
        ++others;
      } else {
        ++seen[static_cast<std::size_t>(out.item)];
        errors += out.status == PN_ASYNC_STATUS_ERR;
      }
    });
    flow::make_edge(source, offload);
    flow::make_edge(offload, sink);
    source.activate();
    graph.wait_for_all();
  });
  ASSERT_TRUE(runtime.stop());
  for (int i = 0; i < kMessages; ++i) ASSERT_EQ(seen[static_cast<std::size_t>(i)], 1) << i;
  EXPECT_EQ(others, 0);
  EXPECT_GT(errors, 0) << "ERR completions were injected";
  EXPECT_EQ(runtime.stats().total.callbacks, static_cast<std::uint64_t>(kMessages));
  EXPECT_EQ(runtime.device().stats().refused_full, 0U)
      << "the node kept at most 48 requests in a device that holds 64";
}

TEST(TbbOffloadNode, AtLeastOneRequestInFlight) {
  pn::SimRuntime runtime(sim_options(pn::PollPolicy::kExternal, "zero"));
  oneapi::tbb::flow::graph graph;
  const auto user_data_of = [](int item) { return static_cast<std::uint64_t>(item); };
  const auto output_of = [](const pn::tbb::OffloadResult&) { return 0; };
  EXPECT_THROW(
      (pn::tbb::offload_node<int, int>(graph, runtime.device(), 0, user_data_of, output_of)),
      std::invalid_argument);
}

}  // namespace
