// A wait context's lifetime across callbacks: destroyed from nested callbacks and by two
// callbacks on two pollers at once; generations that cannot wrap.
#include <gtest/gtest.h>
#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "pollnotify/poller.hpp"
#include "pollnotify/wait_ctx.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using pn::test::eventually;

// --- destroy() from nested callbacks, and two callbacks destroying each other's contexts ---

struct Nested {
  pn::Poller* inner = nullptr;    // polled from inside the outer callback
  pn::WaitCtx* target = nullptr;  // destroyed by the inner callback
  std::atomic<int> depth{0};
  std::atomic<int> destroyed{0};
};

int nested_poll_then_destroy(void* raw) {
  auto* n = static_cast<Nested*>(raw);
  if (n->depth.fetch_add(1, std::memory_order_relaxed) == 0) {
    (void)n->inner->poll_once();  // delivers a completion whose callback destroys the target
  } else {
    pn::WaitCtx::destroy(n->target);
    n->destroyed.store(1, std::memory_order_release);  // pairs with the test's acquire
  }
  return 1;
}

void run_nested_destroy(bool inner_is_other_context) {
  pn::PollerOptions external;
  external.policy = pn::PollPolicy::kExternal;
  pn::Poller outer_poller(external), inner_poller(external);
  auto& outer_ring = outer_poller.add_ring(8);
  auto& inner_ring = inner_poller.add_ring(8);
  Nested nested;
  nested.inner = &inner_poller;
  pn::WaitCtx* x = pn::WaitCtx::create();
  pn::WaitCtx* y = pn::WaitCtx::create();
  nested.target = x;
  x->set_callback(nested_poll_then_destroy, &nested);
  y->set_callback(nested_poll_then_destroy, &nested);
  pn::WaitCtx* inner_ctx = inner_is_other_context ? y : x;
  ASSERT_TRUE(outer_ring.try_push(pn::Completion{x, 0, x->arm(), PN_ASYNC_STATUS_OK}));
  ASSERT_TRUE(
      inner_ring.try_push(pn::Completion{inner_ctx, 0, inner_ctx->arm(), PN_ASYNC_STATUS_OK}));
  auto done = std::async(std::launch::async, [&] { return outer_poller.poll_once(); });
  ASSERT_EQ(done.wait_for(30s), std::future_status::ready) << "destroy() in a nested callback hung";
  EXPECT_EQ(done.get(), 1U);
  EXPECT_EQ(nested.destroyed.load(std::memory_order_acquire), 1);
  pn::WaitCtx::destroy(y);
}

TEST(WaitCtxNestedDestroy, InnerCallbackOfTheSameContextDestroysIt) { run_nested_destroy(false); }

TEST(WaitCtxNestedDestroy, InnerCallbackOfAnotherContextDestroysTheOuterOne) {
  run_nested_destroy(true);
}

struct Mutual {
  pn::WaitCtx* peer = nullptr;
  std::atomic<int>* inside = nullptr;  // callbacks that have started
  std::atomic<int>* finished = nullptr;
};

int destroy_peer_when_both_run(void* raw) {
  auto* m = static_cast<Mutual*>(raw);
  m->inside->fetch_add(1, std::memory_order_acq_rel);
  while (m->inside->load(std::memory_order_acquire) < 2) std::this_thread::yield();
  pn::WaitCtx::destroy(m->peer);  // each callback destroys the context of the other
  m->finished->fetch_add(1, std::memory_order_acq_rel);
  return 1;
}

TEST(WaitCtxNestedDestroy, TwoCallbacksOnTwoPollersDestroyEachOthersContexts) {
  pn::PollerOptions busy;
  busy.policy = pn::PollPolicy::kBusy;
  pn::Poller first(busy), second(busy);
  auto& first_ring = first.add_ring(8);
  auto& second_ring = second.add_ring(8);
  std::atomic<int> inside{0}, finished{0};
  pn::WaitCtx* x = pn::WaitCtx::create();
  pn::WaitCtx* y = pn::WaitCtx::create();
  Mutual on_x{y, &inside, &finished}, on_y{x, &inside, &finished};
  x->set_callback(destroy_peer_when_both_run, &on_x);
  y->set_callback(destroy_peer_when_both_run, &on_y);
  ASSERT_TRUE(first.start());
  ASSERT_TRUE(second.start());
  ASSERT_TRUE(first_ring.try_push(pn::Completion{x, 0, x->arm(), PN_ASYNC_STATUS_OK}));
  ASSERT_TRUE(second_ring.try_push(pn::Completion{y, 0, y->arm(), PN_ASYNC_STATUS_OK}));
  ASSERT_TRUE(eventually([&] { return finished.load(std::memory_order_acquire) == 2; }))
      << "the two destroy() calls deadlocked";
  EXPECT_TRUE(first.stop());
  EXPECT_TRUE(second.stop());
}

// --- Cancelled completions stay stale: the generation cannot wrap in practice ---

TEST(WaitCtxGenerations, TicketGenerationIsSixtyFourBits) {
  EXPECT_EQ(sizeof(pn::RequestTicket{}.generation), 8U);
  auto ctx = pn::WaitCtx::make();
  const pn::RequestTicket old = ctx->arm();
  for (int i = 0; i < 1000; ++i) ctx->cancel_pending();
  EXPECT_EQ(ctx->deliver(old, pn::AsyncStatus::kOk), pn::Delivery::kStale);
}

}  // namespace
