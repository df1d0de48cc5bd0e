// pollnotify-bench's command line: parsed and validated before anything runs, so that a bad value
// costs no measurement. Kept apart from main() for the table tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "workload.hpp"

namespace pn::bench {

enum class Action : std::uint8_t { kRun, kHelp, kCompare, kError };

struct BenchOptions {
  WorkloadOptions workload;  // the throughput (closed-loop, loaded) phase
  std::vector<Mechanism> mechanisms{std::begin(kAllMechanisms), std::end(kAllMechanisms)};
  std::vector<std::string> devices{"zero", "exp:5000"};  // DeviceSpec texts
  std::size_t unloaded_jobs = 1;                         // closed-loop latency phase
  double rate = 0;  // open-loop latency phase at this rate (requests/s); 0: closed
  unsigned repetitions = 1;
  double floor_seconds = 0.2;  // each ping-pong floor measurement
  std::string json_path;       // "-": standard output (the tables go to standard error)
  std::string plot_path;
  std::string hgrm_dir;
  std::string compare_a, compare_b;  // --compare A.json B.json
};

struct CommandLine {
  Action action = Action::kRun;
  BenchOptions options;
  std::string error;  // kError: names the option and the bad value
};

extern const char* const kUsage;

// Parses and checks the values (ranges, models, CPU numbers against this process's CPU set,
// output paths writable); touches nothing but the output paths' directories.
CommandLine parse_command_line(int argc, char** argv);

// The CPUs this process may run on; pinning outside them fails.
bool cpu_allowed(int cpu) noexcept;

}  // namespace pn::bench
