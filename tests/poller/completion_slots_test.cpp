// The completion ring's storage (internal/completion_slots.hpp): each slot carries its own
// full/empty state in its context pointer. Capacity, full and partial pushes, order across the
// wrap, a completion without a context, a throwing consumer, the parking check, and two threads
// exchanging 300 000 completions exactly once and in order.
#include "pollnotify/internal/completion_slots.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>
#include <vector>

namespace {

using pn::internal::CompletionSlots;

// Distinct non-null context pointers the ring only carries, never dereferences.
pn::WaitCtx* fake_ctx(std::uintptr_t i) { return reinterpret_cast<pn::WaitCtx*>(0x1000 + 16 * i); }

pn::Completion completion(std::uint64_t i) {
  return pn::Completion{fake_ctx(i % 7), i, pn::RequestTicket{i * 3},
                        static_cast<std::int32_t>(i % 4), static_cast<std::int32_t>(-i)};
}

void expect_equal(const pn::Completion& got, const pn::Completion& want) {
  EXPECT_EQ(got.ctx, want.ctx);
  EXPECT_EQ(got.user_data, want.user_data);
  EXPECT_EQ(got.ticket.generation, want.ticket.generation);
  EXPECT_EQ(got.status, want.status);
  EXPECT_EQ(got.result, want.result);
}

TEST(CompletionSlots, CapacityRoundsUpAndBadCapacityThrows) {
  EXPECT_EQ(CompletionSlots(1).capacity(), 2U);
  EXPECT_EQ(CompletionSlots(5).capacity(), 8U);
  EXPECT_THROW(CompletionSlots(0), std::invalid_argument);
  EXPECT_THROW(CompletionSlots(CompletionSlots::kMaxCapacity + 1), std::invalid_argument);
}

TEST(CompletionSlots, FullRefusesThenPartialBurstsKeepOrderAcrossTheWrap) {
  CompletionSlots ring(8);
  std::vector<pn::Completion> items;
  for (std::uint64_t i = 0; i < 40; ++i) items.push_back(completion(i));
  EXPECT_EQ(ring.try_push_burst(items.data(), 6, pn::Publish::kRelease), 6U);
  EXPECT_EQ(ring.try_push_burst(items.data() + 6, 5, pn::Publish::kRelease), 2U) << "partial";
  EXPECT_EQ(ring.try_push_burst(items.data() + 8, 1, pn::Publish::kSeqCst), 0U) << "full";
  EXPECT_EQ(ring.size_approx(), 8U);
  std::uint64_t next = 0;
  const auto check = [&](const pn::Completion& got) { expect_equal(got, items[next++]); };
  EXPECT_EQ(ring.drain(3, check), 3U);
  EXPECT_EQ(ring.try_push_burst(items.data() + 8, 3, pn::Publish::kSeqCst), 3U) << "wrapped";
  EXPECT_EQ(ring.drain(100, check), 8U);
  EXPECT_EQ(next, 11U);
  EXPECT_EQ(ring.drain(100, check), 0U);
  EXPECT_EQ(ring.try_push_burst(items.data() + 20, 0, pn::Publish::kSeqCst), 0U) << "nothing";
  EXPECT_FALSE(ring.has_items_seq_cst()) << "an empty push publishes nothing";
  EXPECT_EQ(ring.drain(100, check), 0U);
  EXPECT_EQ(ring.size_approx(), 0U);
}

TEST(CompletionSlots, ACompletionWithoutAContextIsCarriedAsOne) {
  CompletionSlots ring(4);
  pn::Completion none = completion(5);
  none.ctx = nullptr;
  ASSERT_EQ(ring.try_push_burst(&none, 1, pn::Publish::kRelease), 1U);
  EXPECT_TRUE(ring.has_items_seq_cst()) << "not mistaken for an empty slot";
  int seen = 0;
  EXPECT_EQ(ring.drain(4,
                       [&](const pn::Completion& got) {
                         ++seen;
                         expect_equal(got, none);
                       }),
            1U);
  EXPECT_EQ(seen, 1);
}

TEST(CompletionSlots, AThrowingConsumerLosesNothingAfterIt) {
  CompletionSlots ring(8);
  std::vector<pn::Completion> items{completion(1), completion(2), completion(3)};
  ASSERT_EQ(ring.try_push_burst(items.data(), 3, pn::Publish::kRelease), 3U);
  std::vector<std::uint64_t> seen;
  EXPECT_THROW(ring.drain(8,
                          [&](const pn::Completion& got) {
                            seen.push_back(got.user_data);
                            if (got.user_data == 2) throw std::runtime_error("callback");
                          }),
               std::runtime_error);
  EXPECT_EQ(ring.drain(8, [&](const pn::Completion& got) { seen.push_back(got.user_data); }), 1U);
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2, 3})) << "each once, in order";
}

TEST(CompletionSlots, TwoThreadsExactlyOnceInOrder) {
#if defined(__SANITIZE_THREAD__)
  constexpr std::uint64_t kItems = 100'000;
#else
  constexpr std::uint64_t kItems = 300'000;
#endif
  CompletionSlots ring(64);
  std::thread producer([&] {
    std::vector<pn::Completion> burst;
    for (std::uint64_t next = 0; next < kItems;) {
      burst.clear();
      for (std::uint64_t i = next; i < std::min(kItems, next + 1 + next % 13); ++i) {
        burst.push_back(completion(i));
      }
      const std::size_t pushed = ring.try_push_burst(
          burst.data(), burst.size(), next % 2 ? pn::Publish::kSeqCst : pn::Publish::kRelease);
      next += pushed;
      if (pushed == 0) std::this_thread::yield();
    }
  });
  std::uint64_t expected = 0, errors = 0;
  while (expected < kItems) {
    const std::size_t got = ring.drain(1 + expected % 32, [&](const pn::Completion& c) {
      const pn::Completion want = completion(expected++);
      errors += c.ctx != want.ctx || c.user_data != want.user_data ||
                c.ticket.generation != want.ticket.generation || c.status != want.status ||
                c.result != want.result;
    });
    if (got == 0) std::this_thread::yield();
  }
  producer.join();
  EXPECT_EQ(errors, 0U);
  EXPECT_EQ(ring.drain(64, [](const pn::Completion&) {}), 0U) << "nothing extra";
}

}  // namespace
