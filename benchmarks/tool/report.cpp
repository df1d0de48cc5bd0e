#include "report.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <thread>

#include "pollnotify/clock.hpp"

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

MachineInfo MachineInfo::detect() {
  MachineInfo info;
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      info.cpu_model = line.substr(line.find(':') + 2);
      break;
    }
  }
  info.cpus = std::thread::hardware_concurrency();
  utsname name{};
  if (::uname(&name) == 0)
    info.kernel = std::string(name.sysname) + " " + name.release + " " + name.machine;
#if defined(__clang__)
  info.compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
  info.compiler = "gcc " __VERSION__;
#endif
  info.clock = CheapClock::source();
  return info;
}

// --- units ---

std::string format_ns(double ns) {
  char text[32];
  if (ns < 10'000) {
    std::snprintf(text, sizeof text, "%.0f ns", ns);
  } else if (ns < 10'000'000) {
    std::snprintf(text, sizeof text, "%.1f us", ns / 1e3);
  } else if (ns < 10'000'000'000) {
    std::snprintf(text, sizeof text, "%.2f ms", ns / 1e6);
  } else {
    std::snprintf(text, sizeof text, "%.2f s", ns / 1e9);
  }
  return text;
}

namespace {

// One unit for a whole column, chosen by its largest value.
struct Unit {
  double divisor;
  int decimals;
  const char* name;
};

Unit unit_for(double largest_ns) {
  if (largest_ns < 100'000) return {1, 0, "ns"};
  if (largest_ns < 100'000'000) return {1e3, 1, "us"};
  return {1e6, 2, "ms"};
}

std::string in_unit(double ns, const Unit& unit) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", unit.decimals, ns / unit.divisor);
  return text;
}

std::string pad(const std::string& text, std::size_t width, bool left = false) {
  if (text.size() >= width) return text;
  return left ? text + std::string(width - text.size(), ' ')
              : std::string(width - text.size(), ' ') + text;
}

std::vector<std::string> devices_of(const Report& report) {
  std::vector<std::string> models;
  for (const Row& row : report.rows) {
    if (std::find(models.begin(), models.end(), row.device) == models.end())
      models.push_back(row.device);
  }
  return models;
}

// A table with one unit per column: cells are filled row by row, widths computed at the end.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  void print(std::ostream& out) const {
    std::vector<std::size_t> widths(header_.size(), 0);
    const auto widen = [&](const std::vector<std::string>& cells) {
      for (std::size_t i = 0; i < cells.size() && i < widths.size(); ++i)
        widths[i] = std::max(widths[i], cells[i].size());
    };
    widen(header_);
    for (const auto& cells : rows_) widen(cells);
    const auto line = [&](const std::vector<std::string>& cells) {
      for (std::size_t i = 0; i < cells.size(); ++i)
        out << (i ? "  " : "") << pad(cells[i], widths[i], i < 2);
      out << "\n";
    };
    line(header_);
    std::size_t total = 0;
    for (std::size_t width : widths) total += width + 2;
    out << std::string(total - 2, '-') << "\n";
    for (const auto& cells : rows_) line(cells);
  }

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

double percentile_of(const Phases& phases, double q) {
  return static_cast<double>(phases.latency.resume_ns.quantile(q));
}

void latency_table(std::ostream& out, const Report& report, const std::string& model) {
  std::vector<const Row*> rows;
  for (const Row& row : report.rows) {
    if (row.device == model) rows.push_back(&row);
  }
  // Column units from the largest median in each column.
  const auto largest = [&](const std::function<double(const Phases&)>& figure) {
    double value = 0;
    for (const Row* row : rows) value = std::max(value, stat_of(*row, figure).median);
    return unit_for(value);
  };
  const auto mean = [](const Phases& p) { return p.latency.resume_ns.mean(); };
  const auto stdev = [](const Phases& p) { return p.latency.resume_ns.stdev(); };
  const auto max = [](const Phases& p) { return static_cast<double>(p.latency.resume_ns.max()); };
  std::vector<std::string> header = {"mechanism", "loop", "samples"};
  std::vector<Unit> units;
  const Unit mean_unit = largest(mean), stdev_unit = largest(stdev), max_unit = largest(max);
  header.push_back(std::string("mean ") + mean_unit.name);
  header.push_back(std::string("stdev ") + stdev_unit.name);
  for (const Percentile& p : kPercentiles) {
    units.push_back(largest([&](const Phases& phases) { return percentile_of(phases, p.q); }));
    header.push_back(std::string(p.key) + " " + units.back().name);
  }
  header.push_back(std::string("max ") + max_unit.name);
  header.push_back("p50/floor");
  Table table(header);
  bool unresolved_seen = false;
  for (const Row* row : rows) {
    const RunResult& first = row->repetitions.front().latency;
    std::vector<std::string> cells = {
        std::string(name_of(row->mechanism)) + (row->interrupted() ? " (interrupted)" : ""),
        first.rate > 0 ? "open " + std::to_string(static_cast<std::uint64_t>(first.rate)) + "/s"
                       : "closed " + std::to_string(first.jobs),
        std::to_string(static_cast<std::uint64_t>(stat_of(*row,
                                                          [](const Phases& p) {
                                                            return static_cast<double>(
                                                                p.latency.resume_ns.count());
                                                          })
                                                      .median)),
        in_unit(stat_of(*row, mean).median, mean_unit),
        in_unit(stat_of(*row, stdev).median, stdev_unit)};
    for (std::size_t i = 0; i < std::size(kPercentiles); ++i) {
      const double q = kPercentiles[i].q;
      std::string cell = in_unit(
          stat_of(*row, [&](const Phases& p) { return percentile_of(p, q); }).median, units[i]);
      if (!resolved(*row, q)) {
        cell += "*";
        unresolved_seen = true;
      }
      cells.push_back(cell);
    }
    cells.push_back(in_unit(stat_of(*row, max).median, max_unit));
    char ratio[32];
    const double run_floor = report.floor_ns();
    std::snprintf(ratio, sizeof ratio, "%.2fx", stat_of(*row, [&](const Phases& p) {
                                                  return p.p50_over_floor(run_floor);
                                                }).median);
    cells.push_back(ratio);
    table.add(cells);
  }
  out << "Latency, device " << model << " (submit to job resumed; latency phase; medians of "
      << report.options.repetitions << " repetition(s))\n";
  table.print(out);
  if (unresolved_seen) {
    out << "* fewer than " << LatencyHistogram::kMinSamplesBeyond
        << " samples lie beyond this percentile: it is close to the maximum, not a tail "
           "estimate, and gets no verdict\n";
  }
  for (const Row* row : rows) {
    const RunResult& first = row->repetitions.front().latency;
    if (first.rate > 0 && first.throughput() < 0.95 * first.rate) {
      out << "note: " << name_of(row->mechanism) << " completed " << std::fixed
          << std::setprecision(0) << first.throughput() << "/s of the " << first.rate
          << "/s asked: the rate was above what it sustains; its latencies include the "
             "backlog\n";
      out << std::defaultfloat;
    }
  }
  out << "\n";
}

void throughput_table(std::ostream& out, const Report& report) {
  Table table({"mechanism", "device", "completions/s", "poller CPU %", "app CPU %", "eagain",
               "errors", "lost", "dup"});
  for (const Row& row : report.rows) {
    char throughput[32], poller[16], app[16];
    std::snprintf(throughput, sizeof throughput, "%.0f",
                  stat_of(row, [](const Phases& p) { return p.throughput.throughput(); }).median);
    std::snprintf(poller, sizeof poller, "%.1f", stat_of(row, [](const Phases& p) {
                                                   return p.throughput.poller_cpu_percent;
                                                 }).median);
    std::snprintf(app, sizeof app, "%.1f", stat_of(row, [](const Phases& p) {
                                             return p.throughput.app_cpu_percent;
                                           }).median);
    std::uint64_t eagain = 0, errors = 0;
    for (const Phases& phases : row.repetitions) {
      eagain += phases.throughput.eagain;
      errors += phases.throughput.errors;
    }
    table.add({std::string(name_of(row.mechanism)) + (row.interrupted() ? " (interrupted)" : ""),
               row.device, throughput, poller, app, std::to_string(eagain), std::to_string(errors),
               std::to_string(row.lost()), std::to_string(row.duplicated())});
  }
  const RunResult& sample = report.rows.front().repetitions.front().throughput;
  out << "Throughput (closed loop, " << sample.jobs
      << " jobs; CPU in % of one core; lost/dup over both phases, from per-request stamps)\n";
  table.print(out);
  out << "\n";
}

void spread_table(std::ostream& out, const Report& report) {
  Table table({"mechanism", "device", "completions/s", "p50", "p99", "p99.9", "max"});
  const auto relative = [](const Stat& stat) {
    char text[16];
    std::snprintf(text, sizeof text, "%.1f", stat.median > 0 ? 100 * stat.stddev / stat.median : 0);
    return std::string(text);
  };
  for (const Row& row : report.rows) {
    table.add({name_of(row.mechanism), row.device,
               relative(stat_of(row, [](const Phases& p) { return p.throughput.throughput(); })),
               relative(stat_of(row, [](const Phases& p) { return percentile_of(p, 0.5); })),
               relative(stat_of(row, [](const Phases& p) { return percentile_of(p, 0.99); })),
               relative(stat_of(row, [](const Phases& p) { return percentile_of(p, 0.999); })),
               relative(stat_of(row, [](const Phases& p) {
                 return static_cast<double>(p.latency.resume_ns.max());
               }))});
  }
  out << "Spread across " << report.options.repetitions
      << " repetitions: standard deviation in % of the median\n";
  table.print(out);
  out << "\n";
}

}  // namespace

void write_header(std::ostream& out, const Report& report) {
  const BenchOptions& o = report.options;
  out << "pollnotify-bench " << PN_VERSION << " on " << report.machine.cpu_model << " ("
      << report.machine.cpus << " CPUs), " << report.machine.kernel << ", "
      << report.machine.compiler << ", clock " << report.machine.clock << "\n";
  out << "latency phase: ";
  if (o.rate > 0) {
    out << "open loop at " << o.rate << " requests/s, at most " << o.workload.jobs
        << " outstanding";
  } else {
    out << "closed loop, " << o.unloaded_jobs << " job(s)";
  }
  out << "; throughput phase: closed loop, " << o.workload.jobs << " jobs; device depth "
      << (o.workload.depth ? o.workload.depth : o.workload.jobs) << "; " << o.workload.duration_s
      << " s per phase after " << o.workload.warmup_s << " s warm-up; " << o.repetitions
      << " repetition(s)\napplication pinned to CPU " << o.workload.app_cpu
      << ", poller pinned to CPU " << o.workload.poller_cpu << " (-1: not pinned)\n";
  out << "floor before the runs: cache-line ping-pong round trip "
      << format_ns(report.floor_before.round_trip_ns) << " (median of batches, "
      << format_ns(report.floor_before.min_batch_ns) << " .. "
      << format_ns(report.floor_before.max_batch_ns) << ")\n\n";
}

void write_floor(std::ostream& out, const Report& report) {
  if (!report.floor_after_measured) {
    out << "floor after the runs: not measured (interrupted)\n";
    return;
  }
  out << "floor after the runs: " << format_ns(report.floor_after.round_trip_ns)
      << " (before: " << format_ns(report.floor_before.round_trip_ns) << ")";
  if (report.floor_changed()) {
    out << "\nWARNING: the floor moved by more than 25 % during the run: the machine changed "
           "state (another tenant, frequency, migration). Figures from different parts of this "
           "run are not comparable; rerun, or compare p50/floor only.";
  }
  out << "\n";
}

void write_tables(std::ostream& out, const Report& report) {
  if (report.rows.empty()) {
    out << "no run finished\n";
    return;
  }
  for (const std::string& model : devices_of(report)) latency_table(out, report, model);
  throughput_table(out, report);
  if (report.options.repetitions > 1) spread_table(out, report);
  if (report.interrupted) out << "interrupted: the figures cover the runs made so far\n";
}

// --- JSON (docs/bench-json.md) ---

namespace {

using json = nlohmann::ordered_json;

json histogram_json(const LatencyHistogram& histogram) {
  json percentiles = json::object(), resolved_by = json::object();
  for (const Percentile& p : kPercentiles) {
    percentiles[p.key] = histogram.quantile(p.q);
    resolved_by[p.key] = histogram.resolves(p.q);
  }
  return {{"count", histogram.count()}, {"min", histogram.min()},     {"max", histogram.max()},
          {"mean", histogram.mean()},   {"stdev", histogram.stdev()}, {"percentiles", percentiles},
          {"resolved", resolved_by}};
}

json phase_json(const RunResult& run) {
  return {{"loop", run.rate > 0 ? "open" : "closed"},
          {"jobs", run.jobs},
          {"rate_per_s", run.rate},
          {"completions", run.completions},
          {"submitted", run.submitted},
          {"notified", run.notified},
          {"lost", run.lost},
          {"duplicated", run.duplicated},
          {"eagain", run.eagain},
          {"errors", run.errors},
          {"seconds", run.seconds},
          {"throughput_per_s", run.throughput()},
          {"poller_cpu_percent", run.poller_cpu_percent},
          {"app_cpu_percent", run.app_cpu_percent},
          {"interrupted", run.interrupted},
          {"latency_ns", histogram_json(run.resume_ns)},
          {"notify_latency_ns", histogram_json(run.notify_ns)}};
}

json stat_json(const Stat& stat) {
  return {{"median", stat.median}, {"stddev", stat.stddev}, {"n", stat.n}};
}

json summary_json(const Row& row, double floor_ns) {
  json summary = json::object();
  summary["throughput_per_s"] =
      stat_json(stat_of(row, [](const Phases& p) { return p.throughput.throughput(); }));
  summary["poller_cpu_percent"] =
      stat_json(stat_of(row, [](const Phases& p) { return p.throughput.poller_cpu_percent; }));
  summary["app_cpu_percent"] =
      stat_json(stat_of(row, [](const Phases& p) { return p.throughput.app_cpu_percent; }));
  for (const Percentile& p : kPercentiles) {
    summary[std::string("latency_") + p.key + "_ns"] =
        stat_json(stat_of(row, [&](const Phases& phases) { return percentile_of(phases, p.q); }));
  }
  summary["latency_max_ns"] = stat_json(
      stat_of(row, [](const Phases& p) { return static_cast<double>(p.latency.resume_ns.max()); }));
  summary["latency_mean_ns"] =
      stat_json(stat_of(row, [](const Phases& p) { return p.latency.resume_ns.mean(); }));
  summary["latency_stdev_ns"] =
      stat_json(stat_of(row, [](const Phases& p) { return p.latency.resume_ns.stdev(); }));
  summary["p50_over_floor"] =
      stat_json(stat_of(row, [&](const Phases& p) { return p.p50_over_floor(floor_ns); }));
  json resolved_by = json::object();
  for (const Percentile& p : kPercentiles) resolved_by[p.key] = resolved(row, p.q);
  summary["resolved"] = resolved_by;
  return summary;
}

json floor_json(const FloorMeasurement& floor) {
  return {{"round_trip_ns", floor.round_trip_ns},
          {"min_batch_ns", floor.min_batch_ns},
          {"max_batch_ns", floor.max_batch_ns},
          {"round_trips", floor.round_trips}};
}

}  // namespace

void write_json(std::ostream& out, const Report& report) {
  const BenchOptions& o = report.options;
  json mechanisms = json::array();
  for (Mechanism mechanism : o.mechanisms) mechanisms.push_back(name_of(mechanism));
  json document = {
      {"schema", "pollnotify-bench"},
      {"schema_version", kJsonSchemaVersion},
      {"tool_version", PN_VERSION},
      {"machine",
       {{"cpu_model", report.machine.cpu_model},
        {"cpus", report.machine.cpus},
        {"kernel", report.machine.kernel},
        {"compiler", report.machine.compiler},
        {"clock", report.machine.clock}}},
      {"options",
       {{"mechanisms", mechanisms},
        {"devices", o.devices},
        {"rate_per_s", o.rate},
        {"unloaded_jobs", o.unloaded_jobs},
        {"jobs", o.workload.jobs},
        {"depth", o.workload.depth ? o.workload.depth : o.workload.jobs},
        {"duration_s", o.workload.duration_s},
        {"warmup_s", o.workload.warmup_s},
        {"requests", o.workload.requests},
        {"repetitions", o.repetitions},
        {"timed_interval_us", o.workload.timed_interval_us},
        {"spin_polls", o.workload.spin_polls},
        {"app_spin_us", o.workload.app_spin_us},
        {"app_cpu", o.workload.app_cpu},
        {"poller_cpu", o.workload.poller_cpu},
        {"seed", o.workload.seed},
        {"floor_time_s", o.floor_seconds}}},
      {"floor",
       {{"cpus", {o.workload.app_cpu, o.workload.poller_cpu}},
        {"before", floor_json(report.floor_before)},
        {"after", report.floor_after_measured ? floor_json(report.floor_after) : json(nullptr)},
        {"round_trip_ns", report.floor_ns()},
        {"changed", report.floor_changed()}}},
      {"interrupted", report.interrupted},
      {"runs", json::array()}};
  for (const Row& row : report.rows) {
    json repetitions = json::array();
    for (const Phases& phases : row.repetitions) {
      const auto measured = [](const FloorMeasurement& floor) {
        return floor.round_trip_ns > 0 ? floor_json(floor) : json(nullptr);
      };
      repetitions.push_back({{"latency_phase", phase_json(phases.latency)},
                             {"throughput_phase", phase_json(phases.throughput)},
                             {"floor_around_latency",
                              {{"before", measured(phases.floor_before_latency)},
                               {"after", measured(phases.floor_after_latency)},
                               {"round_trip_ns", phases.adjacent_floor_ns()},
                               {"changed", phases.floor_before_latency.round_trip_ns > 0 &&
                                               phases.floor_after_latency.round_trip_ns > 0 &&
                                               floor_changed(phases.floor_before_latency,
                                                             phases.floor_after_latency)}}}});
    }
    document["runs"].push_back({{"mechanism", name_of(row.mechanism)},
                                {"device", row.device},
                                {"lost", row.lost()},
                                {"duplicated", row.duplicated()},
                                {"interrupted", row.interrupted()},
                                {"summary", summary_json(row, report.floor_ns())},
                                {"repetitions", repetitions}});
  }
  out << document.dump(1) << "\n";
}

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
