// The drivers' per-thread submission channels (internal/submission_channels.hpp): credits per
// channel, stamped payloads from many threads in order per thread, the consumer's park, channels
// given back at thread exit and reused, the limit, and a channel outliving its device.
#include "pollnotify/internal/submission_channels.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <barrier>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "pollnotify/sim_device.hpp"
#include "pollnotify/wait_ctx.hpp"
#include "test_support.hpp"

namespace {

using pn::SubmitResult;
using pn::internal::SubmissionChannels;

// A request stamped with its submitter and sequence number, padded over a cache line so that a
// torn copy would show.
struct Stamped {
  pn::WaitCtx* ctx = nullptr;
  pn::RequestTicket ticket{};
  std::uint32_t channel = 0;
  std::uint32_t thread = 0;
  std::uint64_t sequence = 0;
  std::array<std::uint64_t, 8> copies{};  // each = sequence * 31 + thread
};

Stamped stamp(std::uint32_t thread, std::uint64_t sequence) {
  Stamped request;
  request.thread = thread;
  request.sequence = sequence;
  request.copies.fill(sequence * 31 + thread);
  return request;
}

bool intact(const Stamped& request) {
  for (std::uint64_t copy : request.copies) {
    if (copy != request.sequence * 31 + request.thread) return false;
  }
  return true;
}

TEST(SubmissionChannels, RefusesPastItsCreditsAndTakesMoreOnceGivenBack) {
  SubmissionChannels<Stamped> channels(nullptr, 3);
  pn::WaitCtxPtr ctx = pn::WaitCtx::make();
  for (std::uint64_t i = 0; i < 3; ++i) {
    ASSERT_EQ(channels.admit(*ctx, stamp(0, i)), SubmitResult::kAccepted);
  }
  EXPECT_EQ(channels.admit(*ctx, stamp(0, 3)), SubmitResult::kRetry);
  EXPECT_EQ(ctx->status(), static_cast<int>(pn::AsyncStatus::kEagain));
  EXPECT_EQ(channels.in_flight(), 3U);
  Stamped taken;
  ASSERT_TRUE(channels.try_pop(taken));
  EXPECT_EQ(taken.sequence, 0U);
  // Taken is not given back: the credit is still out.
  EXPECT_EQ(channels.admit(*ctx, stamp(0, 3)), SubmitResult::kRetry);
  channels.give_back(taken.channel);
  EXPECT_EQ(channels.admit(*ctx, stamp(0, 3)), SubmitResult::kAccepted);
  const pn::DeviceStats stats = channels.snapshot();
  EXPECT_EQ(stats.submitted, 6U);
  EXPECT_EQ(stats.accepted, 4U);
  EXPECT_EQ(stats.refused_full, 2U);
  EXPECT_EQ(stats.in_flight, 3U);
}

TEST(SubmissionChannels, ClosedRefusesWithErr) {
  SubmissionChannels<Stamped> channels(nullptr, 4);
  pn::WaitCtxPtr ctx = pn::WaitCtx::make();
  channels.closed.store(true, std::memory_order_relaxed);
  EXPECT_EQ(channels.admit(*ctx, stamp(0, 0)), SubmitResult::kFailed);
  EXPECT_EQ(ctx->status(), static_cast<int>(pn::AsyncStatus::kErr));
  EXPECT_EQ(channels.snapshot().failed, 1U);
}

// Several threads, each with a few credits, against one consumer that parks when idle: every
// request arrives once, intact, and in order per thread.
TEST(SubmissionChannelsRaces, StampedPayloadsArriveIntactAndInOrderPerThread) {
  constexpr std::uint32_t kThreads = 4;
  const std::uint64_t per_thread = pn::test::kSanitized ? 5'000 : 50'000;
  SubmissionChannels<Stamped> channels(nullptr, 8);
  std::atomic<bool> producers_done{false};
  std::vector<std::uint64_t> next(kThreads, 0);
  std::uint64_t received = 0;
  bool all_intact = true;
  bool all_in_order = true;
  std::thread consumer([&] {
    Stamped request;
    const auto check = [&] {
      all_intact = all_intact && intact(request);
      all_in_order = all_in_order && request.sequence == next[request.thread];
      ++next[request.thread];
      ++received;
      channels.give_back(request.channel);
    };
    for (;;) {
      if (channels.try_pop(request)) {
        check();
      } else if (producers_done.load(std::memory_order_acquire)) {  // CHT-A1: pairs with CHT-R1
        // Every request was queued before the flag: one more empty pop ends the run.
        if (!channels.try_pop(request)) break;
        check();
      } else {
        channels.wait_for_requests(std::chrono::milliseconds(50));
      }
    }
  });
  std::vector<std::thread> producers;
  std::vector<pn::WaitCtxPtr> contexts;
  for (std::uint32_t t = 0; t < kThreads; ++t) contexts.push_back(pn::WaitCtx::make());
  for (std::uint32_t t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      // Bounded: credits that never come back end the thread (the count below then fails).
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      for (std::uint64_t i = 0; i < per_thread;) {
        if (channels.admit(*contexts[t], stamp(t, i)) == SubmitResult::kAccepted) {
          ++i;
          deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        } else if (std::chrono::steady_clock::now() > deadline) {
          return;
        } else {
          std::this_thread::yield();
        }
      }
    });
  }
  for (std::thread& producer : producers) producer.join();
  producers_done.store(true, std::memory_order_release);  // CHT-R1: pairs with CHT-A1
  consumer.join();
  EXPECT_TRUE(all_intact);
  EXPECT_TRUE(all_in_order);
  EXPECT_EQ(received, kThreads * per_thread);
  const pn::DeviceStats stats = channels.snapshot();
  EXPECT_EQ(stats.accepted, kThreads * per_thread);
  EXPECT_EQ(stats.in_flight, 0U);
}

// A parked consumer wakes for a request well before its timeout (a lost wakeup would sleep the
// whole 5 s).
TEST(SubmissionChannelsRaces, AParkedConsumerWakesForARequest) {
  for (int round = 0; round < 20; ++round) {
    SubmissionChannels<Stamped> channels(nullptr, 4);
    pn::WaitCtxPtr ctx = pn::WaitCtx::make();
    std::atomic<bool> woke{false};
    std::thread consumer([&] {
      Stamped request;
      const auto start = std::chrono::steady_clock::now();
      while (!channels.try_pop(request)) {
        if (std::chrono::steady_clock::now() - start > std::chrono::seconds(5)) return;
        channels.wait_for_requests(std::chrono::seconds(5));
      }
      woke.store(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(2500),
                 std::memory_order_relaxed);  // read after join
    });
    std::this_thread::yield();
    ASSERT_EQ(channels.admit(*ctx, stamp(0, 0)), SubmitResult::kAccepted);
    consumer.join();
    ASSERT_TRUE(woke.load(std::memory_order_relaxed)) << "round " << round;
  }
}

// A thread that exits gives its channel back; the next thread takes it once its requests are
// given back, so any number of short-lived threads uses few channels.
TEST(SubmissionChannels, ChannelsOfExitedThreadsAreReused) {
  SubmissionChannels<Stamped> channels(nullptr, 2);
  pn::WaitCtxPtr ctx = pn::WaitCtx::make();
  for (std::uint32_t t = 0; t < 3 * pn::internal::kMaxChannels; ++t) {
    SubmitResult result = SubmitResult::kFailed;
    std::thread([&] { result = channels.admit(*ctx, stamp(t, 0)); }).join();
    ASSERT_EQ(result, SubmitResult::kAccepted) << "thread " << t;
    Stamped request;
    ASSERT_TRUE(channels.try_pop(request));
    EXPECT_EQ(request.thread, t);
    channels.give_back(request.channel);
  }
  EXPECT_EQ(channels.snapshot().accepted, 3 * pn::internal::kMaxChannels);
}

// A thread that exits with requests still queued: they are taken and completed as usual, and
// its channel is not handed to another thread before that.
TEST(SubmissionChannels, AThreadExitingWithRequestsQueuedLeavesThemToTheConsumer) {
  SubmissionChannels<Stamped> channels(nullptr, 4);
  pn::WaitCtxPtr ctx = pn::WaitCtx::make();
  std::thread([&] {
    for (std::uint64_t i = 0; i < 4; ++i) (void)channels.admit(*ctx, stamp(1, i));
  }).join();
  SubmitResult second = SubmitResult::kFailed;
  std::thread([&] { second = channels.admit(*ctx, stamp(2, 0)); }).join();
  EXPECT_EQ(second, SubmitResult::kAccepted);  // a channel of its own
  int from_first = 0;
  int from_second = 0;
  Stamped request;
  while (channels.try_pop(request)) {
    (request.thread == 1 ? from_first : from_second) += 1;
    channels.give_back(request.channel);
  }
  EXPECT_EQ(from_first, 4);
  EXPECT_EQ(from_second, 1);
}

// Past kMaxChannels threads holding a channel at once, the next threads share one queue with
// `capacity` credits: accepted (no ERR, no block), EAGAIN when that queue is full, and
// completed like the others.
TEST(SubmissionChannels, ThreadsPastTheChannelLimitShareAQueue) {
  SubmissionChannels<Stamped> channels(nullptr, 1);
  pn::WaitCtxPtr ctx = pn::WaitCtx::make();
  std::barrier all_hold(pn::internal::kMaxChannels + 1);
  std::vector<std::thread> holders;
  for (std::uint32_t t = 0; t < pn::internal::kMaxChannels; ++t) {
    holders.emplace_back([&, t] {
      (void)channels.admit(*ctx, stamp(t, 0));
      all_hold.arrive_and_wait();  // every channel is owned
      all_hold.arrive_and_wait();  // the extra threads have tried
    });
  }
  all_hold.arrive_and_wait();
  SubmitResult first = SubmitResult::kFailed;
  SubmitResult second = SubmitResult::kFailed;
  std::thread([&] { first = channels.admit(*ctx, stamp(100, 0)); }).join();
  std::thread([&] { second = channels.admit(*ctx, stamp(101, 0)); }).join();
  EXPECT_EQ(first, SubmitResult::kAccepted);
  EXPECT_EQ(second, SubmitResult::kRetry);  // the shared queue's one credit is out
  EXPECT_EQ(channels.in_flight(), pn::internal::kMaxChannels + 1);
  all_hold.arrive_and_wait();
  for (std::thread& holder : holders) holder.join();
  std::uint32_t shared = 0;
  std::uint32_t taken = 0;
  Stamped request;
  while (channels.try_pop(request)) {
    ++taken;
    if (request.channel == SubmissionChannels<Stamped>::kSharedQueue) {
      ++shared;
      EXPECT_EQ(request.thread, 100U);
    }
    channels.give_back(request.channel);
  }
  EXPECT_EQ(taken, pn::internal::kMaxChannels + 1);
  EXPECT_EQ(shared, 1U);
  EXPECT_EQ(channels.in_flight(), 0U);
  EXPECT_EQ(channels.snapshot().failed, 0U);
}

// The channels go away while a thread still holds one: its exit touches only memory it keeps
// alive (ASan would see a use after free).
TEST(SubmissionChannels, AThreadOutlivingTheChannelsExitsCleanly) {
  std::optional<SubmissionChannels<Stamped>> channels(std::in_place, nullptr, 4);
  pn::WaitCtxPtr ctx = pn::WaitCtx::make();
  std::barrier step(2);
  std::thread holder([&] {
    EXPECT_EQ(channels->admit(*ctx, stamp(0, 0)), SubmitResult::kAccepted);
    step.arrive_and_wait();  // submitted
    step.arrive_and_wait();  // the channels are gone
    // A second set of channels: this thread's lease on the first is dropped, not reused.
    SubmissionChannels<Stamped> fresh(nullptr, 4);
    EXPECT_EQ(fresh.admit(*ctx, stamp(0, 1)), SubmitResult::kAccepted);
  });
  step.arrive_and_wait();
  channels.reset();
  step.arrive_and_wait();
  holder.join();
}

// Through a device: requests queued in every thread's channel when the device is destroyed each
// get their completion (ERR), exactly once.
TEST(SubmissionChannelsTeardown, DestroyingADeviceEndsTheRequestsOfEveryChannel) {
  constexpr int kThreads = 6;
  constexpr int kPerThread = 10;
  pn::PollerOptions polled_here;
  polled_here.policy = pn::PollPolicy::kExternal;
  pn::Poller poller(polled_here);
  std::atomic<int> completions{0};
  std::vector<pn::WaitCtxPtr> contexts;
  for (int i = 0; i < kThreads * kPerThread; ++i) {
    contexts.push_back(pn::WaitCtx::make());
    contexts.back()->set_callback(pn::test::count_callback, &completions);
  }
  {
    pn::SimDeviceOptions options;
    options.instances[0].latency.kind = pn::LatencyKind::kFixed;
    options.instances[0].latency.first = 3.6e12;  // never due while the test runs
    options.instances[0].capacity = kPerThread;   // per submitting thread
    pn::Poller* const pollers[] = {&poller};
    pn::SimDevice device(options, pollers);
    std::vector<std::thread> threads;
    std::atomic<int> accepted{0};
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          if (device.submit(*contexts[t * kPerThread + i], 0) == SubmitResult::kAccepted) {
            accepted.fetch_add(1, std::memory_order_relaxed);  // read after join
          }
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    ASSERT_EQ(accepted.load(std::memory_order_relaxed), kThreads * kPerThread);
    EXPECT_EQ(device.in_flight(), static_cast<std::uint64_t>(kThreads * kPerThread));
  }
  // The device ended them through its ring on the poller, which delivers them.
  EXPECT_TRUE(pn::test::eventually([&] {
    (void)poller.poll_once();
    return completions.load(std::memory_order_relaxed) >= kThreads * kPerThread;
  }));
  EXPECT_EQ(completions.load(std::memory_order_relaxed), kThreads * kPerThread);
  for (const pn::WaitCtxPtr& ctx : contexts)
    EXPECT_EQ(ctx->status(), static_cast<int>(pn::AsyncStatus::kErr));
}

}  // namespace
