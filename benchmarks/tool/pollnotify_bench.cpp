// pollnotify-bench: latency and throughput of offload notification, one mechanism after another
// on the same workload (application jobs, simulated device, poller) and the same pinned CPUs,
// beside the machine's floor measured between those CPUs in the same run.
#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "cli.hpp"
#include "cryptodev_peers.hpp"
#include "device_spec.hpp"
#include "floor.hpp"
#include "options.hpp"
#include "report.hpp"
#include "uring_peers.hpp"
#include "workload.hpp"

namespace {

using namespace pn::bench;

constexpr int kExitOk = 0, kExitFailed = 1, kExitUsage = 2, kExitLost = 3, kExitInterrupted = 130;

std::atomic<bool> interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free, "touched from a signal handler");

extern "C" void on_sigint(int) {
  interrupted.store(true, std::memory_order_relaxed);  // relaxed: a flag, polled
}

bool stopped() { return interrupted.load(std::memory_order_relaxed); }

Row& row_for(Report& report, Mechanism mechanism, const std::string& device) {
  for (Row& row : report.rows) {
    if (row.mechanism == mechanism && row.device == device) return row;
  }
  report.rows.push_back(Row{mechanism, device, {}});
  return report.rows.back();
}

RunResult run_one(Mechanism mechanism, const WorkloadOptions& options) {
  if (mechanism == Mechanism::kCryptodevPoll) return run_native_cryptodev(options, interrupted);
  return native_uring(mechanism) ? run_native_uring(mechanism, options, interrupted)
                                 : run_workload(mechanism, options, interrupted);
}

// One repetition of one mechanism on one device: the latency phase, then the throughput phase.
Phases run_phases(const BenchOptions& options, Mechanism mechanism, const std::string& device) {
  WorkloadOptions throughput = options.workload;
  throughput.device = device;
  throughput.rate = 0;
  WorkloadOptions latency = throughput;
  if (options.rate > 0) {
    latency.rate = options.rate;  // at most --jobs outstanding
  } else {
    latency.jobs = options.unloaded_jobs;
  }
  if (latency.depth == 0) latency.depth = options.workload.jobs;
  // The floor next to the latency phase, a quarter of --floor-time each side.
  const double adjacent_floor_s = options.floor_seconds / 4;
  const int app_cpu = options.workload.app_cpu;
  const int poller_cpu = options.workload.poller_cpu;
  Phases phases;
  phases.floor_before_latency = measure_floor(app_cpu, poller_cpu, adjacent_floor_s);
  phases.latency = run_one(mechanism, latency);
  if (!stopped()) {
    phases.floor_after_latency = measure_floor(app_cpu, poller_cpu, adjacent_floor_s);
  }
  phases.throughput = stopped() ? RunResult{} : run_one(mechanism, throughput);
  phases.throughput.mechanism = mechanism;
  phases.throughput.device = device;
  phases.throughput.jobs = throughput.jobs;
  return phases;
}

// A device's own style runs on that kind of device only.
bool applies(Mechanism mechanism, const std::string& device) {
  if (!native_peer(mechanism)) return true;
  DeviceSpec spec;
  if (parse_device_spec(device, spec)) return false;
  return native_uring(mechanism) ? spec.kind == DeviceSpec::Kind::kUring
                                 : spec.kind == DeviceSpec::Kind::kCryptodev;
}

// Runs every repetition, device and mechanism; repetitions outermost, so that a drift of the
// machine spreads over all mechanisms instead of landing on one.
void run_all(Report& report) {
  const BenchOptions& options = report.options;
  for (unsigned repetition = 0; repetition < options.repetitions && !stopped(); ++repetition) {
    for (const std::string& device : options.devices) {
      for (Mechanism mechanism : options.mechanisms) {
        if (stopped()) return;
        if (!applies(mechanism, device)) continue;
        Phases phases = run_phases(options, mechanism, device);
        row_for(report, mechanism, device).repetitions.push_back(std::move(phases));
      }
    }
  }
}

// The outputs are opened before any run, so that a bad path costs no measurement.
struct Outputs {
  std::ofstream json_file;
  std::ofstream plot_file;
  bool json_to_stdout = false;
};

int write_outputs(const Report& report, Outputs& outputs) {
  int status = kExitOk;
  if (!report.options.json_path.empty()) {
    std::ostream& out = outputs.json_to_stdout ? std::cout : outputs.json_file;
    write_json(out, report);
    out.flush();
    if (!out) {
      std::cerr << "pollnotify-bench: cannot write " << report.options.json_path << "\n";
      status = kExitFailed;
    }
  }
  if (!report.options.plot_path.empty()) {
    write_svg(outputs.plot_file, report);
    outputs.plot_file.close();
    if (!outputs.plot_file) {
      std::cerr << "pollnotify-bench: cannot write " << report.options.plot_path << "\n";
      status = kExitFailed;
    }
  }
  std::string error;
  if (!report.options.hgrm_dir.empty() &&
      !write_hgrm_files(report.options.hgrm_dir, report, error)) {
    std::cerr << "pollnotify-bench: " << error << "\n";
    status = kExitFailed;
  }
  return status;
}

}  // namespace

int run_command_line(int argc, char** argv) {
  const CommandLine line = parse_command_line(argc, argv);
  switch (line.action) {
    case Action::kHelp:
      std::cout << kUsage;
      return kExitOk;
    case Action::kError:
      std::cerr << "pollnotify-bench: " << line.error << " (see pollnotify-bench --help)\n";
      return kExitUsage;
    case Action::kCompare:
      return compare_json_files(line.options.compare_a, line.options.compare_b, std::cout,
                                std::cerr);
    case Action::kRun:
      break;
  }
  Report report;
  report.options = line.options;
  Outputs outputs;
  outputs.json_to_stdout = report.options.json_path == "-";
  if (!report.options.json_path.empty() && !outputs.json_to_stdout) {
    outputs.json_file.open(report.options.json_path);
    if (!outputs.json_file) {
      std::cerr << "pollnotify-bench: cannot open " << report.options.json_path << "\n";
      return kExitFailed;
    }
  }
  if (!report.options.plot_path.empty()) {
    outputs.plot_file.open(report.options.plot_path);
    if (!outputs.plot_file) {
      std::cerr << "pollnotify-bench: cannot open " << report.options.plot_path << "\n";
      return kExitFailed;
    }
  }
  std::ostream& tables = outputs.json_to_stdout ? std::cerr : std::cout;

  struct sigaction action {};
  action.sa_handler = on_sigint;
  ::sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);

  if (const std::string eal = init_cryptodev_eal(report.options.devices); !eal.empty()) {
    std::cerr << "pollnotify-bench: the cryptodev devices need DPDK's EAL: " << eal << "\n";
    return kExitFailed;
  }
  report.machine = MachineInfo::detect();
  const int app_cpu = report.options.workload.app_cpu;
  const int poller_cpu = report.options.workload.poller_cpu;
  int status = kExitOk;
  try {
    report.floor_before = measure_floor(app_cpu, poller_cpu, report.options.floor_seconds);
    write_header(tables, report);
    tables.flush();  // what runs, before it runs
    run_all(report);
    if (!stopped()) {
      report.floor_after = measure_floor(app_cpu, poller_cpu, report.options.floor_seconds);
      report.floor_after_measured = true;
    }
  } catch (const std::exception& error) {
    std::cerr << "pollnotify-bench: " << error.what() << "\n";
    status = kExitFailed;
  }
  report.interrupted = stopped();
  write_tables(tables, report);
  write_floor(tables, report);
  tables.flush();
  const int written = write_outputs(report, outputs);
  if (status != kExitOk || written != kExitOk) return kExitFailed;
  if (report.interrupted) return kExitInterrupted;
  for (const Row& row : report.rows) {
    if (row.lost() != 0 || row.duplicated() != 0) return kExitLost;
  }
  return kExitOk;
}

int main(int argc, char** argv) {
  const int status = run_command_line(argc, argv);
  // Exit 1 when what was printed was lost (--help's exit codes: an output could not be written).
  if (!pn::tools::flush_stdout("pollnotify-bench") && status != kExitUsage) return kExitFailed;
  return status;
}
