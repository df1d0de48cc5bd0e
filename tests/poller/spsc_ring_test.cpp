// SpscRing: deterministic single-thread behaviour, then a two-thread stamped stress test.
#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

#include "pollnotify/spsc_ring.hpp"

namespace {

TEST(SpscRing, CapacityRoundsUpToPowerOfTwo) {
  EXPECT_EQ(pn::SpscRing<int>(1).capacity(), 2U);
  EXPECT_EQ(pn::SpscRing<int>(5).capacity(), 8U);
  EXPECT_EQ(pn::SpscRing<int>(64).capacity(), 64U);
}

TEST(SpscRing, BadCapacityThrows) {
  EXPECT_THROW(pn::SpscRing<int>(0), std::invalid_argument);
  EXPECT_THROW(pn::SpscRing<int>((std::size_t{1} << 32) + 1), std::invalid_argument);
}

TEST(SpscRing, FullRingRefusesAndKeepsEverything) {
  pn::SpscRing<int> ring(4);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(ring.try_push(i));
  EXPECT_FALSE(ring.try_push(99));
  EXPECT_EQ(ring.size_approx(), 4U);
  int value = -1;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(ring.try_pop(value));
    EXPECT_EQ(value, i);
  }
  EXPECT_FALSE(ring.try_pop(value));
}

TEST(SpscRing, BurstPushIsPartialWhenNearlyFull) {
  pn::SpscRing<int> ring(8);
  const std::vector<int> items = {0, 1, 2, 3, 4, 5};
  EXPECT_EQ(ring.try_push_burst(items.data(), items.size()), 6U);
  EXPECT_EQ(ring.try_push_burst(items.data(), items.size()), 2U);
  EXPECT_EQ(ring.try_push_burst(items.data(), items.size()), 0U);
}

TEST(SpscRing, DrainRespectsMaxAndOrderAcrossWrap) {
  pn::SpscRing<int> ring(4);
  std::vector<int> seen;
  int next = 0;
  for (int round = 0; round < 10; ++round) {
    while (ring.try_push(next)) ++next;
    EXPECT_EQ(ring.drain(3, [&](const int& v) { seen.push_back(v); }), 3U);
  }
  ring.drain(100, [&](const int& v) { seen.push_back(v); });
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(next));
  for (int i = 0; i < next; ++i) EXPECT_EQ(seen[i], i);
}

TEST(SpscRing, ThrowingConsumerFreesTheThrowingItemOnce) {
  pn::SpscRing<int> ring(8);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(ring.try_push(i));
  std::vector<int> seen;
  EXPECT_THROW(ring.drain(8,
                          [&](const int& v) {
                            seen.push_back(v);
                            if (v == 1) throw std::runtime_error("consumer failed");
                          }),
               std::runtime_error);
  ring.drain(8, [&](const int& v) { seen.push_back(v); });
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3}));
}

struct Stamp {
  std::uint64_t sequence;
  std::uint64_t check;  // derived from sequence: catches a torn or stale slot
};

TEST(SpscRing, TwoThreadStressKeepsOrderNoLossNoDuplicate) {
#if defined(__SANITIZE_THREAD__)
  constexpr std::uint64_t kItems = 200'000;
#else
  constexpr std::uint64_t kItems = 5'000'000;
#endif
  pn::SpscRing<Stamp> ring(1024);
  std::thread producer([&] {
    std::uint64_t next = 0;
    Stamp burst[16];
    while (next < kItems) {
      const std::uint64_t count = std::min<std::uint64_t>(1 + next % 16, kItems - next);
      for (std::uint64_t i = 0; i < count; ++i) burst[i] = {next + i, (next + i) * 2654435761U};
      next += ring.try_push_burst(burst, count);
    }
  });
  std::uint64_t expected = 0, errors = 0;
  while (expected < kItems) {
    ring.drain(32, [&](const Stamp& s) {
      errors += s.sequence != expected || s.check != s.sequence * 2654435761U;
      ++expected;
    });
  }
  producer.join();
  EXPECT_EQ(errors, 0U);
  EXPECT_EQ(ring.size_approx(), 0U);
}

}  // namespace
