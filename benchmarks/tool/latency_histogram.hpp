// Latency histogram with bounded relative error (HDR-style log-linear buckets): values below
// 2^kSubBits ns are exact; above, each power of two is split into 2^kSubBits linear buckets, so
// a recorded value and its bucket's midpoint differ by less than 2^-(kSubBits+1) (0.4%).
// Recording is a bit_width, a shift and an increment. One writer per histogram; merge to combine.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pn::bench {

class LatencyHistogram {
 public:
  static constexpr unsigned kSubBits = 7;
  static constexpr std::uint64_t kSubCount = std::uint64_t{1} << kSubBits;
  static constexpr unsigned kMaxBits = 48;  // ~78 hours in ns; larger values are clamped
  static constexpr std::size_t kBuckets = (kMaxBits - kSubBits + 1) * kSubCount;

  LatencyHistogram() : counts_(kBuckets, 0) {}

  void record(std::uint64_t value_ns) noexcept {
    ++counts_[index_of(value_ns)];
    ++count_;
    if (value_ns > max_) max_ = value_ns;
    if (value_ns < min_) min_ = value_ns;
    sum_ += value_ns;
    const auto value = static_cast<double>(value_ns);
    sum_of_squares_ += value * value;
  }

  void merge(const LatencyHistogram& other) noexcept {
    for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    sum_of_squares_ += other.sum_of_squares_;
    if (other.max_ > max_) max_ = other.max_;
    if (other.min_ < min_) min_ = other.min_;
  }

  static std::size_t index_of(std::uint64_t value) noexcept {
    if (value < kSubCount) return static_cast<std::size_t>(value);
    const unsigned width = static_cast<unsigned>(std::bit_width(value));
    if (width > kMaxBits) return kBuckets - 1;
    const unsigned shift = width - kSubBits - 1;
    const std::uint64_t mantissa = value >> shift;  // in [kSubCount, 2 * kSubCount)
    return static_cast<std::size_t>((shift + 1) * kSubCount + (mantissa - kSubCount));
  }
  static std::uint64_t lower_bound(std::size_t index) noexcept {
    if (index < kSubCount) return index;
    const std::uint64_t shift = index / kSubCount - 1;
    return (kSubCount + index % kSubCount) << shift;
  }
  static std::uint64_t width(std::size_t index) noexcept {
    return index < kSubCount ? 1 : std::uint64_t{1} << (index / kSubCount - 1);
  }

  // The value at quantile q in [0, 1]: the midpoint of its bucket (exact below 128 ns), clamped
  // to the recorded min and max. 0 when empty.
  [[nodiscard]] std::uint64_t quantile(double q) const noexcept {
    if (count_ == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        const std::uint64_t mid = lower_bound(i) + width(i) / 2;
        return mid < min_ ? min_ : (mid > max_ ? max_ : mid);
      }
    }
    return max_;
  }

  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  [[nodiscard]] std::uint64_t max() const noexcept { return count_ ? max_ : 0; }
  [[nodiscard]] std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
  [[nodiscard]] double mean() const noexcept {
    return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0;
  }
  // Population standard deviation of the recorded values (exact sums, not bucket midpoints).
  [[nodiscard]] double stdev() const noexcept {
    if (count_ == 0) return 0.0;
    const double n = static_cast<double>(count_);
    const double mean_value = static_cast<double>(sum_) / n;
    const double variance = sum_of_squares_ / n - mean_value * mean_value;
    return variance > 0 ? std::sqrt(variance) : 0.0;
  }
  // Samples ranked above quantile q: what a percentile rests on. p99.99 of 5 000 samples is the
  // maximum, not a tail estimate.
  [[nodiscard]] double samples_beyond(double q) const noexcept {
    return static_cast<double>(count_) * (1.0 - q);
  }
  // A percentile is resolved when at least kMinSamplesBeyond samples lie beyond it.
  static constexpr double kMinSamplesBeyond = 10;
  [[nodiscard]] bool resolves(double q) const noexcept {
    return samples_beyond(q) >= kMinSamplesBeyond;
  }
  [[nodiscard]] const std::vector<std::uint64_t>& counts() const noexcept { return counts_; }

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  double sum_of_squares_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t min_ = ~std::uint64_t{0};
};

}  // namespace pn::bench
