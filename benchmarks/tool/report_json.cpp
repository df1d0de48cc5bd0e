// pollnotify-bench's JSON file (docs/bench-json.md).
#include <nlohmann/json.hpp>

#include "report.hpp"

namespace pn::bench {

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

}  // namespace pn::bench
