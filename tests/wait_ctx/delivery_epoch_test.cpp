// The delivery epochs (internal/delivery_epoch.hpp) and the wait contexts' slab that relies on
// them: a thread's record recycled at its exit, the grace period against a section that read the
// old value (the algorithm that ships, in the release build), contexts destroyed inside callbacks
// reused without growing, and an idle context freed without waiting for others' callbacks.
#include "pollnotify/internal/delivery_epoch.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <thread>
#include <vector>

#include "pollnotify/internal/wait_ctx_slab.hpp"
#include "pollnotify/wait_ctx.hpp"

namespace {

using pn::internal::DeliverySection;

void run_one_section() { const DeliverySection section; }

TEST(DeliveryEpoch, AThreadsRecordIsReusedAfterItExits) {
  std::thread(run_one_section).join();
  const std::size_t records = pn::internal::delivery_record_count();
  for (int i = 0; i < 20; ++i) std::thread(run_one_section).join();
  EXPECT_EQ(pn::internal::delivery_record_count(), records) << "one record, recycled";
}

TEST(DeliveryEpoch, ARecycledRecordsNewOwnerIsWaitedFor) {
  std::thread(run_one_section).join();  // leaves a record to recycle
  std::atomic<int> inside{0};
  std::atomic<bool> leave{false};
  std::thread owner([&] {
    const DeliverySection section;
    inside.store(1, std::memory_order_release);  // DET-R1: pairs with DET-A1
    while (!leave.load(std::memory_order_acquire))
      std::this_thread::yield();  // DET-A2: pairs with DET-R2
  });
  while (inside.load(std::memory_order_acquire) == 0)
    std::this_thread::yield();  // DET-A1: pairs with DET-R1
  const std::uint64_t epoch = pn::internal::retire_deliveries();
  EXPECT_FALSE(pn::internal::deliveries_passed(epoch)) << "a section open at the retire";
  leave.store(true, std::memory_order_release);  // DET-R2: pairs with DET-A2
  owner.join();
  EXPECT_TRUE(pn::internal::deliveries_passed(epoch));
}

TEST(DeliveryEpoch, TheCallersOwnOpenSectionHasNotPassed) {
  const DeliverySection section;
  const std::uint64_t epoch = pn::internal::retire_deliveries();
  EXPECT_FALSE(pn::internal::deliveries_passed(epoch));
}

// The Dekker handshake of the shipped variant (a compiler barrier in the section against the
// waiter's membarrier, or fences on both sides where membarrier is unavailable): after
// synchronize_deliveries() returns, no section that read the value from before the writer's store
// is still open. A waiter with a fence alone against the sections' compiler barrier fails it.
TEST(DeliveryEpoch, AWaiterNeverEndsWhileASectionThatSawTheOldValueRuns) {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  constexpr std::uint64_t kRounds = 2'000;
#else
  constexpr std::uint64_t kRounds = 200'000;
#endif
  constexpr std::uint64_t kNone = std::numeric_limits<std::uint64_t>::max();
  std::atomic<std::uint64_t> value{0};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> held[2] = {kNone, kNone};  // what each reader's open section read
  std::vector<std::thread> readers;
  for (auto& slot : held) {
    readers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {  // relaxed: a stop flag
        const DeliverySection section;
        // Relaxed, as a delivery's generation check: the section's barrier orders it.
        slot.store(value.load(std::memory_order_relaxed), std::memory_order_relaxed);
        slot.store(kNone, std::memory_order_relaxed);  // published by the section's end
      }
    });
  }
  std::uint64_t violations = 0;
  for (std::uint64_t round = 1; round <= kRounds; ++round) {
    value.store(round, std::memory_order_relaxed);  // as destroy() bumps the generation
    pn::internal::synchronize_deliveries();
    for (const auto& slot : held) {
      const std::uint64_t seen = slot.load(std::memory_order_relaxed);
      violations += seen != kNone && seen < round;
    }
  }
  stop.store(true, std::memory_order_relaxed);
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(violations, 0U);
}

// Takes every free context so that the next create() must reclaim or grow.
std::vector<pn::WaitCtx*> exhaust_free_list() {
  std::vector<pn::WaitCtx*> held;
  while (pn::internal::wait_ctx_slab_counts().free != 0) held.push_back(pn::WaitCtx::create());
  return held;
}

int destroy_own_context(void* raw) {
  pn::WaitCtx::destroy(*static_cast<pn::WaitCtx**>(raw));
  return 1;
}

TEST(WaitCtxSlab, AContextDestroyedInItsCallbackIsReusedAfterTheGracePeriod) {
  const auto held = exhaust_free_list();
  pn::WaitCtx* ctx = pn::WaitCtx::create();  // may grow one chunk
  const auto before = pn::internal::wait_ctx_slab_counts();
  ctx->set_callback(destroy_own_context, &ctx);
  pn::WaitCtx* const destroyed = ctx;
  (void)ctx->deliver(ctx->arm(), pn::AsyncStatus::kOk);
  EXPECT_EQ(pn::internal::wait_ctx_slab_counts().deferred, before.deferred + 1);
  std::vector<pn::WaitCtx*> taken;
  bool reused = false;
  for (std::size_t i = 0; i <= before.free; ++i) {  // the free ones first, then the deferred one
    taken.push_back(pn::WaitCtx::create());
    reused = reused || taken.back() == destroyed;
  }
  EXPECT_TRUE(reused);
  EXPECT_EQ(pn::internal::wait_ctx_slab_counts().constructed, before.constructed) << "no growth";
  for (pn::WaitCtx* c : taken) pn::WaitCtx::destroy(c);
  for (pn::WaitCtx* c : held) pn::WaitCtx::destroy(c);
}

// A job resumed inline by its callback that starts its next request: each callback destroys its
// context and creates the next. Memory stays bounded: contexts destroyed in earlier sections are
// reused from inside later ones.
TEST(WaitCtxSlab, DestroyAndCreateInsideCallbacksDoesNotGrow) {
  struct Chain {
    pn::WaitCtx* ctx = nullptr;
    pn::RequestTicket ticket{};
    int cycles = 0;
  };
  const auto callback = [](void* raw) -> int {
    auto* chain = static_cast<Chain*>(raw);
    pn::WaitCtx::destroy(chain->ctx);
    chain->ctx = pn::WaitCtx::create();
    if (chain->ctx == nullptr) return 0;
    ++chain->cycles;
    return 1;
  };
  std::vector<Chain> chains(4);
  for (Chain& chain : chains) chain.ctx = pn::WaitCtx::create();
  const auto held = exhaust_free_list();
  const std::size_t constructed = pn::internal::wait_ctx_slab_counts().constructed;
  for (int round = 0; round < 5'000; ++round) {
    const DeliverySection section;  // one drain of a poller: a completion per chain
    for (Chain& chain : chains) {
      chain.ctx->set_callback(callback, &chain);
      chain.ticket = chain.ctx->arm();
      (void)chain.ctx->deliver_in_section(pn::Completion{chain.ctx, 0, chain.ticket, 2});
    }
  }
  for (const Chain& chain : chains) EXPECT_EQ(chain.cycles, 5'000);
  EXPECT_LE(pn::internal::wait_ctx_slab_counts().constructed, constructed + 64)
      << "at most one more chunk for the contexts of one section";
  for (Chain& chain : chains) pn::WaitCtx::destroy(chain.ctx);
  for (pn::WaitCtx* c : held) pn::WaitCtx::destroy(c);
}

// Freeing a context with nothing in flight does not wait for another context's callback (which
// may wait for a lock the freeing thread holds). Bounded: the stuck callback is released after a
// deadline either way.
TEST(WaitCtxSlab, AnIdleContextIsFreedWhileAnotherCallbackRuns) {
  struct Stuck {
    std::atomic<int> entered{0};
    std::atomic<bool> release{false};
  } stuck;
  auto busy = pn::WaitCtx::make();
  busy->set_callback(
      [](void* raw) {
        auto* s = static_cast<Stuck*>(raw);
        s->entered.store(1, std::memory_order_release);  // DET-R3: pairs with DET-A3
        while (!s->release.load(std::memory_order_acquire))
          std::this_thread::yield();  // DET-A4: pairs with DET-R4
        return 1;
      },
      &stuck);
  const pn::RequestTicket ticket = busy->arm();
  std::thread poller([&] { (void)busy->deliver(ticket, pn::AsyncStatus::kOk); });
  while (stuck.entered.load(std::memory_order_acquire) == 0)
    std::this_thread::yield();  // DET-A3: pairs with DET-R3
  pn::WaitCtx* idle = pn::WaitCtx::create();
  std::atomic<bool> freed{false};
  std::thread owner([&] {
    pn::WaitCtx::destroy(idle);
    idle = pn::WaitCtx::create();
    idle->cancel_pending();  // nothing in flight: no wait either
    pn::WaitCtx::destroy(idle);
    freed.store(true, std::memory_order_release);  // DET-R5: pairs with DET-A5
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!freed.load(std::memory_order_acquire) &&  // DET-A5: pairs with DET-R5
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  const bool freed_while_stuck = freed.load(std::memory_order_acquire);  // DET-A5, as above
  stuck.release.store(true, std::memory_order_release);  // DET-R4: pairs with DET-A4
  owner.join();
  poller.join();
  EXPECT_TRUE(freed_while_stuck) << "freeing an idle context waited for another's callback";
}

// Turning a notify fd off while a delivery that loaded it is in progress waits for that delivery,
// so the owner may close the fd when it returns. The delivery is held inside its section; the
// switch must not return until it is released (watched for a bounded time).
TEST(WaitCtxNotifyFd, TurningItOffWaitsForADeliveryThatLoadedIt) {
  auto ctx = pn::WaitCtx::make();
  ctx->set_notify_fd(42);  // never written: the delivery below only loads it
  const pn::RequestTicket ticket = ctx->arm();
  std::atomic<int> loaded{-1};
  std::atomic<bool> release{false};
  std::thread delivery([&] {
    const DeliverySection section;
    // DET-R6: pairs with DET-A6 (the fd the held delivery loaded).
    loaded.store(ctx->notify_fd(), std::memory_order_release);
    // DET-A7: pairs with DET-R7.
    while (!release.load(std::memory_order_acquire)) std::this_thread::yield();
  });
  // DET-A6: pairs with DET-R6.
  while (loaded.load(std::memory_order_acquire) < 0) std::this_thread::yield();
  std::atomic<bool> switched{false};
  std::thread owner([&] {
    ctx->set_notify_fd(pn::kBadAsyncFd);
    switched.store(true, std::memory_order_release);  // DET-R8: pairs with DET-A8
  });
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  bool early = false;
  while (std::chrono::steady_clock::now() < until && !early) {
    early = switched.load(std::memory_order_acquire);  // DET-A8: pairs with DET-R8
    std::this_thread::yield();
  }
  release.store(true, std::memory_order_release);  // DET-R7: pairs with DET-A7
  delivery.join();
  owner.join();
  EXPECT_EQ(loaded.load(), 42);
  EXPECT_FALSE(early) << "the fd was switched off while a delivery that loaded it ran";
  EXPECT_EQ(ctx->notify_fd(), pn::kBadAsyncFd);
  (void)ctx->deliver(ticket, pn::AsyncStatus::kOk);  // status only now
}

}  // namespace
