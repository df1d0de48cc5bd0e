// HdrHistogram's percentile-distribution text, one file per phase and repetition.
#include <cmath>
#include <cstdio>
#include <fstream>

#include "report.hpp"

namespace pn::bench {

// --- HdrHistogram percentile distribution ---

std::vector<double> percentile_levels(std::uint64_t count) {
  constexpr double kTicksPerHalfDistance = 5;
  std::vector<double> levels;
  if (count == 0) return levels;
  // As HdrHistogram's percentile iterator: the step halves each time the distance to 100 %
  // halves, so the tail gets as many lines per halving as the body.
  for (double level = 0; level < 1.0;) {
    levels.push_back(level);
    if (static_cast<double>(count) * (1.0 - level) <= 1.0) break;  // at the last sample
    const double halvings = std::floor(std::log2(1.0 / (1.0 - level))) + 1;
    level += 1.0 / (kTicksPerHalfDistance * std::pow(2.0, halvings));
  }
  levels.push_back(1.0);
  return levels;
}

void write_hgrm(std::ostream& out, const LatencyHistogram& histogram) {
  char line[128];
  std::snprintf(line, sizeof line, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount",
                "1/(1-Percentile)");
  out << line;
  const auto& counts = histogram.counts();
  for (double level : percentile_levels(histogram.count())) {
    const std::uint64_t value = histogram.quantile(level);
    std::uint64_t at_or_below = 0;
    const std::size_t last = LatencyHistogram::index_of(value);
    for (std::size_t i = 0; i <= last && i < counts.size(); ++i) at_or_below += counts[i];
    const double us = static_cast<double>(value) / 1e3;
    if (level < 1.0) {
      std::snprintf(line, sizeof line, "%12.3f %1.12f %10llu %14.2f\n", us, level,
                    static_cast<unsigned long long>(at_or_below), 1.0 / (1.0 - level));
    } else {
      std::snprintf(line, sizeof line, "%12.3f %1.12f %10llu\n", us, level,
                    static_cast<unsigned long long>(at_or_below));
    }
    out << line;
  }
  std::snprintf(line, sizeof line, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n",
                histogram.mean() / 1e3, histogram.stdev() / 1e3);
  out << line;
  std::snprintf(line, sizeof line, "#[Max     = %12.3f, Total count    = %12llu]\n",
                static_cast<double>(histogram.max()) / 1e3,
                static_cast<unsigned long long>(histogram.count()));
  out << line;
  std::snprintf(line, sizeof line, "#[Buckets = %12u, SubBuckets     = %12llu]\n",
                LatencyHistogram::kMaxBits - LatencyHistogram::kSubBits + 1,
                static_cast<unsigned long long>(LatencyHistogram::kSubCount));
  out << line;
}

bool write_hgrm_files(const std::string& directory, const Report& report, std::string& error) {
  for (const Row& row : report.rows) {
    std::string model = row.device;
    for (char& c : model) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') c = '_';
    }
    for (std::size_t r = 0; r < row.repetitions.size(); ++r) {
      const std::pair<const char*, const RunResult*> phases[] = {
          {"latency", &row.repetitions[r].latency}, {"throughput", &row.repetitions[r].throughput}};
      for (const auto& [phase, run] : phases) {
        std::string path = directory + "/" + name_of(row.mechanism) + "_" + model + "_" + phase;
        if (row.repetitions.size() > 1) path += "_r" + std::to_string(r + 1);
        path += ".hgrm";
        std::ofstream file(path);
        write_hgrm(file, run->resume_ns);
        file.close();
        if (!file) {
          error = "cannot write " + path;
          return false;
        }
      }
    }
  }
  return true;
}

}  // namespace pn::bench
