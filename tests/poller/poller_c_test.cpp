// The poller's C API: options with their struct size, lifecycle, rings, sources, stats and bad
// input, stepped by hand with the external policy.
#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <thread>

#include "pollnotify/completion.h"
#include "pollnotify/poller.h"

namespace {

int count_completion(void* arg, const PN_COMPLETION* completion) {
  *static_cast<std::uint64_t*>(arg) += completion->user_data;
  return 1;
}

struct Counter {
  PN_RING* ring = nullptr;
  PN_ASYNC_WAIT_CTX* ctx = nullptr;
  int to_produce = 0;
};

std::size_t produce_one(void* arg) {
  auto* counter = static_cast<Counter*>(arg);
  if (counter->to_produce == 0) return 0;
  const PN_COMPLETION completion{counter->ctx, 1, PN_ASYNC_WAIT_CTX_arm(counter->ctx),
                                 PN_ASYNC_STATUS_OK, 0};
  if (PN_RING_push(counter->ring, &completion) != 0) return 0;
  --counter->to_produce;
  return 1;
}

TEST(PollerCApi, ExternalPollerDeliversRingsAndSources) {
  PN_POLLER_OPTIONS options;
  PN_POLLER_OPTIONS_init(&options);
  EXPECT_EQ(options.struct_size, sizeof(PN_POLLER_OPTIONS));
  options.policy = PN_POLL_EXTERNAL;
  PN_POLLER* poller = PN_POLLER_new(&options);
  ASSERT_NE(poller, nullptr) << PN_get_last_error();
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  std::uint64_t sum = 0;
  PN_ASYNC_WAIT_CTX_set_completion_callback(ctx, count_completion, &sum);

  PN_RING* ring = PN_POLLER_acquire_ring(poller);
  ASSERT_NE(ring, nullptr);
  PN_COMPLETION burst[3];
  for (std::uint64_t i = 0; i < 3; ++i) {
    burst[i] = PN_COMPLETION{ctx, 10 + i, PN_ASYNC_WAIT_CTX_arm(ctx), PN_ASYNC_STATUS_OK, 0};
  }
  EXPECT_EQ(PN_RING_push_burst(ring, burst, 3), 3);
  EXPECT_EQ(PN_POLLER_poll(poller, 0), 3);
  EXPECT_EQ(sum, 33U);

  Counter counter{PN_POLLER_thread_ring(poller), ctx, 2};
  PN_POLL_SOURCE* source = PN_POLLER_add_source(poller, produce_one, nullptr, &counter);
  ASSERT_NE(source, nullptr) << PN_get_last_error();
  EXPECT_EQ(PN_POLLER_poll(poller, 0), 1);
  EXPECT_EQ(PN_POLLER_poll(poller, 0), 1);
  EXPECT_EQ(PN_POLLER_poll(poller, 0), 0) << "idle";
  EXPECT_EQ(sum, 35U);
  EXPECT_EQ(PN_POLLER_remove_source(poller, source), 0);

  PN_POLLER_STATS stats{};
  stats.struct_size = sizeof stats;
  ASSERT_EQ(PN_POLLER_get_stats(poller, &stats), 0);
  EXPECT_EQ(stats.delivered, 5U);
  EXPECT_EQ(stats.callbacks, 5U);
  EXPECT_EQ(stats.empty_polls, 1U);

  EXPECT_EQ(PN_POLLER_release_ring(poller, ring), 0);
  EXPECT_EQ(PN_POLLER_release_ring(poller, ring), -EBUSY) << "released twice";
  EXPECT_NE(std::string(PN_get_last_error()).find("already released"), std::string::npos);
  EXPECT_EQ(PN_POLLER_start(poller), -EINVAL) << "external: no thread";
  PN_POLLER_free(poller);
  PN_ASYNC_WAIT_CTX_free(ctx);
}

TEST(PollerCApi, ThreadedPollerStartsAndStops) {
  PN_POLLER_OPTIONS options;
  PN_POLLER_OPTIONS_init(&options);
  options.policy = PN_POLL_BUSY;
  PN_POLLER* poller = PN_POLLER_new(&options);
  ASSERT_NE(poller, nullptr);
  EXPECT_EQ(PN_POLLER_start(poller), 0);
  EXPECT_EQ(PN_POLLER_start(poller), -EBUSY) << "running";
  EXPECT_EQ(PN_POLLER_poll(poller, 0), -EBUSY) << "a thread runs";
  EXPECT_NE(std::string(PN_get_last_error()).find("poll_once"), std::string::npos);
  EXPECT_EQ(PN_POLLER_stop(poller), 0);
  EXPECT_EQ(PN_POLLER_stop(poller), -EBUSY) << "not running";
  PN_POLLER_free(poller);
}

TEST(PollerCApi, OptionsFromAnOlderHeaderAndBadInput) {
  PN_POLLER_OPTIONS options;
  PN_POLLER_OPTIONS_init(&options);
  options.policy = PN_POLL_EXTERNAL;
  options.max_burst = 0;  // past the older struct's end: ignored, the default applies
  options.struct_size = offsetof(PN_POLLER_OPTIONS, max_burst);
  PN_POLLER* older = PN_POLLER_new(&options);
  EXPECT_NE(older, nullptr) << PN_get_last_error();
  PN_POLLER_free(older);

  options.struct_size = sizeof options + 8;
  EXPECT_EQ(PN_POLLER_new(&options), nullptr);
  EXPECT_NE(std::string(PN_get_last_error()).find("struct_size"), std::string::npos);
  PN_POLLER_OPTIONS_init(&options);
  options.policy = 99;
  EXPECT_EQ(PN_POLLER_new(&options), nullptr);
  PN_POLLER_OPTIONS_init(&options);
  options.max_burst = 0;
  EXPECT_EQ(PN_POLLER_new(&options), nullptr);
  EXPECT_NE(std::string(PN_get_last_error()).find("max_burst"), std::string::npos);
  // Each NULL and misuse of the C API: tests/runtime/c_error_convention_test.cpp.
}

}  // namespace

namespace {

PN_POLLER* external_poller() {
  PN_POLLER_OPTIONS options;
  PN_POLLER_OPTIONS_init(&options);
  options.policy = PN_POLL_EXTERNAL;
  return PN_POLLER_new(&options);
}

// A thread's own ring goes back at the thread's exit, once: releasing it by hand is refused (the
// exit would release it a second time, maybe while another producer holds it).
TEST(PollerCApi, ReleasingAThreadRingByHandIsRefused) {
  PN_POLLER* poller = external_poller();
  ASSERT_NE(poller, nullptr);
  PN_RING* first = nullptr;
  int released = -1;
  std::string reason;
  std::thread([&] {
    first = PN_POLLER_thread_ring(poller);
    released = PN_POLLER_release_ring(poller, first);
    reason = PN_get_last_error();
  }).join();
  EXPECT_EQ(released, -EBUSY);
  EXPECT_NE(reason.find("thread"), std::string::npos) << reason;
  // The exit released it once: one producer takes it, the next thread gets another ring.
  PN_RING* taken = PN_POLLER_acquire_ring(poller);
  EXPECT_EQ(taken, first);
  PN_RING* second = nullptr;
  std::thread([&] { second = PN_POLLER_thread_ring(poller); }).join();
  EXPECT_NE(second, taken) << "two producers on one single-producer ring";
  PN_POLLER_free(poller);
}

// A thread-local destructor that runs after the thread's ring cache is gone still gets a ring
// (the shared one) and its completion is delivered.
struct LateProducer {
  PN_POLLER* poller = nullptr;
  PN_ASYNC_WAIT_CTX* ctx = nullptr;
  int pushed = -1;
  int* result = nullptr;
  ~LateProducer() {
    if (poller == nullptr) return;
    PN_RING* ring = PN_POLLER_thread_ring(poller);
    const PN_COMPLETION completion{ctx, 5, PN_ASYNC_WAIT_CTX_arm(ctx), PN_ASYNC_STATUS_OK, 0};
    *result = ring != nullptr ? PN_RING_push(ring, &completion) : -EINVAL;
  }
};
thread_local LateProducer late_producer;

TEST(PollerCApi, ThreadRingFromAThreadLocalDestructorWorks) {
  PN_POLLER* poller = external_poller();
  ASSERT_NE(poller, nullptr);
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  std::uint64_t sum = 0;
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_completion_callback(ctx, count_completion, &sum), 0);
  int late_pushed = -1;
  int pushed = -1;
  std::thread([&] {
    late_producer.poller = poller;  // constructed first, so destroyed after the ring cache
    late_producer.ctx = ctx;
    late_producer.result = &late_pushed;
    PN_RING* ring = PN_POLLER_thread_ring(poller);
    const PN_COMPLETION completion{ctx, 1, PN_ASYNC_WAIT_CTX_arm(ctx), PN_ASYNC_STATUS_OK, 0};
    pushed = PN_RING_push(ring, &completion);
  }).join();
  EXPECT_EQ(pushed, 0);
  EXPECT_EQ(late_pushed, 0);
  EXPECT_EQ(PN_POLLER_poll(poller, 0), 2);
  EXPECT_EQ(sum, 6U);
  PN_ASYNC_WAIT_CTX_free(ctx);
  PN_POLLER_free(poller);
}

// PN_POLLER_free calls no poll function after the poller stopped: the driver may free its state
// in between (poller.h's teardown order).
struct DriverState {
  bool freed = false;
  int polls_after_free = 0;
};
std::size_t poll_driver(void* arg) {
  auto* state = static_cast<DriverState*>(arg);
  if (state->freed) ++state->polls_after_free;
  return 0;
}

TEST(PollerCApi, FreeCallsNoPollFunctionAfterStop) {
  for (const int policy : {PN_POLL_ADAPTIVE, PN_POLL_EXTERNAL}) {
    PN_POLLER_OPTIONS options;
    PN_POLLER_OPTIONS_init(&options);
    options.policy = policy;
    PN_POLLER* poller = PN_POLLER_new(&options);
    ASSERT_NE(poller, nullptr);
    DriverState state;
    ASSERT_NE(PN_POLLER_add_source(poller, poll_driver, nullptr, &state), nullptr);
    if (policy == PN_POLL_ADAPTIVE) {
      ASSERT_EQ(PN_POLLER_start(poller), 0);
      ASSERT_EQ(PN_POLLER_stop(poller), 0);
    } else {
      (void)PN_POLLER_poll(poller, 0);
    }
    state.freed = true;  // the driver's teardown
    PN_POLLER_free(poller);
    EXPECT_EQ(state.polls_after_free, 0) << "policy " << policy;
  }
}

}  // namespace
