// Poller: deterministic tests stepped by hand with poll_once, then threaded tests of every
// policy, the park/wake handshake, stop/restart and the fd bridge.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "pollnotify/fd_bridge.hpp"
#include "pollnotify/poller.hpp"

namespace {

using namespace std::chrono_literals;

pn::PollerOptions external_options() {
  pn::PollerOptions options;
  options.policy = pn::PollPolicy::kExternal;
  return options;
}

int count_call(void* arg) {
  static_cast<std::atomic<int>*>(arg)->fetch_add(1, std::memory_order_relaxed);
  return 1;
}

// A context that counts its callbacks, and a helper that arms it and pushes one completion.
struct Counted {
  pn::WaitCtxPtr ctx = pn::WaitCtx::make();
  std::atomic<int> calls{0};
  Counted() { ctx->set_callback(count_call, &calls); }
  pn::Completion completion(std::uint64_t user = 0, int status = PN_ASYNC_STATUS_OK) {
    return pn::Completion{ctx.get(), user, ctx->arm(), status};
  }
};

TEST(PollerExternal, PollOnceDeliversAndReturnsCount) {
  pn::Poller poller(external_options());
  auto& ring = poller.add_ring(16);
  Counted target;
  EXPECT_EQ(poller.poll_once(), 0U) << "idle";
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(ring.try_push(target.completion(i)));
  EXPECT_EQ(poller.in_flight(), 5U);
  EXPECT_EQ(poller.poll_once(), 5U);
  EXPECT_EQ(target.calls.load(std::memory_order_relaxed), 5);
  EXPECT_EQ(target.ctx->status(), PN_ASYNC_STATUS_OK);
  EXPECT_EQ(poller.in_flight(), 0U);
  const pn::PollerStats stats = poller.stats();
  EXPECT_EQ(stats.delivered, 5U);
  EXPECT_EQ(stats.callbacks, 5U);
  EXPECT_EQ(stats.empty_polls, 1U);
  EXPECT_EQ(stats.bursts[2], 1U) << "one burst of 5 lands in the [4,7] bucket";
}

TEST(PollerExternal, PollOnceRespectsMaxAndBurst) {
  pn::PollerOptions options = external_options();
  options.max_burst = 4;
  pn::Poller poller(options);
  auto& ring_a = poller.add_ring(64);
  auto& ring_b = poller.add_ring(64);
  Counted target;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(ring_a.try_push(target.completion()));
    ASSERT_TRUE(ring_b.try_push(target.completion()));
  }
  EXPECT_EQ(poller.poll_once(3), 3U) << "ring a: 7 left";
  EXPECT_EQ(poller.poll_once(), 8U) << "max_burst per ring: a 3 left, b 6 left";
  EXPECT_EQ(poller.poll_once(100), 7U) << "b 2 left";
  EXPECT_EQ(poller.poll_once(), 2U);
  EXPECT_EQ(poller.poll_once(), 0U);
  EXPECT_EQ(target.calls.load(std::memory_order_relaxed), 20);
}

TEST(PollerExternal, RingFullIsReportedNeverOverwritten) {
  pn::Poller poller(external_options());
  auto& ring = poller.add_ring(2);
  Counted target;
  ASSERT_TRUE(ring.try_push(target.completion(1)));
  ASSERT_TRUE(ring.try_push(target.completion(2)));
  pn::Completion extra = target.completion(3);
  EXPECT_FALSE(ring.try_push(extra));
  EXPECT_EQ(poller.stats().ring_full, 1U);
  EXPECT_EQ(poller.poll_once(), 2U);
  ASSERT_TRUE(ring.try_push(extra)) << "room again after the drain";
  EXPECT_EQ(poller.poll_once(), 1U);
  EXPECT_EQ(target.calls.load(std::memory_order_relaxed), 3);
}

TEST(PollerExternal, ContextWithoutCallbackGetsStatusOnly) {
  pn::Poller poller(external_options());
  auto& ring = poller.add_ring(4);
  auto ctx = pn::WaitCtx::make();
  ASSERT_TRUE(ring.try_push(pn::Completion{ctx.get(), 0, ctx->arm(), PN_ASYNC_STATUS_ERR}));
  EXPECT_EQ(poller.poll_once(), 1U);
  EXPECT_EQ(ctx->status(), PN_ASYNC_STATUS_ERR);
  EXPECT_EQ(poller.stats().status_only, 1U);
}

TEST(PollerExternal, BadEntriesAreCountedNotFatal) {
  pn::Poller poller(external_options());
  auto& ring = poller.add_ring(4);
  Counted target;
  ASSERT_TRUE(ring.try_push(pn::Completion{nullptr, 0, {0}, PN_ASYNC_STATUS_OK}));
  ASSERT_TRUE(ring.try_push(target.completion(0, 42)));
  EXPECT_EQ(poller.poll_once(), 2U);
  EXPECT_EQ(poller.stats().invalid, 2U);
  EXPECT_EQ(target.calls.load(std::memory_order_relaxed), 1)
      << "a bad status still ends the request";
  EXPECT_EQ(target.ctx->status(), PN_ASYNC_STATUS_ERR);
}

// A context pointer with bit 0 set (a C caller's bad pointer) shares its bit with the ring's lap
// marker: in every lap it is refused (invalid) and the completions behind it are delivered.
TEST(PollerExternal, AMisalignedContextPointerNeverStallsTheRing) {
  pn::Poller poller(external_options());
  auto& ring = poller.add_ring(2);
  Counted target;
  auto* misaligned = reinterpret_cast<pn::WaitCtx*>(reinterpret_cast<char*>(target.ctx.get()) + 1);
  for (int lap = 0; lap < 4; ++lap) {
    ASSERT_TRUE(ring.try_push(pn::Completion{misaligned, 0, {0}, PN_ASYNC_STATUS_OK}));
    ASSERT_TRUE(ring.try_push(target.completion()));
    EXPECT_EQ(poller.poll_once(), 2U) << "lap " << lap;
  }
  EXPECT_EQ(poller.stats().invalid, 4U);
  EXPECT_EQ(target.calls.load(std::memory_order_relaxed), 4);
  EXPECT_EQ(target.ctx->in_flight(), 0U);
}

// A direct delivery follows the poller's rule: a status outside 0..3 ends the request as ERR.
TEST(PollerExternal, ADirectDeliveryMapsAnOutOfRangeStatusToErr) {
  for (const int bad : {7, -1, 1000}) {
    Counted target;
    EXPECT_EQ(target.ctx->deliver(target.completion(0, bad)), pn::Delivery::kCallback);
    EXPECT_EQ(target.ctx->status(), PN_ASYNC_STATUS_ERR) << bad;
    PN_COMPLETION c{target.ctx->c_handle(), 0, target.ctx->arm().generation, bad, 0};
    EXPECT_EQ(PN_ASYNC_WAIT_CTX_deliver(&c), PN_DELIVERY_CALLBACK);
    EXPECT_EQ(target.ctx->status(), PN_ASYNC_STATUS_ERR) << bad;
    EXPECT_EQ(target.calls.load(std::memory_order_relaxed), 2);
  }
}

TEST(PollerExternal, ThrowingOrFailingCallbackIsCountedAndOthersServed) {
  pn::Poller poller(external_options());
  auto& ring = poller.add_ring(8);
  auto thrower = pn::WaitCtx::make();
  thrower->set_callback([](void*) -> int { throw std::runtime_error("boom"); }, nullptr);
  auto failer = pn::WaitCtx::make();
  failer->set_callback([](void*) { return 0; }, nullptr);
  Counted healthy;
  ASSERT_TRUE(ring.try_push(pn::Completion{thrower.get(), 0, thrower->arm(), PN_ASYNC_STATUS_OK}));
  ASSERT_TRUE(ring.try_push(pn::Completion{failer.get(), 0, failer->arm(), PN_ASYNC_STATUS_OK}));
  ASSERT_TRUE(ring.try_push(healthy.completion()));
  EXPECT_EQ(poller.poll_once(), 3U);
  const auto stats = poller.stats();
  EXPECT_EQ(stats.callback_exceptions, 1U);
  EXPECT_EQ(stats.callback_failures, 1U);
  EXPECT_EQ(stats.callbacks, 3U);
  EXPECT_EQ(healthy.calls.load(std::memory_order_relaxed), 1);
  EXPECT_EQ(thrower->in_flight(), 0U) << "the throwing delivery still released its ticket";
}

// The drain counts callbacks as what it delivered less the other outcomes: each outcome, mixed in
// one drain, lands in its own counter and nowhere else.
TEST(PollerExternal, EveryOutcomeOfOneDrainIsCountedOnce) {
  pn::Poller poller(external_options());
  auto& ring = poller.add_ring(16);
  Counted healthy;
  auto failer = pn::WaitCtx::make();
  failer->set_callback([](void*) { return 0; }, nullptr);
  auto thrower = pn::WaitCtx::make();
  thrower->set_callback([](void*) -> int { throw std::runtime_error("boom"); }, nullptr);
  auto silent = pn::WaitCtx::make();  // no callback, no fd: status only
  auto signalled = pn::WaitCtx::make();
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  signalled->set_notify_fd(fd);
  Counted cancelled;
  ASSERT_TRUE(ring.try_push(healthy.completion()));
  ASSERT_TRUE(ring.try_push(pn::Completion{failer.get(), 0, failer->arm(), PN_ASYNC_STATUS_OK}));
  ASSERT_TRUE(ring.try_push(pn::Completion{thrower.get(), 0, thrower->arm(), PN_ASYNC_STATUS_OK}));
  ASSERT_TRUE(ring.try_push(pn::Completion{silent.get(), 0, silent->arm(), PN_ASYNC_STATUS_OK}));
  ASSERT_TRUE(
      ring.try_push(pn::Completion{signalled.get(), 0, signalled->arm(), PN_ASYNC_STATUS_OK}));
  ASSERT_TRUE(ring.try_push(cancelled.completion()));
  cancelled.ctx->cancel_pending();
  ASSERT_TRUE(ring.try_push(pn::Completion{nullptr, 0, {0}, PN_ASYNC_STATUS_OK}));
  ASSERT_TRUE(ring.try_push(healthy.completion(0, 42)));  // a bad status: delivered as ERR
  EXPECT_EQ(poller.poll_once(), 8U);
  const auto stats = poller.stats();
  EXPECT_EQ(stats.delivered, 8U);
  EXPECT_EQ(stats.callbacks, 4U) << "healthy twice, the failing and the throwing callback";
  EXPECT_EQ(stats.callback_failures, 1U);
  EXPECT_EQ(stats.callback_exceptions, 1U);
  EXPECT_EQ(stats.status_only, 1U);
  EXPECT_EQ(stats.fd_signals, 1U);
  EXPECT_EQ(stats.stale, 1U);
  EXPECT_EQ(stats.invalid, 2U) << "the null context and the bad status";
  EXPECT_EQ(healthy.calls.load(std::memory_order_relaxed), 2);
  signalled->set_notify_fd(pn::kBadAsyncFd);
  ::close(fd);
}

TEST(PollerExternal, ReentrantPollOnceFromCallbackIsRefused) {
  pn::Poller poller(external_options());
  auto& ring = poller.add_ring(4);
  struct State {
    pn::Poller* poller;
    bool refused = false;
  } state{&poller};
  auto ctx = pn::WaitCtx::make();
  ctx->set_callback(
      [](void* raw) {
        auto* s = static_cast<State*>(raw);
        try {
          s->poller->poll_once();
        } catch (const std::logic_error&) {
          s->refused = true;
        }
        return 1;
      },
      &state);
  ASSERT_TRUE(ring.try_push(pn::Completion{ctx.get(), 0, ctx->arm(), PN_ASYNC_STATUS_OK}));
  EXPECT_EQ(poller.poll_once(), 1U);
  EXPECT_TRUE(state.refused);
}

TEST(PollerExternal, StaleCompletionAfterCancelIsDroppedAndCounted) {
  pn::Poller poller(external_options());
  auto& ring = poller.add_ring(4);
  Counted target;
  ASSERT_TRUE(ring.try_push(target.completion()));
  target.ctx->cancel_pending();
  EXPECT_EQ(poller.poll_once(), 1U);
  EXPECT_EQ(target.calls.load(std::memory_order_relaxed), 0);
  EXPECT_EQ(poller.stats().stale, 1U);
}

TEST(PollerExternal, DestructorDeliversWhatIsLeft) {
  Counted target;
  {
    pn::Poller poller(external_options());
    auto& ring = poller.add_ring(8);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(ring.try_push(target.completion()));
  }
  EXPECT_EQ(target.calls.load(std::memory_order_relaxed), 3);
  EXPECT_EQ(target.ctx->in_flight(), 0U);
}

TEST(PollerOptions, BadOptionsThrow) {
  pn::PollerOptions options;
  options.max_burst = 0;
  EXPECT_THROW(pn::Poller{options}, std::invalid_argument);
  options = {};
  options.policy = pn::PollPolicy::kTimed;
  options.interval = 0ns;
  EXPECT_THROW(pn::Poller{options}, std::invalid_argument);
  options = {};
  options.default_ring_capacity = 0;
  EXPECT_THROW(pn::Poller{options}, std::invalid_argument);
  pn::Poller poller;
  EXPECT_THROW(poller.add_ring(std::size_t{1} << 33), std::invalid_argument);
}

TEST(PollerLifecycle, StartStopRestartAndTwiceAreErrors) {
  pn::Poller poller;
  EXPECT_FALSE(poller.stop()) << "not running";
  EXPECT_TRUE(poller.start());
  EXPECT_FALSE(poller.start()) << "already running";
  EXPECT_THROW(poller.poll_once(), std::logic_error);
  EXPECT_TRUE(poller.stop());
  EXPECT_FALSE(poller.stop()) << "stopped twice";
  EXPECT_TRUE(poller.start());
  EXPECT_TRUE(poller.stop());
  pn::Poller external(external_options());
  EXPECT_FALSE(external.start()) << "an external poller has no thread";
}

TEST(PollerLifecycle, StopFromCallbackIsRefused) {
  pn::Poller poller;
  auto& ring = poller.add_ring(4);
  struct State {
    pn::Poller* poller;
    std::atomic<bool> refused{false};
  } state{&poller};
  auto ctx = pn::WaitCtx::make();
  ctx->set_callback(
      [](void* raw) {
        auto* s = static_cast<State*>(raw);
        try {
          s->poller->stop();
        } catch (const std::logic_error&) {
          s->refused.store(true, std::memory_order_release);
        }
        return 1;
      },
      &state);
  ASSERT_TRUE(poller.start());
  ASSERT_TRUE(ring.try_push(pn::Completion{ctx.get(), 0, ctx->arm(), PN_ASYNC_STATUS_OK}));
  ASSERT_TRUE(poller.stop());
  EXPECT_TRUE(state.refused.load(std::memory_order_acquire));
}

// --- threaded delivery, every policy ---

struct Tracker {
  std::vector<std::uint64_t> last_sequence;  // written by the poller thread only
  std::uint64_t order_errors = 0;
};

struct Request {
  pn::WaitCtx* ctx = nullptr;
  unsigned producer = 0;
  std::uint64_t sequence = 0;
  std::atomic<int> calls{0};
  Tracker* tracker = nullptr;
};

// The callback checks per-producer order and frees its own context (allowed from the callback).
int on_request_done(void* arg) {
  auto* request = static_cast<Request*>(arg);
  request->calls.fetch_add(1, std::memory_order_relaxed);
  std::uint64_t& last = request->tracker->last_sequence[request->producer];
  request->tracker->order_errors += last + 1 != request->sequence;
  last = request->sequence;
  pn::WaitCtx::destroy(request->ctx);
  return 1;
}

void run_stress(pn::PollPolicy policy, unsigned producers, std::uint64_t per_producer) {
  pn::PollerOptions options;
  options.policy = policy;
  options.spin_polls = 64;
  options.interval = 5us;
  pn::Poller poller(options);
  Tracker tracker;
  tracker.last_sequence.assign(producers, 0);
  std::vector<std::unique_ptr<Request[]>> requests;
  std::vector<pn::CompletionRing*> rings;
  for (unsigned p = 0; p < producers; ++p) {
    requests.emplace_back(new Request[per_producer]);
    rings.push_back(&poller.add_ring(128));
  }
  ASSERT_TRUE(poller.start());
  std::vector<std::thread> threads;
  for (unsigned p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (std::uint64_t i = 0; i < per_producer; ++i) {
        Request& request = requests[p][i];
        request.ctx = pn::WaitCtx::create();
        request.producer = p;
        request.sequence = i + 1;
        request.tracker = &tracker;
        request.ctx->set_callback(on_request_done, &request);
        const pn::Completion completion{request.ctx, i, request.ctx->arm(), PN_ASYNC_STATUS_OK};
        while (!rings[p]->try_push(completion)) std::this_thread::yield();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(poller.stop());  // delivers everything still in the rings
  std::uint64_t lost = 0, duplicated = 0;
  for (unsigned p = 0; p < producers; ++p) {
    for (std::uint64_t i = 0; i < per_producer; ++i) {
      const int calls = requests[p][i].calls.load(std::memory_order_relaxed);
      lost += calls == 0;
      duplicated += calls > 1;
    }
  }
  EXPECT_EQ(lost, 0U);
  EXPECT_EQ(duplicated, 0U);
  EXPECT_EQ(tracker.order_errors, 0U);
  const pn::PollerStats stats = poller.stats();
  EXPECT_EQ(stats.delivered, producers * per_producer);
  EXPECT_EQ(stats.callbacks, producers * per_producer);
  EXPECT_EQ(stats.in_flight, 0U);
}

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr std::uint64_t kPerProducer = 5'000;
#else
constexpr std::uint64_t kPerProducer = 100'000;
#endif

TEST(PollerStress, BusyExactlyOnceInOrder) { run_stress(pn::PollPolicy::kBusy, 3, kPerProducer); }
TEST(PollerStress, AdaptiveExactlyOnceInOrder) {
  run_stress(pn::PollPolicy::kAdaptive, 3, kPerProducer);
}
TEST(PollerStress, SpinYieldExactlyOnceInOrder) {
  run_stress(pn::PollPolicy::kSpinYield, 3, kPerProducer);
}
TEST(PollerStress, TimedExactlyOnceInOrder) {
  run_stress(pn::PollPolicy::kTimed, 2, kPerProducer / 10);
}

// Many short bursts separated by idle gaps long enough for the poller to park. The watchdog is
// far longer than the test, so a lost wakeup shows as a delivery missing its 5 s bound.
TEST(PollerParking, NoLostWakeupAcrossIdleGaps) {
  pn::PollerOptions options;
  options.policy = pn::PollPolicy::kAdaptive;
  options.spin_polls = 8;
  options.watchdog = 60s;
  pn::Poller poller(options);
  auto& ring = poller.add_ring(64);
  Counted target;
  ASSERT_TRUE(poller.start());
  int expected = 0;
  for (int round = 0; round < 300; ++round) {
    const int burst = 1 + round % 4;
    for (int i = 0; i < burst; ++i) ASSERT_TRUE(ring.try_push(target.completion()));
    expected += burst;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (target.calls.load(std::memory_order_relaxed) < expected) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "delivery stuck in round " << round;
      std::this_thread::yield();
    }
    if (round % 3 == 0) std::this_thread::sleep_for(200us);  // idle: the poller parks
  }
  ASSERT_TRUE(poller.stop());
  const pn::PollerStats stats = poller.stats();
  EXPECT_GT(stats.parks, 0U);
  EXPECT_GT(stats.wakes, 0U);
  EXPECT_EQ(stats.watchdog_wakes, 0U);
  EXPECT_EQ(target.calls.load(std::memory_order_relaxed), expected);
}

// A source whose pending bound is huge (2^63 and more: no valid futex timeout) or stays short
// while nothing arrives: the adaptive poller parks (watchdog, or its backoff) instead of spinning.
struct FixedPending final : pn::PollSource {
  explicit FixedPending(std::uint64_t ns) : ns_(ns) {}
  std::size_t poll() override { return 0; }
  std::uint64_t pending_ns() override { return ns_; }
  std::uint64_t ns_;
};

TEST(PollerParking, AnyPendingBoundASourceReportsLetsTheIdlePollerPark) {
  for (const std::uint64_t ns :
       {~std::uint64_t{0}, std::uint64_t{1} << 63, std::uint64_t{pn::Poller::kShortestParkNs}}) {
    FixedPending source(ns);
    pn::Poller poller;  // adaptive
    poller.add_source(source);
    ASSERT_TRUE(poller.start());
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (poller.stats().parks < 3 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    const pn::PollerStats before = poller.stats();
    const auto start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(500ms);  // the window measured, not a synchronisation
    const auto elapsed = std::chrono::steady_clock::now() - start;
    const pn::PollerStats after = poller.stats();
    ASSERT_TRUE(poller.stop());
    EXPECT_GT(after.parks, before.parks) << ns;
    const double load = static_cast<double>(after.cpu_time_ns - before.cpu_time_ns) /
                        static_cast<double>(std::chrono::nanoseconds(elapsed).count());
    EXPECT_LT(load, 0.2) << "pending " << ns << ": " << load * 100 << " % of a core";
  }
}

// Every counter of the table (PN_POLLER_COUNTERS) is reported non-zero after work that bumps it:
// a counter added to the table but never kept fails here, with its name. Nothing below lists the
// counters by hand.
TEST(PollerCounters, EveryCounterOfTheTableIsKept) {
  pn::PollerOptions options;  // adaptive
  options.spin_polls = 16;
  options.watchdog = 1ms;
  pn::Poller poller(options);
  auto& ring = poller.add_ring(4);
  Counted ok, failing, throwing, cancelled;
  failing.ctx->set_callback([](void*) { return 0; }, nullptr);
  throwing.ctx->set_callback([](void*) -> int { throw std::runtime_error("thrown"); }, nullptr);
  auto status_only = pn::WaitCtx::make();
  auto fd_owner = pn::WaitCtx::make();
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  fd_owner->set_notify_fd(fd);
  const pn::Completion stale = cancelled.completion();
  cancelled.ctx->cancel_pending();
  const std::vector<pn::Completion> work = {
      ok.completion(),
      failing.completion(),
      throwing.completion(),
      stale,
      pn::Completion{nullptr, 0, {0}, PN_ASYNC_STATUS_OK},
      pn::Completion{status_only.get(), 0, status_only->arm(), PN_ASYNC_STATUS_OK},
      pn::Completion{fd_owner.get(), 0, fd_owner->arm(), PN_ASYNC_STATUS_OK}};
  ASSERT_TRUE(poller.start());
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  const auto until = [&](auto done) {
    while (!done(poller.stats()) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
  };
  for (const pn::Completion& completion : work) {
    while (!ring.try_push(completion) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
  }
  until([&](const pn::PollerStats& s) { return s.delivered >= work.size(); });
  // Idle: parks, watchdog wakes; then a push to the parked poller: a producer's wake.
  until([](const pn::PollerStats& s) { return s.watchdog_wakes != 0; });
  while (poller.stats().wakes == 0 && std::chrono::steady_clock::now() < deadline) {
    const std::uint64_t parks = poller.stats().parks;
    until([&](const pn::PollerStats& s) { return s.parks > parks; });  // it parked again
    ASSERT_TRUE(ring.try_push(ok.completion()));
    const std::uint64_t delivered = poller.stats().delivered;
    until([&](const pn::PollerStats& s) { return s.delivered > delivered; });
  }
  ASSERT_TRUE(poller.stop());
  // Stopped: pushes stay in flight, and the ring fills.
  while (ring.try_push(ok.completion())) {
  }
  const pn::PollerStats stats = poller.stats();
  pn::for_each_counter(stats, [](const char* name, const char*, std::uint64_t value) {
    EXPECT_NE(value, 0U) << name << " was never kept";
  });
  ::close(fd);
}

TEST(PollerParking, IdleAdaptivePollerSleeps) {
  pn::PollerOptions options;
  options.policy = pn::PollPolicy::kAdaptive;
  options.spin_polls = 16;
  options.watchdog = 20ms;
  pn::Poller poller(options);
  poller.add_ring(8);
  ASSERT_TRUE(poller.start());
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (poller.stats().watchdog_wakes < 3) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(poller.stop());
  const pn::PollerStats stats = poller.stats();
  EXPECT_GE(stats.parks, 3U);
  EXPECT_LT(stats.polls, 100'000U) << "an idle adaptive poller must not spin";
}

TEST(PollerFdBridge, OwnerWaitingOnEventfdIsSignalled) {
  pn::Poller poller;
  auto& ring = poller.add_ring(8);
  auto ctx = pn::WaitCtx::make();
  static const int key = 0;
  const pn::AsyncFd fd = pn::attach_notify_eventfd(*ctx, &key);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(pn::attach_notify_eventfd(*ctx, &key), fd) << "one eventfd per context and key";
  EXPECT_EQ(ctx->get_all_fds(nullptr), 1U);
  ASSERT_TRUE(poller.start());
  ASSERT_TRUE(ring.try_push(pn::Completion{ctx.get(), 0, ctx->arm(), PN_ASYNC_STATUS_OK}));
  pollfd waiter{fd, POLLIN, 0};
  ASSERT_EQ(::poll(&waiter, 1, 5000), 1);
  EXPECT_TRUE(pn::consume_notify_eventfd(fd));
  EXPECT_FALSE(pn::consume_notify_eventfd(fd)) << "drained";
  EXPECT_EQ(ctx->status(), PN_ASYNC_STATUS_OK);
  ASSERT_TRUE(poller.stop());
  EXPECT_EQ(poller.stats().fd_signals, 1U);
}

}  // namespace

namespace {

// A callback may read its poller's counters even while stop() is waiting for the poller thread
// (stats() takes no lock).
TEST(PollerLifecycle, StatsFromACallbackDuringStop) {
  pn::Poller poller;
  auto& ring = poller.add_ring(64);
  struct State {
    pn::Poller* poller;
    std::atomic<std::uint64_t> stats_read{0};  // callbacks whose stats() call returned
  } state{&poller};
  auto ctx = pn::WaitCtx::make();
  ctx->set_callback(
      [](void* raw) {
        auto* s = static_cast<State*>(raw);
        if (s->stats_read.load(std::memory_order_relaxed) == 0) {
          // The first callback waits until stop() holds its lock and waits for this thread.
          while (!s->poller->stopping()) std::this_thread::yield();
        }
        (void)s->poller->stats();
        s->stats_read.fetch_add(1, std::memory_order_relaxed);
        return 1;
      },
      &state);
  ASSERT_TRUE(poller.start());
  for (int i = 0; i < 32; ++i)
    ASSERT_TRUE(ring.try_push(pn::Completion{ctx.get(), 0, ctx->arm(), PN_ASYNC_STATUS_OK}));
  ASSERT_TRUE(poller.stop());  // the callbacks read the stats while stop() joins
  EXPECT_EQ(state.stats_read.load(std::memory_order_relaxed), 32U);
  EXPECT_EQ(poller.stats().callbacks, 32U);
  EXPECT_GT(poller.stats().cpu_time_ns, 0U);
}

}  // namespace
