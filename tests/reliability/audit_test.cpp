// Regression tests for the outside reliability audit: each test names the item it holds.
// Behaviour only: where a defect was a hang, the test bounds its wait and fails instead.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "pollnotify/async_job.h"
#include "pollnotify/mpsc_queue.hpp"
#include "pollnotify/poller.hpp"
#include "pollnotify/sim_runtime.h"
#include "pollnotify/sim_runtime.hpp"

namespace {

using namespace std::chrono_literals;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// Waits for `done` with a generous bound: a hang becomes a failure, not a stuck test run.
template <class Predicate>
bool eventually(Predicate done, std::chrono::seconds bound = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

int count_callback(void* arg) {
  static_cast<std::atomic<int>*>(arg)->fetch_add(1, std::memory_order_relaxed);
  return 1;
}

// --- 1. A large stack frame must not jump the guard into a neighbouring job's stack ---

// The readable-writable mapping that holds `address`, from /proc/self/maps.
bool mapping_of(const void* address, std::uintptr_t& start, std::uintptr_t& end) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  const auto where = reinterpret_cast<std::uintptr_t>(address);
  while (std::getline(maps, line)) {
    unsigned long long low = 0, high = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx", &low, &high) != 2) continue;
    if (where >= low && where < high) {
      start = low;
      end = high;
      return true;
    }
  }
  return false;
}

// 8 KiB of locals whose lowest byte is written first, as code built without stack-clash
// protection does: from 3 KiB above the usable stack's end it lands 5 KiB below it.
[[gnu::noinline]] void large_frame() {
  volatile char buffer[8192];
  buffer[0] = 1;
  asm volatile("" : : "r"(buffer) : "memory");
}

// Small frames, each touched, until the stack pointer is about 3 KiB above `stop_above`.
[[gnu::noinline]] void descend(std::uintptr_t stop_above) {
  volatile char frame[256];
  frame[0] = 1;
  if (reinterpret_cast<std::uintptr_t>(&frame[0]) > stop_above + 3072) {
    descend(stop_above);
  } else {
    large_frame();
  }
  asm volatile("" : : "r"(frame) : "memory");
}

int overflowing_job(void*) {
  char probe = 0;
  std::uintptr_t start = 0, end = 0;
  if (!mapping_of(&probe, start, end)) return 0;
  descend(start);
  return 1;
}

int paused_neighbour_job(void* arg) {
  auto* canary = *static_cast<volatile std::uint64_t**>(arg);
  volatile std::uint64_t deep[512];  // the top of this stack, just below the next job's guard
  for (auto& word : deep) word = 0xC0FFEE;
  *canary = 0xC0FFEE;
  PN_ASYNC_pause_job();
  for (auto& word : deep) {
    if (word != 0xC0FFEE) *canary = 0;
  }
  return 1;
}

// Runs in a death-test child: a paused job right below the overflowing one (the pool maps them
// next to each other), then the overflow. Surviving it means the write landed somewhere.
void overflow_next_to_a_paused_job() {
  if (PN_ASYNC_init_thread(2, 2) != 1) std::_Exit(3);
  volatile std::uint64_t canary = 0;
  volatile std::uint64_t* canary_ptr = &canary;
  PN_ASYNC_JOB* neighbour = nullptr;
  PN_ASYNC_JOB* victim = nullptr;
  int ret = 0;
  if (PN_ASYNC_start_job(&neighbour, nullptr, &ret, paused_neighbour_job, &canary_ptr,
                         sizeof canary_ptr) != PN_ASYNC_PAUSE) {
    std::_Exit(4);
  }
  (void)PN_ASYNC_start_job(&victim, nullptr, &ret, overflowing_job, nullptr, 0);
  (void)PN_ASYNC_start_job(&neighbour, nullptr, &ret, nullptr, nullptr, 0);
  std::fprintf(stderr, "survived the overflow; neighbour canary %s\n",
               canary == 0xC0FFEE ? "intact" : "CORRUPTED");
  std::_Exit(0);
}

bool killed_by_guard(int status) {
  if (WIFSIGNALED(status)) return WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGBUS;
  // AddressSanitizer reports the fault and exits non-zero instead of dying by the signal.
  return kSanitized && WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) < 3;
}

TEST(AuditStackOverflow, LargeFrameEndsOnTheGuardNotInTheNeighbour) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer's own handlers make the death test unreliable";
#endif
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(overflow_next_to_a_paused_job(), killed_by_guard, "");
}

// --- 3. Stopping or freeing a runtime from its own callback is refused, never a hang ---

struct StopFromCallback {
  pn::SimRuntime* runtime = nullptr;
  PN_RUNTIME* c_runtime = nullptr;
  std::atomic<int> outcome{0};  // 0: not yet, 1: refused with an error, 2: returned normally
  std::string message;
};

TEST(AuditCallbackTeardown, RuntimeStopFromItsCallbackIsRefused) {
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

TEST(AuditCallbackTeardown, CRuntimeStopAndFreeFromItsCallbackAreRefused) {
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

// --- 4. An inherited runtime stops at once in a forked child, even with requests held ---

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

TEST(AuditFork, InheritedRuntimeStopsWithRequestsInTheDevice) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer does not support a multithreaded fork";
#endif
  EXPECT_EQ(child_stops_inherited_runtime(pn::DeviceTiming::kPolled), 0)
      << "100 + 14 is SIGALRM: the child's stop() hung";
  EXPECT_EQ(child_stops_inherited_runtime(pn::DeviceTiming::kThread), 0)
      << "100 + 14 is SIGALRM: the child's stop() hung";
}

// --- 5. A pool size the process cannot hold is an error, not an abort ---

TEST(AuditJobs, HugePoolSizesFailCleanly) {
  std::thread([] {
    EXPECT_EQ(PN_ASYNC_init_thread(SIZE_MAX, SIZE_MAX), 0);
    EXPECT_EQ(PN_ASYNC_init_thread(SIZE_MAX / 2, SIZE_MAX / 4), 0);
    EXPECT_EQ(PN_ASYNC_init_thread(0, 0), 1) << "the pool is still usable";
  }).join();
}

// --- 6. Races TSan saw: start/stop from different threads, a foreign start_job ---

TEST(AuditRaces, StartAndStopFromDifferentThreads) {
  pn::PollerOptions options;
  options.policy = pn::PollPolicy::kAdaptive;
  pn::Poller poller(options);
  constexpr int kRounds = 200;
  std::atomic<int> started{0};
  std::thread starter([&] {
    for (int i = 0; i < kRounds; ++i) {
      while (!poller.start()) std::this_thread::yield();
      started.fetch_add(1, std::memory_order_release);  // pairs with the stopper's acquire
    }
  });
  int stopped = 0;
  while (stopped < kRounds) {
    if (started.load(std::memory_order_acquire) > stopped && poller.stop()) ++stopped;
  }
  starter.join();
  EXPECT_FALSE(poller.running());
}

int pause_forever_job(void* arg) {
  auto* stop = *static_cast<std::atomic<bool>**>(arg);
  while (!stop->load(std::memory_order_acquire)) PN_ASYNC_pause_job();  // pairs with the release
  return 1;
}

TEST(AuditRaces, StartJobOnAnotherThreadWhileTheOwnerRunsIt) {
  constexpr int kForeignAttempts = 2000;
  std::atomic<bool> stop{false}, foreign_done{false};
  std::atomic<PN_ASYNC_JOB*> shared{nullptr};
  int foreign_errors = 0;
  std::thread owner([&] {
    std::atomic<bool>* stop_ptr = &stop;
    PN_ASYNC_JOB* job = nullptr;
    int ret = 0;
    int result =
        PN_ASYNC_start_job(&job, nullptr, &ret, pause_forever_job, &stop_ptr, sizeof stop_ptr);
    shared.store(job, std::memory_order_release);  // pairs with the foreign thread's acquire
    // Keeps resuming (writing the job's state) while the foreign thread tries to resume it too.
    while (result == PN_ASYNC_PAUSE && !foreign_done.load(std::memory_order_acquire)) {
      result = PN_ASYNC_start_job(&job, nullptr, &ret, nullptr, nullptr, 0);
    }
    stop.store(true, std::memory_order_release);
    while (result == PN_ASYNC_PAUSE) {
      result = PN_ASYNC_start_job(&job, nullptr, &ret, nullptr, nullptr, 0);
    }
    EXPECT_EQ(result, PN_ASYNC_FINISH);
  });
  std::thread foreign([&] {
    PN_ASYNC_JOB* job = nullptr;
    while ((job = shared.load(std::memory_order_acquire)) == nullptr) std::this_thread::yield();
    int ret = 0;
    for (int i = 0; i < kForeignAttempts; ++i) {
      PN_ASYNC_JOB* handle = job;
      foreign_errors +=
          PN_ASYNC_start_job(&handle, nullptr, &ret, nullptr, nullptr, 0) == PN_ASYNC_ERR;
    }
    foreign_done.store(true, std::memory_order_release);  // pairs with the owner's acquire
  });
  foreign.join();
  owner.join();
  EXPECT_EQ(foreign_errors, kForeignAttempts) << "a foreign thread never resumes another's job";
}

// --- 7. destroy() from nested callbacks, and two callbacks destroying each other's contexts ---

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

TEST(AuditNestedDestroy, InnerCallbackOfTheSameContextDestroysIt) { run_nested_destroy(false); }

TEST(AuditNestedDestroy, InnerCallbackOfAnotherContextDestroysTheOuterOne) {
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

TEST(AuditNestedDestroy, TwoCallbacksOnTwoPollersDestroyEachOthersContexts) {
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

// --- 10. More submitting threads than a poller has rings: none is refused for good ---

TEST(AuditRings, ThreeHundredSubmittingThreadsAllGetAccepted) {
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

// --- 11. Cancelled completions stay stale: the generation cannot wrap in practice ---

TEST(AuditGenerations, TicketGenerationIsSixtyFourBits) {
  EXPECT_EQ(sizeof(pn::RequestTicket{}.generation), 8U);
  auto ctx = pn::WaitCtx::make();
  const pn::RequestTicket old = ctx->arm();
  for (int i = 0; i < 1000; ++i) ctx->cancel_pending();
  EXPECT_EQ(ctx->deliver(old, pn::AsyncStatus::kOk), pn::Delivery::kStale);
}

// --- 12. Ring misuse is refused before it can give one ring two producers ---

TEST(AuditRings, ReleasingARingTwiceOrToAnotherPollerIsRefused) {
  pn::PollerOptions external;
  external.policy = pn::PollPolicy::kExternal;
  pn::Poller poller(external), other(external);
  pn::CompletionRing& ring = poller.acquire_ring();
  poller.release_ring(ring);
  EXPECT_THROW(poller.release_ring(ring), std::logic_error);
  pn::CompletionRing& first = poller.acquire_ring();
  pn::CompletionRing& second = poller.acquire_ring();
  EXPECT_NE(&first, &second) << "two producers on one ring";
  EXPECT_THROW(other.release_ring(first), std::invalid_argument);
}

// --- Smaller items ---

TEST(AuditMpscQueue, PopWaitWithTheLongestTimeout) {
  pn::MpscQueue<int> queue(4);
  ASSERT_TRUE(queue.try_push(7));
  int out = 0;
  EXPECT_TRUE(queue.pop_wait(out, std::chrono::nanoseconds::max()));  // UBSan: no overflow
  EXPECT_EQ(out, 7);
}

TEST(AuditMpscQueue, WakeBeforeTheParkIsNotLost) {
  pn::MpscQueue<int> queue(4);
  queue.wake_consumer();  // before the consumer reaches its park
  auto popped = std::async(std::launch::async, [&] {
    int out = 0;
    return queue.pop_wait(out, std::chrono::hours(1));
  });
  ASSERT_EQ(popped.wait_for(30s), std::future_status::ready) << "the wake was lost";
  EXPECT_FALSE(popped.get());
}

TEST(AuditLatency, ValuesBeyondTheLimitAreRejected) {
  EXPECT_THROW(pn::LatencyModel::parse("fixed:1e300"), std::invalid_argument);
  EXPECT_THROW(pn::LatencyModel::parse("uniform:0:1e300"), std::invalid_argument);
  EXPECT_THROW(pn::LatencyModel::parse("exp:1e300"), std::invalid_argument);
  EXPECT_THROW(pn::LatencyModel::parse("lognormal:1000:1e6"), std::invalid_argument);
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(AuditLatency, TraceFilesCrlfHugeValuesAndDirectories) {
  const auto crlf = pn::LatencyModel::parse("trace:" + write_temp("crlf.trace", "100\r\n200\r\n"));
  EXPECT_EQ(crlf.trace, (std::vector<std::uint64_t>{100, 200}));
  try {
    (void)pn::LatencyModel::parse("trace:" + write_temp("huge.trace", "18446744073709551615\n"));
    ADD_FAILURE() << "a latency beyond the limit was accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("line 1"), std::string::npos) << error.what();
  }
  try {
    (void)pn::LatencyModel::parse("trace:/tmp");
    ADD_FAILURE() << "a directory was accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("directory"), std::string::npos) << error.what();
  }
}

TEST(AuditLimits, EnginesBeyondCapacityAreRejected) {
  pn::PollerOptions external;
  external.policy = pn::PollPolicy::kExternal;
  pn::Poller poller(external);
  pn::Poller* pollers[] = {&poller};
  pn::SimDeviceOptions options;
  options.instances[0].latency = pn::LatencyModel::parse("fixed:10");
  options.instances[0].capacity = 16;
  options.instances[0].engines = SIZE_MAX;
  try {
    pn::SimDevice device(options, pollers);
    ADD_FAILURE() << "engines above capacity accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("engines"), std::string::npos) << error.what();
  }
}

// A decision, documented in docs/reliability.md: capacity bounds what the device holds, and a
// zero-latency device holds nothing (it completes at submission). What waits for the poller is
// bounded by the submitting thread's completion ring: refused with EAGAIN when full, none lost.
TEST(AuditLimits, ZeroLatencyDeviceIsBoundedByTheCompletionRing) {
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kExternal;
  options.poller.default_ring_capacity = 64;
  options.device.instances[0].capacity = 1;
  pn::SimRuntime runtime(options);
  std::atomic<int> calls{0};
  auto ctx = pn::WaitCtx::make();
  ctx->set_callback(count_callback, &calls);
  int accepted = 0, refused = 0;
  for (int i = 0; i < 100; ++i) {
    const pn::SubmitResult result = runtime.submit(*ctx);
    accepted += result == pn::SubmitResult::kAccepted;
    refused += result == pn::SubmitResult::kRetry;
  }
  EXPECT_EQ(accepted, 64);
  EXPECT_EQ(refused, 36);
  while (runtime.poll_once() != 0) {
  }
  EXPECT_EQ(calls.load(std::memory_order_relaxed), 64);
  EXPECT_EQ(runtime.submit(*ctx), pn::SubmitResult::kAccepted) << "delivered: room again";
  EXPECT_EQ(runtime.poll_once(), 1U);
}

}  // namespace

namespace {

// --- 9. A thread that used many short-lived pollers keeps no entry for the dead ones ---

TEST(AuditRings, ThreadRingCacheForgetsDestroyedPollers) {
  std::thread([] {
    pn::PollerOptions external;
    external.policy = pn::PollPolicy::kExternal;
    pn::Poller survivor(external);
    (void)survivor.thread_ring();
    for (int i = 0; i < 2000; ++i) {
      pn::Poller short_lived(external);
      (void)short_lived.thread_ring();
      EXPECT_LE(pn::Poller::thread_ring_cache_size(), 2U) << "after " << i << " pollers";
    }
    EXPECT_EQ(&survivor.thread_ring(), &survivor.thread_ring()) << "the live entry stays";
  }).join();
}

// --- Limits: pollers, jobs; a start that fails half-way leaves nothing running ---

TEST(AuditLimits, PollerCountIsCheckedUpFront) {
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

TEST(AuditLimits, StartFailingHalfWayStopsWhatItStarted) {
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

TEST(AuditLimits, PollerCpuOutsideTheMachineIsAnErrorAtStart) {
  pn::PollerOptions options;
  options.policy = pn::PollPolicy::kBusy;
  options.cpu = CPU_SETSIZE;
  EXPECT_THROW(pn::Poller{options}, std::invalid_argument);
  options.cpu = CPU_SETSIZE - 1;
  pn::Poller poller(options);
  try {
    (void)poller.start();
    ADD_FAILURE() << "pinned to a CPU this machine does not have";
  } catch (const std::system_error& error) {
    EXPECT_NE(std::string(error.what()).find("CPU"), std::string::npos) << error.what();
  }
  EXPECT_FALSE(poller.running());
}

// The process-wide job limit: start_job says NO_JOBS there, and the process can still create
// threads (the limit keeps half of vm.max_map_count for everything else).
TEST(AuditLimits, JobsStopAtTheProcessLimitWithNoJobs) {
  if (kSanitized) GTEST_SKIP() << "thousands of sanitizer-sized stacks; the release run holds it";
  const std::size_t limit = PN_ASYNC_get_max_jobs();
  ASSERT_GT(limit, 0U);
  EXPECT_EQ(PN_ASYNC_init_thread(limit + 1, limit + 1), 0) << "init_size above the limit";
  std::thread([limit] {
    std::vector<PN_ASYNC_JOB*> paused;
    int ret = 0;
    int result = PN_ASYNC_PAUSE;
    while (paused.size() <= limit) {
      PN_ASYNC_JOB* job = nullptr;
      result = PN_ASYNC_start_job(
          &job, nullptr, &ret, [](void*) { return PN_ASYNC_pause_job(); }, nullptr, 0);
      if (result != PN_ASYNC_PAUSE) break;
      paused.push_back(job);
    }
    EXPECT_EQ(result, PN_ASYNC_NO_JOBS);
    EXPECT_EQ(paused.size(), limit);
    std::thread([] {}).join();  // threads can still be created
    for (PN_ASYNC_JOB* job : paused) {
      EXPECT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, nullptr, nullptr, 0), PN_ASYNC_FINISH);
    }
    PN_ASYNC_cleanup_thread();
  }).join();
}

}  // namespace
