// pollnotify-bench's terminal tables: the header, the floor, latency, throughput and spread.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>

#include "report.hpp"

namespace pn::bench {

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

}  // namespace pn::bench
