// A poller's lifecycle and rings at their edges: start and stop from different threads, ring
// misuse, the thread-ring cache, a CPU it cannot run on.
#include <gtest/gtest.h>
#include <atomic>
#include <string>
#include <system_error>
#include <thread>

#include "pollnotify/poller.hpp"

namespace {

// --- Races TSan saw: start/stop from different threads, a foreign start_job ---

TEST(PollerRaces, StartAndStopFromDifferentThreads) {
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

// --- Ring misuse is refused before it can give one ring two producers ---

TEST(PollerRings, ReleasingARingTwiceOrToAnotherPollerIsRefused) {
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

// --- A thread that used many short-lived pollers keeps no entry for the dead ones ---

TEST(PollerRings, ThreadRingCacheForgetsDestroyedPollers) {
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

TEST(PollerLimits, PollerCpuOutsideTheMachineIsAnErrorAtStart) {
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

}  // namespace
