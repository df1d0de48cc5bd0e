// Concurrent use of the wait context's atomic state (run under TSAN in CI): a writer keeps
// changing the callback pair and status while readers check every pair they see was set together.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <thread>
#include <vector>

#include "pollnotify/wait_ctx.hpp"

namespace {

template <int N>
int tagged_callback(void* arg) {
  return *static_cast<int*>(arg) == N ? N : -1;
}

#if defined(__SANITIZE_THREAD__)
constexpr int kWrites = 20'000;
#else
constexpr int kWrites = 400'000;
#endif

TEST(WaitCtxConcurrency, CallbackPairIsNeverTorn) {
  auto ctx = pn::WaitCtx::make();
  static std::array<int, 4> tags = {0, 1, 2, 3};
  const std::array<pn::CallbackFn, 4> callbacks = {tagged_callback<0>, tagged_callback<1>,
                                                   tagged_callback<2>, tagged_callback<3>};
  ctx->set_callback(callbacks[0], &tags[0]);
  std::atomic<bool> done{false};
  std::atomic<long> torn{0};
  std::atomic<long> reads{0};  // both readers' reads so far

  auto reader = [&] {
    // Relaxed: a stop flag and counters; the joins publish the final values.
    while (!done.load(std::memory_order_relaxed)) {
      const auto pair = ctx->get_callback();
      // A missing pair counts as torn (no assertion here: it would only end this thread, and
      // the writer waits for reads). The callback returns its own tag only when called with the
      // argument set beside it.
      if (!pair.has_value() || pair->fn(pair->arg) < 0)
        torn.fetch_add(1, std::memory_order_relaxed);
      reads.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::thread reader_a(reader);
  std::thread reader_b(reader);
  // Keep writing until the readers, however late the scheduler starts them, have read a lot
  // while writes were going on.
  for (long i = 0; i < kWrites || reads.load(std::memory_order_relaxed) < 2 * kWrites / 10; ++i) {
    const int which = static_cast<int>(i % 4);
    ctx->set_callback(callbacks[which], &tags[which]);
    ctx->set_status(static_cast<pn::AsyncStatus>(1 + i % 3));
  }
  done.store(true, std::memory_order_relaxed);
  reader_a.join();
  reader_b.join();
  EXPECT_EQ(torn.load(std::memory_order_relaxed), 0);
  EXPECT_GT(reads.load(std::memory_order_relaxed), 0);
}

TEST(WaitCtxConcurrency, TwoWritersNeverPublishAMixedPair) {
  auto ctx = pn::WaitCtx::make();
  static std::array<int, 4> tags = {0, 1, 2, 3};
  ctx->set_callback(tagged_callback<0>, &tags[0]);
  std::atomic<bool> done{false};
  std::atomic<long> torn{0};
  std::thread reader([&] {
    while (!done.load(std::memory_order_relaxed)) {  // relaxed: stop flag
      const auto pair = ctx->get_callback();
      if (pair->fn(pair->arg) < 0) torn.fetch_add(1, std::memory_order_relaxed);
    }
  });
  std::thread writer_b([&] {
    for (int i = 0; i < kWrites / 4; ++i) ctx->set_callback(tagged_callback<2>, &tags[2]);
  });
  for (int i = 0; i < kWrites / 4; ++i) ctx->set_callback(tagged_callback<1>, &tags[1]);
  writer_b.join();
  done.store(true, std::memory_order_relaxed);
  reader.join();
  EXPECT_EQ(torn.load(std::memory_order_relaxed), 0);
}

TEST(WaitCtxConcurrency, StatusPublishesPriorWrites) {
  auto ctx = pn::WaitCtx::make();
  std::vector<int> payload(64, 0);
  std::thread engine([&] {
    for (int& value : payload) value = 7;
    ctx->set_status(pn::AsyncStatus::kOk);
  });
  while (ctx->status() != PN_ASYNC_STATUS_OK) std::this_thread::yield();
  for (int value : payload) EXPECT_EQ(value, 7);
  engine.join();
}

TEST(WaitCtxConcurrency, DestroyWaitsForRunningCallbackOnAnotherThread) {
  for (int round = 0; round < 200; ++round) {
    struct Shared {
      pn::WaitCtx* ctx = nullptr;
      std::atomic<int> in_callback{0};
      int touched_after_destroy = 0;  // plain: TSAN flags it if destroy did not wait
    } shared;
    pn::WaitCtx* ctx = pn::WaitCtx::create();
    shared.ctx = ctx;
    ctx->set_callback(
        [](void* raw) {
          auto* s = static_cast<Shared*>(raw);
          s->in_callback.store(1, std::memory_order_release);  // pairs with the acquire below
          // Finishes only once destroy() has begun: a destroy() that did not wait would return
          // before the write below, every time.
          while (!s->ctx->closed()) std::this_thread::yield();
          s->touched_after_destroy = 1;
          return 0;
        },
        &shared);
    const pn::RequestTicket ticket = ctx->arm();
    std::thread poller([&] { (void)ctx->deliver(ticket, pn::AsyncStatus::kOk); });
    while (shared.in_callback.load(std::memory_order_acquire) == 0) std::this_thread::yield();
    pn::WaitCtx::destroy(ctx);
    EXPECT_EQ(shared.touched_after_destroy, 1) << "destroy returned while the callback ran";
    poller.join();
  }
}

TEST(WaitCtxConcurrency, DeliverRacingDestroyIsCallbackOrStaleNeverBoth) {
  constexpr int kRounds = 2000;
  int callbacks = 0, stale = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::atomic<int> calls{0};
    pn::WaitCtx* ctx = pn::WaitCtx::create();
    ctx->set_callback(
        [](void* raw) {
          static_cast<std::atomic<int>*>(raw)->fetch_add(1, std::memory_order_relaxed);
          return 0;
        },
        &calls);
    const pn::RequestTicket ticket = ctx->arm();
    pn::Delivery outcome{};
    std::thread poller([&] { outcome = ctx->deliver(ticket, pn::AsyncStatus::kOk); });
    pn::WaitCtx::destroy(ctx);
    const int calls_at_destroy = calls.load(std::memory_order_relaxed);
    poller.join();
    // After destroy returned no callback may start: the count seen then is final.
    EXPECT_EQ(calls.load(std::memory_order_relaxed), calls_at_destroy);
    if (outcome == pn::Delivery::kCallback) {
      ++callbacks;
      EXPECT_EQ(calls_at_destroy, 1);
    } else {
      ++stale;
      EXPECT_EQ(outcome, pn::Delivery::kStale);
      EXPECT_EQ(calls_at_destroy, 0);
    }
  }
  EXPECT_EQ(callbacks + stale, kRounds);
}

}  // namespace
