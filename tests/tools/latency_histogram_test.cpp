// The bench tool's latency histogram: bucket layout and quantile error bounds.
#include "latency_histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace {

using pn::bench::LatencyHistogram;

TEST(LatencyHistogram, BucketsAreContiguousAndContainTheirValues) {
  for (std::uint64_t value : {0ULL, 1ULL, 127ULL, 128ULL, 129ULL, 255ULL, 256ULL, 1000ULL,
                              123456789ULL, (1ULL << 40) + 12345ULL}) {
    const std::size_t index = LatencyHistogram::index_of(value);
    EXPECT_LE(LatencyHistogram::lower_bound(index), value);
    EXPECT_LT(value, LatencyHistogram::lower_bound(index) + LatencyHistogram::width(index));
  }
  for (std::size_t i = 0; i + 1 < 2000; ++i) {
    EXPECT_EQ(LatencyHistogram::lower_bound(i) + LatencyHistogram::width(i),
              LatencyHistogram::lower_bound(i + 1));
  }
}

TEST(LatencyHistogram, QuantilesWithinRelativeErrorOfExact) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> distribution(9.0, 1.5);
  std::vector<std::uint64_t> values;
  LatencyHistogram histogram;
  for (int i = 0; i < 100'000; ++i) {
    const auto value = static_cast<std::uint64_t>(distribution(rng));
    values.push_back(value);
    histogram.record(value);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const auto exact =
        static_cast<double>(values[static_cast<std::size_t>(q * (values.size() - 1))]);
    const auto approx = static_cast<double>(histogram.quantile(q));
    EXPECT_NEAR(approx, exact, exact * 0.01 + 1) << "q=" << q;
  }
  EXPECT_EQ(histogram.max(), values.back());
  EXPECT_EQ(histogram.count(), values.size());
}

TEST(LatencyHistogram, MergeAddsCounts) {
  LatencyHistogram a, b;
  a.record(10);
  b.record(1000);
  b.record(2000);
  a.merge(b);
  EXPECT_EQ(a.count(), 3U);
  EXPECT_EQ(a.max(), 2000U);
  EXPECT_EQ(a.min(), 10U);
  EXPECT_EQ(a.quantile(0.0), 10U);
}

}  // namespace
