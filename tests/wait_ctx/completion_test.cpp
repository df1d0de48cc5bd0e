// The completion reaches the application whole: user data, status and the device's result, in
// the completion callback, through the C and C++ APIs and through the simulated device.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "pollnotify/completion.h"
#include "pollnotify/sim_runtime.h"
#include "pollnotify/sim_runtime.hpp"
#include "pollnotify/wait_ctx.hpp"

namespace {

struct Seen {
  std::vector<PN_COMPLETION> completions;
  int plain_calls = 0;
};

int record_completion(void* arg, const PN_COMPLETION* completion) {
  static_cast<Seen*>(arg)->completions.push_back(*completion);
  return 1;
}

int record_plain(void* arg) {
  ++static_cast<Seen*>(arg)->plain_calls;
  return 1;
}

TEST(Completion, CApiArmDeliverPassesTheWholeCompletion) {
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  Seen seen;
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_callback(ctx, record_plain, &seen), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_completion_callback(ctx, record_completion, &seen), 0);
  const PN_COMPLETION completion{ctx, 0xABCDEF0123ULL, PN_ASYNC_WAIT_CTX_arm(ctx),
                                 PN_ASYNC_STATUS_ERR, -74};
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_deliver(&completion), PN_DELIVERY_CALLBACK);
  ASSERT_EQ(seen.completions.size(), 1U);
  EXPECT_EQ(seen.completions[0].ctx, ctx);
  EXPECT_EQ(seen.completions[0].user_data, 0xABCDEF0123ULL);
  EXPECT_EQ(seen.completions[0].status, PN_ASYNC_STATUS_ERR);
  EXPECT_EQ(seen.completions[0].result, -74);
  EXPECT_EQ(seen.plain_calls, 0) << "the completion callback takes precedence";
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_status(ctx), PN_ASYNC_STATUS_ERR);

  // Cleared: OpenSSL's callback is invoked again, and is still what get_callback reports.
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_completion_callback(ctx, nullptr, nullptr), 0);
  const PN_COMPLETION second{ctx, 7, PN_ASYNC_WAIT_CTX_arm(ctx), PN_ASYNC_STATUS_OK, 0};
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_deliver(&second), PN_DELIVERY_CALLBACK);
  EXPECT_EQ(seen.plain_calls, 1);
  PN_ASYNC_callback_fn fn = nullptr;
  void* arg = nullptr;
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_get_callback(ctx, &fn, &arg), 1);
  EXPECT_EQ(fn, &record_plain);

  // Abandoned and cancelled tickets.
  const std::uint64_t abandoned = PN_ASYNC_WAIT_CTX_arm(ctx);
  PN_ASYNC_WAIT_CTX_abandon(ctx, abandoned);
  const PN_COMPLETION cancelled{ctx, 0, PN_ASYNC_WAIT_CTX_arm(ctx), PN_ASYNC_STATUS_OK, 0};
  PN_ASYNC_WAIT_CTX_cancel_pending(ctx);
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_deliver(&cancelled), PN_DELIVERY_STALE);
  EXPECT_EQ(seen.plain_calls, 1);
  PN_ASYNC_WAIT_CTX_free(ctx);
}

// No valid ticket is 0, so 0 can mean failure: a new context's first ticket, and the first after
// a context is reused, are not 0.
TEST(Completion, NoTicketIsZero) {
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  const std::uint64_t first = PN_ASYNC_WAIT_CTX_arm(ctx);
  EXPECT_NE(first, 0U);
  PN_ASYNC_WAIT_CTX_abandon(ctx, first);
  PN_ASYNC_WAIT_CTX_free(ctx);
  PN_ASYNC_WAIT_CTX* reused = PN_ASYNC_WAIT_CTX_new();
  const std::uint64_t again = PN_ASYNC_WAIT_CTX_arm(reused);
  EXPECT_NE(again, 0U);
  PN_ASYNC_WAIT_CTX_abandon(reused, again);
  PN_ASYNC_WAIT_CTX_free(reused);
}

// The submitter's user data travels through the device and the ring to the callback, for the
// inline (zero latency) and the polled (fixed latency) paths.
TEST(Completion, UserDataReachesTheCallbackThroughTheRuntime) {
  for (const char* latency : {"zero", "fixed:2000"}) {
    pn::SimRuntimeOptions options;
    options.poller.policy = pn::PollPolicy::kExternal;
    options.device.instances[0].latency = pn::LatencyModel::parse(latency);
    pn::SimRuntime runtime(options);
    Seen seen;
    auto ctx = pn::WaitCtx::make();
    ctx->set_completion_callback(record_completion, &seen);
    for (std::uint64_t id = 1; id <= 3; ++id) {
      ASSERT_EQ(runtime.submit(*ctx, id * 1000), pn::SubmitResult::kAccepted) << latency;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (seen.completions.size() < 3 && std::chrono::steady_clock::now() < deadline) {
      if (runtime.poll_once() == 0) std::this_thread::yield();
    }
    ASSERT_EQ(seen.completions.size(), 3U) << latency;
    for (std::size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(seen.completions[i].user_data, (i + 1) * 1000) << latency;
      EXPECT_EQ(seen.completions[i].status, PN_ASYNC_STATUS_OK) << latency;
      EXPECT_EQ(seen.completions[i].ctx, ctx->c_handle()) << latency;
    }
  }
}

TEST(Completion, UserDataReachesTheCallbackThroughTheCRuntime) {
  PN_SIM_RUNTIME_OPTIONS options;
  PN_SIM_RUNTIME_OPTIONS_init(&options);
  options.policy = PN_POLL_EXTERNAL;
  PN_RUNTIME* runtime = PN_SIM_RUNTIME_new(&options);
  ASSERT_NE(runtime, nullptr) << PN_get_last_error();
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  Seen seen;
  PN_ASYNC_WAIT_CTX_set_completion_callback(ctx, record_completion, &seen);
  ASSERT_EQ(PN_RUNTIME_submit(runtime, ctx, 0xFEEDULL), 0);
  EXPECT_EQ(PN_RUNTIME_poll(runtime, 0), 1);
  ASSERT_EQ(seen.completions.size(), 1U);
  EXPECT_EQ(seen.completions[0].user_data, 0xFEEDULL);
  PN_RUNTIME_free(runtime);
  PN_ASYNC_WAIT_CTX_free(ctx);
}

}  // namespace
