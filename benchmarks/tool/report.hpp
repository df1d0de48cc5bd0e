// pollnotify-bench reports: the terminal tables, the JSON file (docs/bench-json.md), the
// percentile plot (SVG), HdrHistogram .hgrm files, and the comparison of two JSON files.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "floor.hpp"
#include "options.hpp"
#include "workload.hpp"

namespace pn::bench {

inline constexpr int kJsonSchemaVersion = 2;

struct MachineInfo {
  std::string cpu_model;
  unsigned cpus = 0;
  std::string kernel;
  std::string compiler;
  std::string clock;
  static MachineInfo detect();
};

// One repetition of one mechanism on one device model.
struct Phases {
  RunResult latency;     // closed loop with few jobs, or open loop at --rate
  RunResult throughput;  // closed loop, many jobs
  // The floor measured just before and just after the latency phase (round_trip_ns 0: not
  // measured). The machine changes state within seconds, so a latency is divided by the floor
  // next to it rather than by the run's.
  FloorMeasurement floor_before_latency;
  FloorMeasurement floor_after_latency;
  // The mean of the two adjacent floors (the one measured, if only one was); 0 if none.
  [[nodiscard]] double adjacent_floor_ns() const noexcept;
  // p50 of the latency phase over the adjacent floor, or over `run_floor_ns` without one.
  [[nodiscard]] double p50_over_floor(double run_floor_ns) const noexcept;
};

struct Row {
  Mechanism mechanism{};
  std::string device;  // the DeviceSpec text
  std::vector<Phases> repetitions;
  [[nodiscard]] std::uint64_t lost() const noexcept;
  [[nodiscard]] std::uint64_t duplicated() const noexcept;
  [[nodiscard]] bool interrupted() const noexcept;
};

struct Percentile {
  double q;
  const char* key;  // JSON key and column label
};
inline constexpr Percentile kPercentiles[] = {{0.5, "p50"},       {0.9, "p90"},
                                              {0.99, "p99"},      {0.999, "p99.9"},
                                              {0.9999, "p99.99"}, {0.99999, "p99.999"}};

// A figure across repetitions.
struct Stat {
  double median = 0;
  double stddev = 0;  // sample standard deviation; 0 for one repetition
  std::size_t n = 0;
};
Stat stat_of(const Row& row, const std::function<double(const Phases&)>& figure);
// The latency phase's resume latency at quantile q, in ns.
double percentile_of(const Phases& phases, double q);
// A percentile is resolved in a row when it is in every repetition's latency phase.
bool resolved(const Row& row, double q);

struct Report {
  MachineInfo machine;
  BenchOptions options;
  FloorMeasurement floor_before;
  FloorMeasurement floor_after;
  bool floor_after_measured = false;
  bool interrupted = false;
  std::vector<Row> rows;
  // The floor the ratios use: the mean of before and after (before alone if after is missing).
  [[nodiscard]] double floor_ns() const noexcept;
  [[nodiscard]] bool floor_changed() const noexcept;
};

void write_header(std::ostream& out, const Report& report);
void write_floor(std::ostream& out, const Report& report);
void write_tables(std::ostream& out, const Report& report);
void write_json(std::ostream& out, const Report& report);
// Latency by percentile on a log 1/(1-p) axis: a panel per device model, a line per mechanism.
void write_svg(std::ostream& out, const Report& report);
// HdrHistogram's percentile-distribution text (values in microseconds).
void write_hgrm(std::ostream& out, const LatencyHistogram& histogram);
// Writes one .hgrm per phase and repetition into `directory`; false (with `error`) on failure.
bool write_hgrm_files(const std::string& directory, const Report& report, std::string& error);

// Percentile levels HdrHistogram's percentile iterator visits (5 ticks per half distance) up to
// the last sample, then 1.0.
std::vector<double> percentile_levels(std::uint64_t count);

// Latency in a readable unit: "850 ns", "12.5 us", "3.20 ms".
std::string format_ns(double ns);

// --compare: every shared figure's change from A to B with a verdict. Returns the exit status
// (0, or 1 with a message on `err` when a file cannot be read).
int compare_json_files(const std::string& path_a, const std::string& path_b, std::ostream& out,
                       std::ostream& err);

}  // namespace pn::bench
