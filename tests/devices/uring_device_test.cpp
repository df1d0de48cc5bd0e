// The io_uring device against the kernel: NOP, read and write at offsets, recv/send on a socket
// pair, timeouts, several submitting threads, SQPOLL, EAGAIN at capacity, a context destroyed
// with its request in the kernel, teardown with requests the kernel still holds. Skipped, with
// the reason, where io_uring is unavailable.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "pollnotify/poller.hpp"
#include "pollnotify/uring_device.hpp"

namespace {

using namespace std::chrono_literals;

class Uring : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string reason = pn::UringDevice::unavailable_reason();
    if (!reason.empty()) GTEST_SKIP() << "io_uring unavailable here: " << reason;
  }
};

// Counts each request's callbacks by user_data and keeps its status and result.
struct Outcomes {
  explicit Outcomes(std::size_t n) : calls(n), status(n), result(n) {}
  std::vector<std::atomic<int>> calls, status, result;
  std::atomic<int> total{0};
};

struct Request {
  Outcomes* outcomes;
  pn::WaitCtxPtr ctx;
};

int record(void* arg, const PN_COMPLETION* completion) {
  auto* outcomes = static_cast<Outcomes*>(arg);
  const auto i = static_cast<std::size_t>(completion->user_data);
  // Relaxed: read after the waits below, which acquire `total`.
  outcomes->status[i].store(completion->status, std::memory_order_relaxed);
  outcomes->result[i].store(completion->result, std::memory_order_relaxed);
  outcomes->calls[i].fetch_add(1, std::memory_order_relaxed);
  outcomes->total.fetch_add(1, std::memory_order_release);  // UT-R1: pairs with UT-A1
  return 1;
}

bool wait_for(const Outcomes& outcomes, int count, std::chrono::seconds limit = 10s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  // UT-A1: pairs with UT-R1: the recorded fields are visible.
  while (outcomes.total.load(std::memory_order_acquire) < count) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::yield();
  }
  return true;
}

// Polls an external-policy poller on this thread until `count` callbacks ran (bounded).
void poll_until(pn::Poller& poller, const Outcomes& outcomes, int count,
                std::chrono::seconds limit = 10s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  // UT-A1 as in wait_for.
  while (outcomes.total.load(std::memory_order_acquire) < count &&
         std::chrono::steady_clock::now() < until) {
    (void)poller.poll_once();
  }
}

std::vector<pn::WaitCtxPtr> contexts(std::size_t n, Outcomes& outcomes) {
  std::vector<pn::WaitCtxPtr> made;
  for (std::size_t i = 0; i < n; ++i) {
    made.push_back(pn::WaitCtx::make());
    made.back()->set_completion_callback(record, &outcomes);
  }
  return made;
}

pn::PollerOptions busy() {
  pn::PollerOptions options;
  options.policy = pn::PollPolicy::kBusy;
  return options;
}

pn::PollerOptions external() {
  pn::PollerOptions options;
  options.policy = pn::PollPolicy::kExternal;
  return options;
}

void nops_from_threads(bool sqpoll, bool single_issuer = false) {
  constexpr int kThreads = 3, kPerThread = 3000;
  pn::Poller poller(busy());
  pn::UringOptions options;
  options.sqpoll = sqpoll;
  options.single_issuer = single_issuer;
  pn::UringDevice device(poller, options);
  ASSERT_TRUE(poller.start());
  Outcomes outcomes(kThreads * kPerThread);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto ctx = pn::WaitCtx::make();  // one context, many requests
      ctx->set_completion_callback(record, &outcomes);
      for (int i = 0; i < kPerThread; ++i) {
        const auto id = static_cast<std::uint64_t>(t * kPerThread + i);
        while (device.submit(*ctx, id) == pn::SubmitResult::kRetry) std::this_thread::yield();
      }
      while (ctx->in_flight() != 0) std::this_thread::yield();
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(wait_for(outcomes, kThreads * kPerThread));
  for (std::size_t i = 0; i < outcomes.calls.size(); ++i) {
    ASSERT_EQ(outcomes.calls[i].load(), 1) << "request " << i;
    ASSERT_EQ(outcomes.status[i].load(), PN_ASYNC_STATUS_OK);
  }
  const pn::DeviceStats stats = device.stats();
  EXPECT_EQ(stats.accepted, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(stats.completed, stats.accepted);
  EXPECT_EQ(device.in_flight(), 0U);
  EXPECT_EQ(device.sqpoll(), sqpoll);
  EXPECT_EQ(device.single_issuer(), single_issuer) << device.fallback_reason();
  ASSERT_TRUE(poller.stop());
}

TEST_F(Uring, NopsFromSeveralThreadsCompleteExactlyOnce) { nops_from_threads(false); }
TEST_F(Uring, NopsWithSqpoll) { nops_from_threads(true); }
TEST_F(Uring, NopsWithASingleIssuerRing) { nops_from_threads(false, true); }

struct TempFile {
  TempFile() {
    char name[] = "/tmp/pn-uring-XXXXXX";
    fd = ::mkstemp(name);
    path = name;
  }
  ~TempFile() {
    ::close(fd);
    ::unlink(path.c_str());
  }
  int fd = -1;
  std::string path;
};

TEST_F(Uring, ReadsAndWritesAtOffsets) {
  constexpr std::size_t kBlocks = 64, kBlock = 4096;
  TempFile file;
  ASSERT_GE(file.fd, 0);
  std::vector<unsigned char> data(kBlocks * kBlock);
  std::mt19937 rng(5);
  for (auto& byte : data) byte = static_cast<unsigned char>(rng());
  pn::Poller poller(busy());
  pn::UringDevice device(poller, pn::UringOptions{});
  ASSERT_TRUE(poller.start());
  // Writes, each block at its offset, all in flight at once.
  Outcomes writes(kBlocks);
  auto write_contexts = contexts(kBlocks, writes);
  for (std::size_t b = 0; b < kBlocks; ++b) {
    ASSERT_EQ(device.submit_write(*write_contexts[b], file.fd, data.data() + b * kBlock, kBlock,
                                  b * kBlock, b),
              pn::SubmitResult::kAccepted);
  }
  ASSERT_TRUE(wait_for(writes, kBlocks));
  for (std::size_t b = 0; b < kBlocks; ++b) {
    EXPECT_EQ(writes.status[b].load(), PN_ASYNC_STATUS_OK);
    EXPECT_EQ(writes.result[b].load(), static_cast<int>(kBlock)) << "bytes written";
  }
  // Reads back, in reverse order, into separate buffers.
  Outcomes reads(kBlocks);
  auto read_contexts = contexts(kBlocks, reads);
  std::vector<unsigned char> back(data.size(), 0);
  for (std::size_t b = kBlocks; b-- > 0;) {
    ASSERT_EQ(device.submit_read(*read_contexts[b], file.fd, back.data() + b * kBlock, kBlock,
                                 b * kBlock, b),
              pn::SubmitResult::kAccepted);
  }
  ASSERT_TRUE(wait_for(reads, kBlocks));
  for (std::size_t b = 0; b < kBlocks; ++b)
    EXPECT_EQ(reads.result[b].load(), static_cast<int>(kBlock));
  EXPECT_EQ(std::memcmp(back.data(), data.data(), data.size()), 0);
  // A bad descriptor: the kernel's error, as ERR with -errno.
  Outcomes bad(1);
  auto bad_context = contexts(1, bad);
  unsigned char byte = 0;
  ASSERT_EQ(device.submit_read(*bad_context[0], -1, &byte, 1, 0, 0), pn::SubmitResult::kAccepted);
  ASSERT_TRUE(wait_for(bad, 1));
  EXPECT_EQ(bad.status[0].load(), PN_ASYNC_STATUS_ERR);
  EXPECT_EQ(bad.result[0].load(), -EBADF);
  ASSERT_TRUE(poller.stop());
}

TEST_F(Uring, RecvWaitsForTheSend) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  pn::Poller poller(busy());
  pn::UringDevice device(poller, pn::UringOptions{});
  ASSERT_TRUE(poller.start());
  Outcomes outcomes(2);
  auto ctx = contexts(2, outcomes);
  char received[16] = {};
  ASSERT_EQ(device.submit_recv(*ctx[0], pair[1], received, sizeof received, 0, 0),
            pn::SubmitResult::kAccepted);
  std::this_thread::sleep_for(20ms);  // the recv is in the kernel, with nothing to receive yet
  EXPECT_EQ(outcomes.total.load(std::memory_order_acquire), 0) << "recv completed before the send";
  const char message[] = "pollnotify";
  ASSERT_EQ(device.submit_send(*ctx[1], pair[0], message, sizeof message, 0, 1),
            pn::SubmitResult::kAccepted);
  ASSERT_TRUE(wait_for(outcomes, 2));
  EXPECT_EQ(outcomes.result[1].load(), static_cast<int>(sizeof message));
  EXPECT_EQ(outcomes.result[0].load(), static_cast<int>(sizeof message));
  EXPECT_STREQ(received, message);
  ASSERT_TRUE(poller.stop());
  ::close(pair[0]);
  ::close(pair[1]);
}

TEST_F(Uring, TimeoutsCompleteOkAfterTheirTime) {
  pn::PollerOptions adaptive;
  adaptive.policy = pn::PollPolicy::kAdaptive;  // parks between polls, bounded while in flight
  pn::Poller poller(adaptive);
  pn::UringDevice device(poller, pn::UringOptions{});
  ASSERT_TRUE(poller.start());
  Outcomes outcomes(1);
  auto ctx = contexts(1, outcomes);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(device.submit_timeout(*ctx[0], 5ms, 0), pn::SubmitResult::kAccepted);
  ASSERT_TRUE(wait_for(outcomes, 1));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 5ms);
  EXPECT_EQ(outcomes.status[0].load(), PN_ASYNC_STATUS_OK);
  EXPECT_EQ(outcomes.result[0].load(), 0);
  EXPECT_EQ(device.submit_timeout(*ctx[0], -1ns, 0), pn::SubmitResult::kFailed);
  EXPECT_EQ(device.submit_timeout(*ctx[0], 2h, 0), pn::SubmitResult::kFailed);
  ASSERT_TRUE(poller.stop());
}

// The poller's CPU time over `window` as a fraction of it.
double poller_load(const pn::Poller& poller, std::chrono::milliseconds window) {
  const std::uint64_t before = poller.stats().cpu_time_ns;
  const auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(window);  // the window measured, not a synchronisation
  const auto elapsed = std::chrono::steady_clock::now() - start;
  return static_cast<double>(poller.stats().cpu_time_ns - before) /
         static_cast<double>(std::chrono::nanoseconds(elapsed).count());
}

// Requests that wait in the kernel (an hour-long timeout, a recv on a silent connection) cost an
// idle adaptive poller ~nothing: it parks, and the recv's completion still arrives when data
// does. A poller that spins while they wait uses the whole second.
TEST_F(Uring, AnIdleAdaptivePollerParksWhileRequestsWaitInTheKernel) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  pn::PollerOptions adaptive;
  adaptive.policy = pn::PollPolicy::kAdaptive;
  pn::Poller poller(adaptive);
  {
    pn::UringDevice device(poller, pn::UringOptions{});
    ASSERT_TRUE(poller.start());
    Outcomes outcomes(2);
    auto ctx = contexts(2, outcomes);
    char received[8] = {};
    ASSERT_EQ(device.submit_timeout(*ctx[0], 1h, 0), pn::SubmitResult::kAccepted);
    ASSERT_EQ(device.submit_recv(*ctx[1], pair[1], received, sizeof received, 0, 1),
              pn::SubmitResult::kAccepted);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (poller.stats().parks == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    const std::uint64_t parks = poller.stats().parks;
    EXPECT_GT(parks, 0U) << "the poller never parked with requests in the kernel";
    const double load = poller_load(poller, 1000ms);
    EXPECT_LT(load, 0.2) << "an idle poller burnt " << load * 100 << " % of a core";
    EXPECT_GT(poller.stats().parks, parks) << "it kept parking";
    EXPECT_EQ(::send(pair[0], "x", 1, 0), 1);
    ASSERT_TRUE(wait_for(outcomes, 1));
    EXPECT_EQ(outcomes.calls[1].load(), 1) << "the recv completed once data came";
    EXPECT_EQ(outcomes.result[1].load(), 1);
    EXPECT_EQ(outcomes.calls[0].load(), 0);
  }  // the teardown cancels the hour-long timeout
  ::close(pair[0]);
  ::close(pair[1]);
}

TEST_F(Uring, FullIsEagainAndTeardownCompletesTheKernelsRequestsWithErr) {
  Outcomes outcomes(8);
  auto ctx = contexts(8, outcomes);
  pn::Poller poller(busy());
  {
    pn::UringOptions options;
    options.entries = 8;
    options.max_in_flight = 4;
    pn::UringDevice device(poller, options);
    ASSERT_TRUE(poller.start());
    for (std::uint64_t i = 0; i < 4; ++i) {
      ASSERT_EQ(device.submit_timeout(*ctx[i], 1h, i), pn::SubmitResult::kAccepted);
    }
    EXPECT_EQ(device.submit_timeout(*ctx[4], 1h, 4), pn::SubmitResult::kRetry);
    EXPECT_EQ(ctx[4]->status(), PN_ASYNC_STATUS_EAGAIN);
    EXPECT_EQ(device.stats().refused_full, 1U);
  }  // the destructor stops the poller, cancels the hour-long timeouts and delivers them
  EXPECT_EQ(outcomes.total.load(std::memory_order_acquire), 4);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(outcomes.calls[i].load(), 1);
    EXPECT_EQ(outcomes.status[i].load(), PN_ASYNC_STATUS_ERR);
  }
}

// Destroys `device` on another thread; if it has not returned within 5 s, `unstick` (closing a
// socket: its recvs complete) lets it finish. True when it returned before that.
template <class Unstick>
bool destroyed_in_time(std::unique_ptr<pn::UringDevice>& device, Unstick unstick) {
  std::atomic<bool> done{false};
  std::thread destroyer([&] {
    device.reset();
    done.store(true, std::memory_order_release);  // UT-R2: pairs with UT-A2
  });
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!done.load(std::memory_order_acquire) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();  // UT-A2: pairs with UT-R2
  }
  const bool in_time = done.load(std::memory_order_acquire);  // UT-A2, as above
  if (!in_time) unstick();
  destroyer.join();
  return in_time;
}

// Teardown with requests the poller never moved into the kernel, as many as the SQ has entries:
// they end at once with ERR (moving them in first would fill the SQ and leave no room for the
// cancel, and recvs on a silent socket would never end).
TEST_F(Uring, TeardownEndsQueuedRequestsWhenTheyWouldFillTheSubmissionQueue) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  Outcomes outcomes(8);
  auto ctx = contexts(8, outcomes);
  char buffers[8][4];
  pn::Poller poller;  // never started: the requests stay queued
  pn::UringOptions options;
  options.entries = 8;
  options.max_in_flight = 8;
  auto device = std::make_unique<pn::UringDevice>(poller, options);
  for (std::size_t i = 0; i < 8; ++i) {
    ASSERT_EQ(device->submit_recv(*ctx[i], pair[1], buffers[i], sizeof buffers[i], 0, i),
              pn::SubmitResult::kAccepted);
  }
  EXPECT_TRUE(destroyed_in_time(device, [&] { ::shutdown(pair[0], SHUT_RDWR); }));
  EXPECT_EQ(outcomes.total.load(std::memory_order_acquire), 8);
  for (std::size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(outcomes.calls[i].load(), 1);
    EXPECT_EQ(outcomes.status[i].load(), PN_ASYNC_STATUS_ERR);
  }
  ::close(pair[0]);
  ::close(pair[1]);
}

// The same with the requests in the kernel, with and without SQPOLL.
TEST_F(Uring, TeardownCancelsWhatTheKernelHoldsWithAndWithoutSqpoll) {
  for (const bool sqpoll : {false, true}) {
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    Outcomes outcomes(4);
    auto ctx = contexts(4, outcomes);
    char buffers[4][4];
    pn::Poller poller(busy());
    pn::UringOptions options;
    options.entries = 4;
    options.max_in_flight = 4;
    options.sqpoll = sqpoll;
    auto device = std::make_unique<pn::UringDevice>(poller, options);
    ASSERT_TRUE(poller.start());
    for (std::size_t i = 0; i < 4; ++i) {
      ASSERT_EQ(device->submit_recv(*ctx[i], pair[1], buffers[i], sizeof buffers[i], 0, i),
                pn::SubmitResult::kAccepted);
    }
    EXPECT_TRUE(destroyed_in_time(device, [&] { ::shutdown(pair[0], SHUT_RDWR); })) << sqpoll;
    EXPECT_EQ(outcomes.total.load(std::memory_order_acquire), 4) << sqpoll;
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(outcomes.status[i].load(), PN_ASYNC_STATUS_ERR);
    ::close(pair[0]);
    ::close(pair[1]);
  }
}

// Submitting threads that exit with requests in the kernel: each request still completes once
// (OK), and the channels those threads gave back serve the next threads. Then threads that leave
// requests in the kernel when the device goes away: each ends once, with ERR.
TEST_F(Uring, ThreadsExitingWithRequestsInFlightAndTeardownWithEveryChannelBusy) {
  constexpr std::size_t kThreads = 8;
  constexpr std::size_t kEach = 4;
  Outcomes outcomes(2 * kThreads * kEach);
  auto ctx = contexts(2 * kThreads * kEach, outcomes);
  pn::PollerOptions adaptive;
  adaptive.policy = pn::PollPolicy::kAdaptive;
  pn::Poller poller(adaptive);
  pn::UringOptions options;
  options.max_in_flight = kEach;  // per submitting thread
  auto device = std::make_unique<pn::UringDevice>(poller, options);
  ASSERT_TRUE(poller.start());
  const auto submit_from_threads = [&](std::size_t first, std::chrono::nanoseconds timeout) {
    std::vector<std::thread> threads;
    std::atomic<int> accepted{0};
    for (std::size_t t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (std::size_t i = 0; i < kEach; ++i) {
          const std::size_t n = first + t * kEach + i;
          if (device->submit_timeout(*ctx[n], timeout, n) == pn::SubmitResult::kAccepted) {
            accepted.fetch_add(1, std::memory_order_relaxed);  // read after join
          }
        }
      });  // exits with its requests in the kernel
    }
    for (std::thread& thread : threads) thread.join();
    return accepted.load(std::memory_order_relaxed);
  };
  ASSERT_EQ(submit_from_threads(0, 20ms), static_cast<int>(kThreads * kEach));
  ASSERT_TRUE(wait_for(outcomes, kThreads * kEach));
  ASSERT_EQ(submit_from_threads(kThreads * kEach, 1h), static_cast<int>(kThreads * kEach));
  EXPECT_EQ(device->in_flight(), kThreads * kEach);
  device.reset();
  EXPECT_EQ(outcomes.total.load(std::memory_order_acquire), 2 * static_cast<int>(kThreads * kEach));
  for (std::size_t n = 0; n < 2 * kThreads * kEach; ++n) {
    EXPECT_EQ(outcomes.calls[n].load(), 1) << n;
    EXPECT_EQ(outcomes.status[n].load(),
              n < kThreads * kEach ? PN_ASYNC_STATUS_OK : PN_ASYNC_STATUS_ERR)
        << n;
  }
}

// io_uring_submit failing (the kernel cannot take the SQEs now): counted, the SQEs are submitted
// again at a later poll, and a teardown meanwhile still ends every request.
TEST_F(Uring, FailedSubmitsAreRetriedAndCounted) {
  Outcomes outcomes(2);
  auto ctx = contexts(2, outcomes);
  {
    pn::PollerOptions adaptive;
    adaptive.policy = pn::PollPolicy::kAdaptive;
    pn::Poller poller(adaptive);
    pn::UringDevice device(poller, pn::UringOptions{});
    pn::internal::fail_next_uring_submits(device, 3);
    ASSERT_TRUE(poller.start());
    ASSERT_EQ(device.submit_nop(*ctx[0], 0), pn::SubmitResult::kAccepted);
    ASSERT_TRUE(wait_for(outcomes, 1));
    EXPECT_EQ(outcomes.status[0].load(), PN_ASYNC_STATUS_OK);
    EXPECT_EQ(device.submit_errors(), 3U);
  }
  {
    pn::Poller poller(external());
    auto device = std::make_unique<pn::UringDevice>(poller, pn::UringOptions{});
    pn::internal::fail_next_uring_submits(*device, 5);
    ASSERT_EQ(device->submit_nop(*ctx[1], 1), pn::SubmitResult::kAccepted);
    EXPECT_EQ(poller.poll_once(), 0U);  // into the SQ; the submit fails
    EXPECT_EQ(device->submit_errors(), 1U);
    EXPECT_TRUE(destroyed_in_time(device, [] {}));  // four more failures, then it goes through
  }
  EXPECT_EQ(outcomes.calls[1].load(), 1);
  EXPECT_EQ(outcomes.status[1].load(), PN_ASYNC_STATUS_ERR);
}

// Completions left in the CQ because the poller's ring was full: teardown delivers them, and
// the poller delivers what its ring holds: every request exactly once.
TEST_F(Uring, TeardownWithCompletionsLeftInTheQueueBehindAFullRing) {
  constexpr std::size_t kMax = 400;
  Outcomes outcomes(kMax);
  auto ctx = contexts(1, outcomes);
  std::size_t accepted = 0;
  {
    pn::Poller poller(external());
    {
      pn::UringOptions options;
      options.entries = 4;
      options.max_in_flight = 4;
      pn::UringDevice device(poller, options);
      for (int round = 0; round < 100 && accepted < kMax; ++round) {
        while (accepted < kMax &&
               device.submit_nop(*ctx[0], accepted) == pn::SubmitResult::kAccepted) {
          ++accepted;
        }
        (void)poller.poll_once(1);  // reaps into the ring, delivers one
      }
      EXPECT_GT(poller.stats().ring_full, 0U) << "the ring filled and CQEs stayed in the CQ";
    }  // teardown delivers the CQ's leftovers
  }    // the poller's destructor delivers its ring
  EXPECT_EQ(outcomes.total.load(std::memory_order_acquire), static_cast<int>(accepted));
  for (std::size_t i = 0; i < accepted; ++i) EXPECT_EQ(outcomes.calls[i].load(), 1) << i;
}

TEST_F(Uring, AContextDestroyedInFlightDropsItsCompletion) {
  pn::Poller poller(busy());
  pn::UringDevice device(poller, pn::UringOptions{});
  ASSERT_TRUE(poller.start());
  Outcomes outcomes(2);
  pn::WaitCtx* doomed = pn::WaitCtx::create();
  doomed->set_completion_callback(record, &outcomes);
  ASSERT_EQ(device.submit_timeout(*doomed, 10ms, 0), pn::SubmitResult::kAccepted);
  pn::WaitCtx::destroy(doomed);  // the kernel still holds the request
  auto witness = contexts(1, outcomes);
  ASSERT_EQ(device.submit_timeout(*witness[0], 30ms, 1), pn::SubmitResult::kAccepted);
  ASSERT_TRUE(wait_for(outcomes, 1));
  EXPECT_EQ(outcomes.calls[0].load(), 0) << "no callback for the destroyed context";
  EXPECT_EQ(outcomes.calls[1].load(), 1);
  ASSERT_TRUE(poller.stop());
  EXPECT_EQ(poller.stats().stale, 1U) << "its completion was recognised and dropped";
}

TEST_F(Uring, BadOptionsAndArguments) {
  pn::Poller poller(busy());
  pn::UringOptions options;
  options.entries = 3;
  EXPECT_THROW(pn::UringDevice(poller, options), std::invalid_argument);
  options.entries = 8192;
  EXPECT_THROW(pn::UringDevice(poller, options), std::invalid_argument);
  options = {};
  options.max_in_flight = 512;
  EXPECT_THROW(pn::UringDevice(poller, options), std::invalid_argument);
  options = {};
  options.single_issuer = true;
  options.sqpoll = true;
  EXPECT_THROW(pn::UringDevice(poller, options), std::invalid_argument) << "single issuer, sqpoll";
  options = {};
  options.default_op = pn::UringDefaultOp::kRead;
  EXPECT_THROW(pn::UringDevice(poller, options), std::invalid_argument) << "no file";
  pn::UringDevice device(poller, pn::UringOptions{});
  auto ctx = pn::WaitCtx::make();
  EXPECT_EQ(device.submit_read(*ctx, 0, nullptr, 10, 0, 0), pn::SubmitResult::kFailed);
  EXPECT_EQ(ctx->status(), PN_ASYNC_STATUS_ERR);
  ASSERT_TRUE(poller.start());
  pn::Poller started(busy());
  ASSERT_TRUE(started.start());
  EXPECT_THROW(pn::UringDevice(started, pn::UringOptions{}), std::invalid_argument);
  ASSERT_TRUE(started.stop());
  ASSERT_TRUE(poller.stop());
}

TEST_F(Uring, DefaultReadRotatesOverTheFile) {
  TempFile file;
  std::vector<unsigned char> data(16 * 512, 7);
  ASSERT_EQ(::write(file.fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  pn::Poller poller(busy());
  pn::UringOptions options;
  options.default_op = pn::UringDefaultOp::kRead;
  options.default_fd = file.fd;
  options.default_read_size = 512;
  options.default_file_size = data.size();
  pn::UringDevice device(poller, options);
  ASSERT_TRUE(poller.start());
  Outcomes outcomes(40);
  auto ctx = contexts(40, outcomes);
  for (std::uint64_t i = 0; i < 40; ++i)
    ASSERT_EQ(device.submit(*ctx[i], i), pn::SubmitResult::kAccepted);
  ASSERT_TRUE(wait_for(outcomes, 40));
  for (std::size_t i = 0; i < 40; ++i) EXPECT_EQ(outcomes.result[i].load(), 512);
  ASSERT_TRUE(poller.stop());
}

// Single issuer, run to completion: one thread submits, polls and destroys the device with
// requests in the kernel; each ends once (the 20 ms timeouts OK, the hour-long ones ERR).
TEST_F(Uring, SingleIssuerRunToCompletionAndTeardownOnTheIssuer) {
  Outcomes outcomes(8);
  auto ctx = contexts(8, outcomes);
  pn::Poller poller(external());
  pn::UringOptions options;
  options.single_issuer = true;
  auto device = std::make_unique<pn::UringDevice>(poller, options);
  ASSERT_TRUE(device->single_issuer()) << device->fallback_reason();
  for (std::size_t i = 0; i < 8; ++i) {
    ASSERT_EQ(device->submit_timeout(*ctx[i], i < 4 ? 20ms : 1h, i), pn::SubmitResult::kAccepted);
  }
  poll_until(poller, outcomes, 4);
  device.reset();
  ASSERT_TRUE(wait_for(outcomes, 8));
  for (std::size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(outcomes.calls[i].load(), 1) << i;
    EXPECT_EQ(outcomes.status[i].load(), i < 4 ? PN_ASYNC_STATUS_OK : PN_ASYNC_STATUS_ERR) << i;
  }
}

// Single issuer, the device destroyed on another thread while its poller runs: the poller's
// thread, the issuer, cancels and reaps; every request ends once with ERR, in bounded time.
TEST_F(Uring, SingleIssuerTeardownFromAnotherThreadGoesThroughThePoller) {
  Outcomes outcomes(8);
  auto ctx = contexts(8, outcomes);
  pn::PollerOptions adaptive;
  adaptive.policy = pn::PollPolicy::kAdaptive;
  pn::Poller poller(adaptive);
  pn::UringOptions options;
  options.single_issuer = true;
  auto device = std::make_unique<pn::UringDevice>(poller, options);
  ASSERT_TRUE(poller.start());
  // A NOP before and after the timeouts: once the second completed, the timeouts (queued before
  // it on this thread's channel) are in the kernel.
  ASSERT_EQ(device->submit_nop(*ctx[0], 0), pn::SubmitResult::kAccepted);
  ASSERT_TRUE(wait_for(outcomes, 1));
  for (std::size_t i = 1; i < 7; ++i) {
    ASSERT_EQ(device->submit_timeout(*ctx[i], 1h, i), pn::SubmitResult::kAccepted);
  }
  ASSERT_EQ(device->submit_nop(*ctx[7], 7), pn::SubmitResult::kAccepted);
  ASSERT_TRUE(wait_for(outcomes, 2));
  EXPECT_TRUE(destroyed_in_time(device, [] {}));
  EXPECT_EQ(outcomes.total.load(std::memory_order_acquire), 8);
  for (std::size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(outcomes.calls[i].load(), 1) << i;
    EXPECT_EQ(outcomes.status[i].load(),
              i == 0 || i == 7 ? PN_ASYNC_STATUS_OK : PN_ASYNC_STATUS_ERR)
        << i;
  }
}

// A single-issuer ring polled from a second thread: the kernel would refuse that thread, so what
// it finds queued ends with ERR (-EEXIST) instead of waiting forever.
TEST_F(Uring, SingleIssuerPolledFromAnotherThreadEndsWithErr) {
  Outcomes outcomes(2);
  auto ctx = contexts(2, outcomes);
  pn::Poller poller(external());
  pn::UringOptions options;
  options.single_issuer = true;
  pn::UringDevice device(poller, options);
  ASSERT_EQ(device.submit_nop(*ctx[0], 0), pn::SubmitResult::kAccepted);
  std::thread([&] {  // the issuer: its first poll enables the ring
    poll_until(poller, outcomes, 1);
  })
      .join();
  ASSERT_TRUE(wait_for(outcomes, 1));
  EXPECT_EQ(outcomes.status[0].load(), PN_ASYNC_STATUS_OK);
  ASSERT_EQ(device.submit_nop(*ctx[1], 1), pn::SubmitResult::kAccepted);
  poll_until(poller, outcomes, 2);
  ASSERT_TRUE(wait_for(outcomes, 2));
  EXPECT_EQ(outcomes.status[1].load(), PN_ASYNC_STATUS_ERR);
  EXPECT_EQ(outcomes.result[1].load(), -EEXIST);
}

}  // namespace
