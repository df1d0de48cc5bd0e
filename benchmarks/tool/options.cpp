#include "options.hpp"

#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <sstream>

#include "cli.hpp"
#include "device_spec.hpp"
#include "pollnotify/async_job.h"
#include "pollnotify/sim_device.hpp"

namespace pn::bench {

const char* const kUsage = R"(usage: pollnotify-bench [OPTION]...
       pollnotify-bench --compare A.json B.json

Runs the end-to-end offload workload once per notification mechanism and device latency model:
a latency phase (closed loop with few jobs, or open loop at --rate) and a throughput phase
(closed loop, many jobs). Prints completions/s, latency percentiles p50 to p99.999 (submit to job
resumed), CPU use and lost/duplicated completions counted from per-request stamps, next to the
machine's floor: a cache-line ping-pong between the same two CPUs, measured before and after
the runs and around each latency phase (p50/floor divides by the floor next to its phase).
Options take their value as --name=VALUE or --name VALUE.

Workload
  --mechanisms LIST     comma-separated subset of: busy, adaptive, timed, eventfd, condvar,
                        uring-wait, uring-eventfd, cryptodev-poll (default: all;
                        busy/adaptive/timed are callback notification; uring-* and
                        cryptodev-poll are the device's own style without pollnotify, run on
                        that kind of device only)
  --device LIST         devices, comma-separated (default: zero,exp:5000):
                        MODEL or sim:MODEL  the simulated device with a latency model: zero |
                          fixed:NS | uniform:MIN:MAX | exp:MEAN | lognormal:MEAN:SIGMA |
                          trace:FILE (one latency in ns per line)
                        uring:nop | uring:read:PATH  io_uring NOPs, or 4 KiB reads spread over
                          PATH; uring-sqpoll:... the same with an SQPOLL kernel thread
                        uring:echo  64 bytes sent over loopback TCP to an echo thread, the
                          echo received through io_uring
                        cryptodev:VDEV:sha256|aes-gcm:SIZE  DPDK cryptodev SHA-256 or
                          AES-128-GCM on SIZE bytes (0..65535), e.g.
                          cryptodev:crypto_aesni_mb:aes-gcm:16384 (EAL: no hugepages)
  --latency LIST        the same as --device (simulated models)
  --rate N              open-loop latency phase: N requests/s issued on schedule, latency from
                        the intended send time (coordinated omission corrected, as wrk2 does);
                        at most --jobs outstanding. 1 .. 100000000 (default: closed loop)
  --unloaded-jobs N     closed-loop latency phase: concurrent jobs (default 1)
  --jobs N              throughput phase: concurrent jobs (default 64; at most the process's job
                        limit, vm.max_map_count / 4)
  --depth N             device capacity, requests in flight, 1 .. 1000000 (default: --jobs)
  --duration S          measured seconds per phase, 0.01 .. 86400 (default 1)
  --warmup S            unmeasured seconds before each phase, 0 .. 3600 (default 0.2)
  --requests N          end a phase after N measured completions (default: duration only)
  --repetitions N       run everything N times, 1 .. 1000; figures are the median, with the
                        standard deviation beside them (default 1)
  --timed-interval US   sleep of the timed policy, 1 .. 1000000 (default 10, QAT's default)
  --spin-polls N        empty polls before the adaptive policy parks (default 4096)
  --app-spin US         callback mechanisms: the application spins this long before it parks,
                        0 .. 1000000 (default 50)
  --cpus APP,POLLER     CPUs of the application thread and the poller (default 0,1); each must
                        be one this process may run on; -1 leaves a thread unpinned
  --seed N              device random seed, 0 .. 2^64-1 (default 1)
  --floor-time S        seconds of the floor before and after the runs, 0.01 .. 10 (default
                        0.2); a quarter of it on each side of every latency phase

Output
  --json FILE           every figure, the floor, the machine and the options as JSON
                        (docs/bench-json.md); '-' writes it to standard output and the tables
                        to standard error
  --plot FILE.svg       latency by percentile (log 1/(1-p) axis), a panel per device model
  --hgrm DIR            HdrHistogram percentile-distribution text (.hgrm), one file per phase
                        (created if missing; the parent must exist)
  --no-progress         no progress line on standard error
  --compare A B         compare two --json files: every figure's change, with a noise verdict
  --help                this text

Exit status: 0 done, nothing lost or duplicated; 1 a run failed (setup, pinning, resources) or an
output could not be written; 2 bad command line; 3 a completion was lost or duplicated;
130 interrupted by SIGINT (the figures measured so far are printed and written).
)";

bool cpu_allowed(int cpu) noexcept {
  if (cpu < 0 || cpu >= CPU_SETSIZE) return false;
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0) return false;
  return CPU_ISSET(cpu, &allowed) != 0;
}

namespace {

using tools::CliError;
using tools::parse_real;
using tools::parse_whole;

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) items.push_back(item);
  return items;
}

std::optional<CliError> error(std::string message) { return CliError{std::move(message)}; }

std::string parent_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// A file the tool will create or overwrite: its directory exists and is writable, and the path
// itself is not a directory.
// A value that looks like an option is a missing value ("--json --plot x.svg"), not a name.
std::optional<CliError> check_not_an_option(const std::string& option, const std::string& path) {
  if (path.size() > 1 && path[0] == '-')
    return error(option + " wants a path, got '" + path + "' (an option? give the value first)");
  return std::nullopt;
}

std::optional<CliError> check_output_file(const std::string& option, const std::string& path) {
  if (path.empty()) return error(option + " wants a file name");
  if (auto bad = check_not_an_option(option, path)) return bad;
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode))
    return error(option + ": '" + path + "' is a directory");
  const std::string directory = parent_of(path);
  if (::access(directory.c_str(), W_OK) != 0)
    return error(option + ": cannot write in '" + directory + "': " + std::strerror(errno));
  if (::access(path.c_str(), F_OK) == 0 && ::access(path.c_str(), W_OK) != 0)
    return error(option + ": cannot write '" + path + "': " + std::strerror(errno));
  return std::nullopt;
}

std::optional<CliError> check_output_directory(const std::string& option, const std::string& path) {
  if (path.empty()) return error(option + " wants a directory");
  if (auto bad = check_not_an_option(option, path)) return bad;
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    if (::mkdir(path.c_str(), 0777) != 0)
      return error(option + ": cannot create '" + path + "': " + std::strerror(errno));
  } else if (!S_ISDIR(info.st_mode)) {
    return error(option + ": '" + path + "' is not a directory");
  }
  if (::access(path.c_str(), W_OK) != 0)
    return error(option + ": cannot write in '" + path + "': " + std::strerror(errno));
  return std::nullopt;
}

std::optional<CliError> parse_cpu(const std::string& text, int& out) {
  if (text == "-1") {
    out = -1;
    return std::nullopt;
  }
  std::uint64_t cpu = 0;
  if (auto bad = parse_whole("--cpus", text, 0, CPU_SETSIZE - 1, cpu)) return bad;
  if (!cpu_allowed(static_cast<int>(cpu))) {
    return error("--cpus: CPU " + text + " is not one this process may run on (this machine has " +
                 std::to_string(::sysconf(_SC_NPROCESSORS_ONLN)) + " online)");
  }
  out = static_cast<int>(cpu);
  return std::nullopt;
}

std::optional<CliError> parse_mechanisms(const std::string& text, BenchOptions& options) {
  options.mechanisms.clear();
  for (const std::string& name : split_list(text)) {
    Mechanism mechanism{};
    if (!parse_mechanism(name, mechanism)) return error("--mechanisms: unknown '" + name + "'");
    options.mechanisms.push_back(mechanism);
  }
  if (options.mechanisms.empty()) return error("--mechanisms is empty");
  return std::nullopt;
}

std::optional<CliError> parse_devices(const std::string& option, const std::string& text,
                                      BenchOptions& options) {
  options.devices = split_list(text);
  if (options.devices.empty()) return error(option + " is empty");
  for (const std::string& text_spec : options.devices) {
    DeviceSpec spec;
    if (const auto bad = parse_device_spec(text_spec, spec)) {
      return error(option + ": '" + text_spec + "': " + *bad);
    }
  }
  return std::nullopt;
}

template <class Narrow>
std::optional<CliError> parse_narrow(const std::string& option, const char* text, std::uint64_t low,
                                     std::uint64_t high, Narrow& out) {
  std::uint64_t value = 0;
  if (auto bad = parse_whole(option, text, low, high, value)) return bad;
  out = static_cast<Narrow>(value);
  return std::nullopt;
}

// Applies one option; the value has been seen by getopt_long only.
std::optional<CliError> apply(const std::string& name, const char* value, BenchOptions& options) {
  WorkloadOptions& workload = options.workload;
  const std::string option = "--" + name;
  const std::uint64_t max_jobs = PN_ASYNC_get_max_jobs();
  if (name == "no-progress") {
    workload.progress = false;
    return std::nullopt;
  }
  if (name == "mechanisms") return parse_mechanisms(value, options);
  if (name == "latency" || name == "device") return parse_devices(option, value, options);
  if (name == "rate") return parse_real(option, value, 1, 1e8, options.rate);
  if (name == "unloaded-jobs")
    return parse_narrow(option, value, 1, max_jobs, options.unloaded_jobs);
  if (name == "jobs") return parse_narrow(option, value, 1, max_jobs, workload.jobs);
  if (name == "depth") return parse_narrow(option, value, 1, 1'000'000, workload.depth);
  if (name == "duration") return parse_real(option, value, 0.01, 86'400, workload.duration_s);
  if (name == "warmup") return parse_real(option, value, 0, 3'600, workload.warmup_s);
  if (name == "requests")
    return parse_whole(option, value, 1, ~std::uint64_t{0}, workload.requests);
  if (name == "repetitions") return parse_narrow(option, value, 1, 1'000, options.repetitions);
  if (name == "timed-interval")
    return parse_narrow(option, value, 1, 1'000'000, workload.timed_interval_us);
  if (name == "spin-polls")
    return parse_narrow(option, value, 1, 1'000'000'000, workload.spin_polls);
  if (name == "app-spin") return parse_narrow(option, value, 0, 1'000'000, workload.app_spin_us);
  if (name == "seed") return parse_whole(option, value, 0, ~std::uint64_t{0}, workload.seed);
  if (name == "floor-time") return parse_real(option, value, 0.01, 10, options.floor_seconds);
  if (name == "cpus") {
    const auto cpus = split_list(value);
    if (cpus.size() != 2) return error("--cpus wants APP,POLLER, got '" + std::string(value) + "'");
    if (auto bad = parse_cpu(cpus[0], workload.app_cpu)) return bad;
    return parse_cpu(cpus[1], workload.poller_cpu);
  }
  if (name == "json") {
    options.json_path = value;
    return options.json_path == "-" ? std::nullopt : check_output_file(option, value);
  }
  if (name == "plot") {
    options.plot_path = value;
    return check_output_file(option, value);
  }
  if (name == "hgrm") {
    options.hgrm_dir = value;
    return check_output_directory(option, value);
  }
  if (name == "compare") {
    options.compare_a = value;
    return check_not_an_option(option, value);
  }
  return error("unhandled option " + option);  // a table entry without a case: a bug here
}

}  // namespace

CommandLine parse_command_line(int argc, char** argv) {
  static const option kOptions[] = {{"mechanisms", required_argument, nullptr, 0},
                                    {"latency", required_argument, nullptr, 0},
                                    {"device", required_argument, nullptr, 0},
                                    {"rate", required_argument, nullptr, 0},
                                    {"unloaded-jobs", required_argument, nullptr, 0},
                                    {"jobs", required_argument, nullptr, 0},
                                    {"depth", required_argument, nullptr, 0},
                                    {"duration", required_argument, nullptr, 0},
                                    {"warmup", required_argument, nullptr, 0},
                                    {"requests", required_argument, nullptr, 0},
                                    {"repetitions", required_argument, nullptr, 0},
                                    {"timed-interval", required_argument, nullptr, 0},
                                    {"spin-polls", required_argument, nullptr, 0},
                                    {"app-spin", required_argument, nullptr, 0},
                                    {"cpus", required_argument, nullptr, 0},
                                    {"seed", required_argument, nullptr, 0},
                                    {"floor-time", required_argument, nullptr, 0},
                                    {"json", required_argument, nullptr, 0},
                                    {"plot", required_argument, nullptr, 0},
                                    {"hgrm", required_argument, nullptr, 0},
                                    {"compare", required_argument, nullptr, 0},
                                    {"no-progress", no_argument, nullptr, 0},
                                    {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  CommandLine line;
  line.options.workload.duration_s = 1.0;
  line.options.workload.progress = ::isatty(STDERR_FILENO) != 0;
  std::vector<std::string> positional;
  const tools::Parsed parsed = tools::parse_long_options(
      argc, argv, kOptions,
      [&](const std::string& name, const char* value) { return apply(name, value, line.options); },
      positional, line.error);
  if (parsed == tools::Parsed::kHelp) {
    line.action = Action::kHelp;
  } else if (parsed == tools::Parsed::kError) {
    line.action = Action::kError;
  } else if (!line.options.compare_a.empty()) {
    line.action = Action::kCompare;
    if (positional.size() != 1) {
      line.action = Action::kError;
      line.error = "--compare wants two JSON files: --compare A.json B.json";
    } else {
      line.options.compare_b = positional.front();
    }
  } else if (!positional.empty()) {
    line.action = Action::kError;
    line.error = "unexpected argument '" + positional.front() + "'";
  }
  if (line.action == Action::kRun && line.options.workload.requests != 0) {
    line.options.workload.duration_s = 86'400;  // the count decides
  }
  return line;
}

}  // namespace pn::bench
