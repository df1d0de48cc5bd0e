// pollnotify-bench reports: rows, statistics across repetitions, the floor the ratios use.
#include "report.hpp"

#include <algorithm>
#include <cmath>

namespace pn::bench {

// --- rows and statistics ---

std::uint64_t Row::lost() const noexcept {
  std::uint64_t sum = 0;
  for (const Phases& phases : repetitions) sum += phases.latency.lost + phases.throughput.lost;
  return sum;
}

std::uint64_t Row::duplicated() const noexcept {
  std::uint64_t sum = 0;
  for (const Phases& phases : repetitions)
    sum += phases.latency.duplicated + phases.throughput.duplicated;
  return sum;
}

bool Row::interrupted() const noexcept {
  return std::any_of(repetitions.begin(), repetitions.end(), [](const Phases& phases) {
    return phases.latency.interrupted || phases.throughput.interrupted;
  });
}

Stat stat_of(const Row& row, const std::function<double(const Phases&)>& figure) {
  std::vector<double> values;
  for (const Phases& phases : row.repetitions) values.push_back(figure(phases));
  Stat stat;
  stat.n = values.size();
  if (values.empty()) return stat;
  std::sort(values.begin(), values.end());
  const std::size_t middle = values.size() / 2;
  stat.median = values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
  if (values.size() > 1) {
    double mean = 0;
    for (double value : values) mean += value;
    mean /= static_cast<double>(values.size());
    double squares = 0;
    for (double value : values) squares += (value - mean) * (value - mean);
    stat.stddev = std::sqrt(squares / static_cast<double>(values.size() - 1));
  }
  return stat;
}

double percentile_of(const Phases& phases, double q) {
  return static_cast<double>(phases.latency.resume_ns.quantile(q));
}

bool resolved(const Row& row, double q) {
  return !row.repetitions.empty() &&
         std::all_of(row.repetitions.begin(), row.repetitions.end(),
                     [q](const Phases& phases) { return phases.latency.resume_ns.resolves(q); });
}

double Phases::adjacent_floor_ns() const noexcept {
  const double before = floor_before_latency.round_trip_ns;
  const double after = floor_after_latency.round_trip_ns;
  if (before > 0 && after > 0) return (before + after) / 2;
  return before > 0 ? before : after;
}

double Phases::p50_over_floor(double run_floor_ns) const noexcept {
  const double adjacent = adjacent_floor_ns();
  const double floor = adjacent > 0 ? adjacent : run_floor_ns;
  return floor > 0 ? static_cast<double>(latency.resume_ns.quantile(0.5)) / floor : 0.0;
}

double Report::floor_ns() const noexcept {
  return floor_after_measured ? (floor_before.round_trip_ns + floor_after.round_trip_ns) / 2
                              : floor_before.round_trip_ns;
}

bool Report::floor_changed() const noexcept {
  return floor_after_measured && pn::bench::floor_changed(floor_before, floor_after);
}

}  // namespace pn::bench
