// pollnotify-bench reports: the terminal table, the JSON file and the latency-CDF SVG plot.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "workload.hpp"

namespace pn::bench {

struct MachineInfo {
  std::string cpu_model;
  unsigned cpus = 0;
  std::string kernel;
  std::string compiler;
  std::string clock;
  static MachineInfo detect();
};

// One mechanism on one latency model: an unloaded phase (few jobs: the notification latency) and
// a loaded phase (many jobs: the throughput).
struct Row {
  RunResult unloaded;
  RunResult loaded;
  [[nodiscard]] std::uint64_t lost() const noexcept { return unloaded.lost + loaded.lost; }
  [[nodiscard]] std::uint64_t duplicated() const noexcept {
    return unloaded.duplicated + loaded.duplicated;
  }
};

void write_table(std::ostream& out, const std::vector<Row>& rows);
void write_json(std::ostream& out, const std::vector<Row>& rows, const WorkloadOptions& options,
                std::size_t unloaded_jobs, const std::vector<Mechanism>& mechanisms,
                const std::vector<std::string>& latencies, const MachineInfo& machine);
// One panel per latency model, one curve per mechanism (unloaded phase); x: latency (log scale).
void write_svg(std::ostream& out, const std::vector<Row>& rows);

}  // namespace pn::bench
