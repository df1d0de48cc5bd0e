// pollnotify-bench: latency and throughput of offload notification, one mechanism after another
// on the same workload (application jobs, simulated device, poller) and the same pinned cores.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "pollnotify/async_job.h"
#include "pollnotify/sim_device.hpp"
#include "report.hpp"
#include "workload.hpp"

namespace {

std::atomic<bool> interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free, "touched from a signal handler");

extern "C" void on_sigint(int) { interrupted.store(true, std::memory_order_relaxed); }

const char* const kUsage = R"(usage: pollnotify-bench [options]

Runs the end-to-end offload workload once per notification mechanism and prints a table of
completions/s, latency percentiles (submit to job resumed), CPU use, and lost/duplicated
completions counted from per-request stamps.

  --mechanisms LIST     comma-separated subset of: busy, adaptive, timed, eventfd, condvar
                        (default: all; busy/adaptive/timed are callback notification)
  --latency LIST        device latency models, comma-separated (default: zero,exp:5000):
                        zero | fixed:NS | uniform:MIN:MAX | exp:MEAN | lognormal:MEAN:SIGMA |
                        trace:FILE (one latency in ns per line)
  --jobs N              concurrent jobs in the loaded (throughput) phase (default 64; at most
                        the process's job limit, vm.max_map_count / 4)
  --unloaded-jobs N     concurrent jobs in the unloaded (latency) phase (default 1; same limit)
  --depth N             device capacity, requests in flight (default: --jobs)
  --duration S          measured seconds per phase (default 1.0; two phases per mechanism)
  --warmup S            unmeasured seconds before each run (default 0.2)
  --requests N          end a run after N measured completions (default: duration only)
  --timed-interval US   sleep of the timed policy (default 10, the QAT engine's default)
  --spin-polls N        empty polls before the adaptive policy parks (default 4096)
  --app-spin US         callback mechanisms: the application spins this long before parking
                        (default 50)
  --cpus APP,POLLER     CPUs for the application thread and the poller (default 0,1)
  --seed N              device random seed (default 1)
  --json FILE           write every figure, the machine and the options as JSON
  --plot FILE.svg       write the latency CDFs (log-scale x axis)
  --no-progress         no progress line on stderr
  --help                this text
)";

[[noreturn]] void fail(const std::string& message) {
  std::cerr << "pollnotify-bench: " << message << "\n(see pollnotify-bench --help)\n";
  std::exit(2);
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

template <class T>
T parse_number(const std::string& flag, const std::string& text, T low, T high) {
  std::istringstream stream(text);
  T value{};
  if (!(stream >> value) || !stream.eof() || value < low || value > high) {
    std::ostringstream message;
    message << flag << " wants a number in [" << low << ", " << high << "], got '" << text << "'";
    fail(message.str());
  }
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pn::bench;
  WorkloadOptions options;
  options.progress = ::isatty(STDERR_FILENO) != 0;
  std::vector<Mechanism> mechanisms(std::begin(kAllMechanisms), std::end(kAllMechanisms));
  std::vector<std::string> latencies = {"zero", "exp:5000"};
  std::string json_path, plot_path;
  std::size_t unloaded_jobs = 1;
  options.duration_s = 1.0;

  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (flag == "--no-progress") {
      options.progress = false;
      continue;
    }
    static const char* const kValueFlags[] = {
        "--mechanisms", "--latency", "--jobs",     "--unloaded-jobs",  "--depth",
        "--duration",   "--warmup",  "--requests", "--timed-interval", "--spin-polls",
        "--app-spin",   "--cpus",    "--seed",     "--json",           "--plot"};
    if (std::find(std::begin(kValueFlags), std::end(kValueFlags), flag) == std::end(kValueFlags)) {
      fail("unknown option '" + flag + "'");
    }
    if (i + 1 >= argc) fail("missing value after " + flag);
    const std::string value = argv[++i];
    if (flag == "--mechanisms") {
      mechanisms.clear();
      for (const std::string& name : split_list(value)) {
        Mechanism mechanism{};
        if (!parse_mechanism(name, mechanism)) fail("unknown mechanism '" + name + "'");
        mechanisms.push_back(mechanism);
      }
      if (mechanisms.empty()) fail("--mechanisms is empty");
    } else if (flag == "--latency") {
      latencies = split_list(value);
      if (latencies.empty()) fail("--latency is empty");
      for (const std::string& spec : latencies) {
        try {
          (void)pn::LatencyModel::parse(spec);
        } catch (const std::invalid_argument& error) {
          fail(error.what());
        }
      }
    } else if (flag == "--jobs") {
      options.jobs = parse_number<std::size_t>(flag, value, 1, PN_ASYNC_get_max_jobs());
    } else if (flag == "--unloaded-jobs") {
      unloaded_jobs = parse_number<std::size_t>(flag, value, 1, PN_ASYNC_get_max_jobs());
    } else if (flag == "--app-spin") {
      options.app_spin_us = parse_number<std::uint32_t>(flag, value, 0, 1'000'000);
    } else if (flag == "--depth") {
      options.depth = parse_number<std::size_t>(flag, value, 1, 1'000'000);
    } else if (flag == "--duration") {
      options.duration_s = parse_number<double>(flag, value, 0.01, 86'400);
    } else if (flag == "--warmup") {
      options.warmup_s = parse_number<double>(flag, value, 0, 3'600);
    } else if (flag == "--requests") {
      options.requests = parse_number<std::uint64_t>(flag, value, 1, ~std::uint64_t{0});
      options.duration_s = 86'400;  // the count decides
    } else if (flag == "--timed-interval") {
      options.timed_interval_us = parse_number<std::uint32_t>(flag, value, 1, 1'000'000);
    } else if (flag == "--spin-polls") {
      options.spin_polls = parse_number<std::uint32_t>(flag, value, 1, 1'000'000'000);
    } else if (flag == "--cpus") {
      const auto cpus = split_list(value);
      if (cpus.size() != 2) fail("--cpus wants APP,POLLER");
      options.app_cpu = parse_number<int>(flag, cpus[0], -1, 4095);
      options.poller_cpu = parse_number<int>(flag, cpus[1], -1, 4095);
    } else if (flag == "--seed") {
      options.seed = parse_number<std::uint64_t>(flag, value, 0, ~std::uint64_t{0});
    } else if (flag == "--json") {
      json_path = value;
    } else if (flag == "--plot") {
      plot_path = value;
    } else {
      fail("unknown option '" + flag + "'");
    }
  }

  std::signal(SIGINT, on_sigint);
  const MachineInfo machine = MachineInfo::detect();
  std::cout << "pollnotify-bench " << PN_VERSION << " on " << machine.cpu_model << " ("
            << machine.cpus << " CPUs), " << machine.kernel << ", " << machine.compiler
            << ", clock " << machine.clock << "\n"
            << unloaded_jobs << " job(s) unloaded, " << options.jobs << " jobs loaded, depth "
            << (options.depth ? options.depth : options.jobs) << ", " << options.duration_s
            << " s per phase, application on CPU " << options.app_cpu << ", poller on CPU "
            << options.poller_cpu << "\n\n";

  std::vector<Row> runs;
  for (const std::string& latency : latencies) {
    for (Mechanism mechanism : mechanisms) {
      if (interrupted.load(std::memory_order_relaxed)) break;
      WorkloadOptions loaded = options;
      loaded.latency = latency;
      WorkloadOptions unloaded = loaded;
      unloaded.jobs = unloaded_jobs;
      if (unloaded.depth == 0) unloaded.depth = options.jobs;
      try {
        Row row{run_workload(mechanism, unloaded, interrupted), {}};
        row.loaded = interrupted.load(std::memory_order_relaxed)
                         ? RunResult{}
                         : run_workload(mechanism, loaded, interrupted);
        row.loaded.mechanism = mechanism;
        row.loaded.latency = latency;
        runs.push_back(std::move(row));
      } catch (const std::exception& error) {
        std::cerr << "pollnotify-bench: " << name_of(mechanism) << " / " << latency << ": "
                  << error.what() << "\n";
        return 1;
      }
    }
  }
  write_table(std::cout, runs);
  if (interrupted.load(std::memory_order_relaxed))
    std::cout << "interrupted: figures cover the runs made so far\n";

  if (!json_path.empty()) {
    std::ofstream file(json_path);
    write_json(file, runs, options, unloaded_jobs, mechanisms, latencies, machine);
    if (!file) {
      std::cerr << "pollnotify-bench: cannot write " << json_path << "\n";
      return 1;
    }
  }
  if (!plot_path.empty()) {
    std::ofstream file(plot_path);
    write_svg(file, runs);
    if (!file) {
      std::cerr << "pollnotify-bench: cannot write " << plot_path << "\n";
      return 1;
    }
  }
  std::uint64_t lost = 0, duplicated = 0;
  for (const Row& row : runs) {
    lost += row.lost();
    duplicated += row.duplicated();
  }
  return lost == 0 && duplicated == 0 ? 0 : 3;
}
