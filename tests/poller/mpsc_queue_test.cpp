// MpscQueue: bounded MPSC hand-off from callbacks to an application thread.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "pollnotify/mpsc_queue.hpp"

namespace {

using namespace std::chrono_literals;

TEST(MpscQueue, FifoAndFull) {
  pn::MpscQueue<int> queue(4);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(queue.try_push(i));
  EXPECT_FALSE(queue.try_push(4));
  int value = -1;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(queue.try_pop(value));
    EXPECT_EQ(value, i);
  }
  EXPECT_FALSE(queue.try_pop(value));
  EXPECT_THROW(pn::MpscQueue<int>(0), std::invalid_argument);
}

// The consumer frees slots through its index (it never writes a slot): exactly `capacity`
// items fit at every lap, in order, however far the indices have run.
TEST(MpscQueue, FullAndFreedAtEveryLap) {
  pn::MpscQueue<int> queue(4);
  int next_in = 0, next_out = 0, value = -1;
  for (int lap = 0; lap < 1000; ++lap) {
    while (queue.try_push(next_in)) ++next_in;
    ASSERT_EQ(next_in - next_out, 4) << "lap " << lap;
    const int pops = 1 + lap % 4;
    for (int i = 0; i < pops; ++i) {
      ASSERT_TRUE(queue.try_pop(value));
      ASSERT_EQ(value, next_out++);
    }
  }
  while (queue.try_pop(value)) ASSERT_EQ(value, next_out++);
  EXPECT_EQ(next_out, next_in);
}

TEST(MpscQueue, PopWaitTimesOutWhenEmpty) {
  pn::MpscQueue<int> queue(4);
  int value = 0;
  EXPECT_FALSE(queue.pop_wait(value, 2ms));
}

// The wake lands at whatever moment the waker thread runs: before the consumer's spin, during
// it, or while it is parked. Every one must end the wait (a wake during the spin once left the
// consumer asleep for its whole timeout).
TEST(MpscQueue, WakeConsumerInterruptsPopWait) {
  pn::MpscQueue<int> queue(4);
  for (int round = 0; round < 200; ++round) {
    std::thread waker([&] { queue.wake_consumer(); });
    int value = 0;
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(queue.pop_wait(value, 60s));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 30s) << "round " << round;
    waker.join();
  }
}

struct Stamp {
  unsigned producer;
  unsigned sequence;
};

// Producers stamp their items; the consumer, parking between bursts, checks every stamp. A
// queue of 2 keeps the producers on the full path, refreshing the consumer's index together.
void stress_with_parking_consumer(std::size_t capacity) {
#if defined(__SANITIZE_THREAD__)
  constexpr unsigned kPerProducer = 5'000;
#else
  constexpr unsigned kPerProducer = 200'000;
#endif
  constexpr unsigned kProducers = 3;
  pn::MpscQueue<Stamp> queue(capacity);
  std::vector<std::thread> producers;
  for (unsigned p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (unsigned i = 1; i <= kPerProducer; ++i) {
        while (!queue.try_push(Stamp{p, i})) std::this_thread::yield();
        if (i % 1000 == 0) std::this_thread::sleep_for(50us);  // let the consumer park
      }
    });
  }
  std::vector<unsigned> last(kProducers, 0);
  unsigned received = 0, errors = 0;
  while (received < kProducers * kPerProducer) {
    Stamp stamp{};
    ASSERT_TRUE(queue.pop_wait(stamp, 10s)) << "a push was not seen (lost wakeup?)";
    errors += stamp.producer >= kProducers || last[stamp.producer] + 1 != stamp.sequence;
    if (stamp.producer < kProducers) last[stamp.producer] = stamp.sequence;
    ++received;
  }
  for (auto& thread : producers) thread.join();
  EXPECT_EQ(errors, 0U);
  Stamp extra{};
  EXPECT_FALSE(queue.try_pop(extra));
}

TEST(MpscQueue, MultiProducerStressWithParkingConsumer) { stress_with_parking_consumer(256); }
TEST(MpscQueue, MultiProducerStressOnAQueueOfTwo) { stress_with_parking_consumer(2); }

// pop_wait at its edges: the longest timeout, a wake that comes before the park.

TEST(MpscQueueWait, PopWaitWithTheLongestTimeout) {
  pn::MpscQueue<int> queue(4);
  ASSERT_TRUE(queue.try_push(7));
  int out = 0;
  EXPECT_TRUE(queue.pop_wait(out, std::chrono::nanoseconds::max()));  // UBSan: no overflow
  EXPECT_EQ(out, 7);
}

TEST(MpscQueueWait, WakeBeforeTheParkIsNotLost) {
  pn::MpscQueue<int> queue(4);
  queue.wake_consumer();  // before the consumer reaches its park
  auto popped = std::async(std::launch::async, [&] {
    int out = 0;
    return queue.pop_wait(out, std::chrono::hours(1));
  });
  ASSERT_EQ(popped.wait_for(30s), std::future_status::ready) << "the wake was lost";
  EXPECT_FALSE(popped.get());
}

}  // namespace
