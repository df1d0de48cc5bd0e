// pollnotify-bench's figures: percentiles and their resolution, the floor, the tables' units, the
// .hgrm text, the JSON schema and the comparison verdicts, on synthetic runs.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "floor.hpp"
#include "report.hpp"

namespace {

using namespace pn::bench;

RunResult synthetic_run(Mechanism mechanism, std::uint64_t samples, double scale,
                        std::uint64_t seed) {
  RunResult run;
  run.mechanism = mechanism;
  run.device = "zero";
  run.jobs = 1;
  run.completions = samples;
  run.seconds = 1;
  std::mt19937_64 rng(seed);
  std::exponential_distribution<double> distribution(1.0 / scale);
  for (std::uint64_t i = 0; i < samples; ++i)
    run.resume_ns.record(static_cast<std::uint64_t>(distribution(rng)) + 100);
  return run;
}

Report synthetic_report(double scale, unsigned repetitions) {
  Report report;
  report.options.repetitions = repetitions;
  report.floor_before.round_trip_ns = 200;
  report.floor_after.round_trip_ns = 220;
  report.floor_after_measured = true;
  for (Mechanism mechanism : {Mechanism::kBusy, Mechanism::kEventfd}) {
    Row row{mechanism, "zero", {}};
    for (unsigned r = 0; r < repetitions; ++r) {
      const double mechanism_scale = mechanism == Mechanism::kBusy ? scale : 40 * scale;
      Phases phases;
      phases.latency = synthetic_run(mechanism, 20'000, mechanism_scale, r + 1);
      phases.throughput = synthetic_run(mechanism, 1'000, mechanism_scale, r + 100);
      phases.throughput.jobs = 64;
      row.repetitions.push_back(std::move(phases));
    }
    report.rows.push_back(std::move(row));
  }
  return report;
}

TEST(BenchFigures, StandardDeviationIsExact) {
  LatencyHistogram histogram;
  for (std::uint64_t value : {100U, 200U, 300U, 400U}) histogram.record(value);
  EXPECT_DOUBLE_EQ(histogram.mean(), 250);
  EXPECT_NEAR(histogram.stdev(), std::sqrt(12500.0), 1e-9);  // population deviation
  EXPECT_EQ(LatencyHistogram().stdev(), 0);
}

TEST(BenchFigures, APercentileIsResolvedWithTenSamplesBeyondIt) {
  LatencyHistogram histogram;
  for (int i = 0; i < 999; ++i) histogram.record(1000);
  EXPECT_TRUE(histogram.resolves(0.5));
  EXPECT_TRUE(histogram.resolves(0.9));
  EXPECT_FALSE(histogram.resolves(0.99)) << "999 samples: 9.99 beyond p99";
  histogram.record(1000);
  EXPECT_TRUE(histogram.resolves(0.99));
  EXPECT_FALSE(histogram.resolves(0.999));
  LatencyHistogram one;
  one.record(5);
  EXPECT_FALSE(one.resolves(0.5));
  EXPECT_EQ(one.quantile(0.99999), 5U);
}

TEST(BenchFigures, PercentileLevelsFollowHdrHistogram) {
  EXPECT_TRUE(percentile_levels(0).empty());
  EXPECT_EQ(percentile_levels(1), (std::vector<double>{0.0, 1.0}));
  const std::vector<double> levels = percentile_levels(1'000'000);
  ASSERT_GT(levels.size(), 10U);
  EXPECT_DOUBLE_EQ(levels[0], 0.0);
  EXPECT_NEAR(levels[1], 0.1, 1e-12);  // 10 % steps up to the median
  EXPECT_NEAR(levels[5], 0.5, 1e-12);
  EXPECT_NEAR(levels[6], 0.55, 1e-12);  // then 5 %: the step halves with the distance to 100 %
  EXPECT_DOUBLE_EQ(levels.back(), 1.0);
  for (std::size_t i = 1; i < levels.size(); ++i) EXPECT_GT(levels[i], levels[i - 1]);
  EXPECT_GT(levels[levels.size() - 2], 0.99999) << "a million samples reach past p99.999";
}

TEST(BenchFigures, HgrmTextIsHdrHistogramsPercentileDistribution) {
  LatencyHistogram histogram;
  for (std::uint64_t i = 1; i <= 10'000; ++i) histogram.record(i * 10);
  std::ostringstream text;
  write_hgrm(text, histogram);
  std::istringstream lines(text.str());
  std::string line;
  std::getline(lines, line);
  EXPECT_NE(line.find("Value"), std::string::npos);
  EXPECT_NE(line.find("1/(1-Percentile)"), std::string::npos);
  double last_value = -1, last_percentile = -1;
  unsigned long long last_count = 0;
  int rows = 0;
  std::string footer;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      footer += line + "\n";
      continue;
    }
    double value = 0, percentile = 0;
    unsigned long long count = 0;
    ASSERT_GE(std::sscanf(line.c_str(), "%lf %lf %llu", &value, &percentile, &count), 3) << line;
    EXPECT_GE(value, last_value);
    EXPECT_GT(percentile, last_percentile);
    EXPECT_GE(count, last_count);
    last_value = value;
    last_percentile = percentile;
    last_count = count;
    ++rows;
  }
  EXPECT_GT(rows, 50);
  EXPECT_DOUBLE_EQ(last_percentile, 1.0);
  EXPECT_EQ(last_count, 10'000U);
  EXPECT_NEAR(last_value, 100.0, 0.5) << "microseconds: the maximum is 100 us";
  EXPECT_NE(footer.find("#[Mean    ="), std::string::npos);
  EXPECT_NE(footer.find("Total count    =        10000"), std::string::npos);
}

TEST(BenchFloor, PingPongBetweenTwoThreadsIsPositive) {
  const int cpus = static_cast<int>(std::thread::hardware_concurrency());
  const int second = cpus > 1 && cpu_allowed(1) ? 1 : -1;
  const FloorMeasurement floor = measure_floor(cpu_allowed(0) ? 0 : -1, second, 0.02);
  EXPECT_GT(floor.round_trip_ns, 0);
  EXPECT_GT(floor.round_trips, 0U);
  EXPECT_LE(floor.min_batch_ns, floor.round_trip_ns);
  EXPECT_GE(floor.max_batch_ns, floor.round_trip_ns);
}

TEST(BenchFloor, PinningToACpuThatIsNotThereThrows) {
  EXPECT_THROW(measure_floor(0, 100'000, 0.01), std::system_error);
  EXPECT_THROW(measure_floor(100'000, 0, 0.01), std::system_error);
  EXPECT_THROW(pin_this_thread_checked(CPU_SETSIZE - 1), std::system_error);
}

TEST(BenchFloor, AChangeAboveAQuarterIsAChangedMachine) {
  FloorMeasurement before, after;
  before.round_trip_ns = 100;
  after.round_trip_ns = 124;
  EXPECT_FALSE(floor_changed(before, after));
  after.round_trip_ns = 126;
  EXPECT_TRUE(floor_changed(before, after));
  EXPECT_TRUE(floor_changed(after, before));
}

TEST(BenchTables, OneUnitPerColumnAndUnresolvedPercentilesMarked) {
  const Report report = synthetic_report(300, 1);
  std::ostringstream out;
  write_tables(out, report);
  const std::string text = out.str();
  // busy's p50 is about 300 ns and eventfd's about 8 us: one column, one unit in its header,
  // and none in the cells.
  EXPECT_NE(text.find("p50 ns"), std::string::npos) << text;
  std::istringstream lines(text);
  bool in_rows = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("---", 0) == 0) {
      in_rows = true;
    } else if (line.empty()) {
      in_rows = false;
    } else if (in_rows) {
      for (const char* unit : {" ns", " us", " ms"})
        EXPECT_EQ(line.find(unit), std::string::npos) << line;
    }
  }
  EXPECT_NE(text.find("p99.999 "), std::string::npos);
  EXPECT_NE(text.find("*"), std::string::npos) << "20 000 samples cannot resolve p99.99";
  EXPECT_NE(text.find("p50/floor"), std::string::npos);
  EXPECT_NE(text.find("fewer than 10 samples"), std::string::npos);
}

// The machine changes state within seconds: a latency is divided by the floor measured next to
// its phase (the mean of before and after), and by the run's floor only without one.
TEST(BenchFigures, P50OverTheFloorNextToItsPhase) {
  Report report = synthetic_report(300, 1);
  Phases& phases = report.rows.at(0).repetitions.at(0);
  const double p50 = static_cast<double>(phases.latency.resume_ns.quantile(0.5));
  EXPECT_DOUBLE_EQ(phases.p50_over_floor(report.floor_ns()), p50 / 210) << "no adjacent floor";
  phases.floor_before_latency.round_trip_ns = 100;
  EXPECT_DOUBLE_EQ(phases.p50_over_floor(report.floor_ns()), p50 / 100) << "before only";
  phases.floor_after_latency.round_trip_ns = 140;
  EXPECT_DOUBLE_EQ(phases.adjacent_floor_ns(), 120);
  EXPECT_DOUBLE_EQ(phases.p50_over_floor(report.floor_ns()), p50 / 120);
  std::ostringstream out;
  write_json(out, report);
  const nlohmann::json document = nlohmann::json::parse(out.str());
  const auto& run = document.at("runs").at(0);
  EXPECT_DOUBLE_EQ(run.at("summary").at("p50_over_floor").at("median").get<double>(), p50 / 120);
  const auto& around = run.at("repetitions").at(0).at("floor_around_latency");
  EXPECT_DOUBLE_EQ(around.at("round_trip_ns").get<double>(), 120);
  EXPECT_TRUE(around.at("changed").get<bool>()) << "100 and 140 are more than 25 % apart";
  EXPECT_TRUE(document.at("runs")
                  .at(1)
                  .at("repetitions")
                  .at(0)
                  .at("floor_around_latency")
                  .at("before")
                  .is_null());
}

TEST(BenchJson, SchemaVersionFloorAndSummaries) {
  const Report report = synthetic_report(300, 3);
  std::ostringstream out;
  write_json(out, report);
  const nlohmann::json document = nlohmann::json::parse(out.str());
  EXPECT_EQ(document.at("schema"), "pollnotify-bench");
  EXPECT_EQ(document.at("schema_version"), kJsonSchemaVersion);
  EXPECT_DOUBLE_EQ(document.at("floor").at("round_trip_ns").get<double>(), 210);
  EXPECT_FALSE(document.at("floor").at("changed").get<bool>());
  ASSERT_EQ(document.at("runs").size(), 2U);
  const auto& run = document.at("runs").at(0);
  EXPECT_EQ(run.at("repetitions").size(), 3U);
  const auto& summary = run.at("summary");
  for (const char* figure :
       {"throughput_per_s", "latency_p50_ns", "latency_p99.999_ns", "latency_max_ns",
        "latency_mean_ns", "latency_stdev_ns", "p50_over_floor"}) {
    ASSERT_TRUE(summary.contains(figure)) << figure;
    EXPECT_EQ(summary.at(figure).at("n"), 3) << figure;
    EXPECT_GE(summary.at(figure).at("stddev").get<double>(), 0) << figure;
  }
  EXPECT_TRUE(summary.at("resolved").at("p50").get<bool>());
  EXPECT_FALSE(summary.at("resolved").at("p99.99").get<bool>());
  const auto& latency = run.at("repetitions").at(0).at("latency_phase").at("latency_ns");
  EXPECT_EQ(latency.at("count"), 20'000);
  EXPECT_TRUE(latency.at("percentiles").contains("p99.999"));
}

std::string write_temp(const Report& report, const char* name) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream file(path);
  write_json(file, report);
  return path;
}

TEST(BenchCompare, VerdictsFollowTheSpreadOfTheRepetitions) {
  const std::string a = write_temp(synthetic_report(300, 5), "compare_a.json");
  const std::string same = write_temp(synthetic_report(300, 5), "compare_same.json");
  const std::string slower = write_temp(synthetic_report(900, 5), "compare_slower.json");
  std::ostringstream out, err;
  EXPECT_EQ(compare_json_files(a, same, out, err), 0) << err.str();
  EXPECT_NE(out.str().find("latency_p50_ns"), std::string::npos);
  EXPECT_EQ(out.str().find("worse"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("no verdict (too few samples)"), std::string::npos);
  std::ostringstream out2;
  EXPECT_EQ(compare_json_files(a, slower, out2, err), 0);
  const std::string text = out2.str();
  const std::size_t p50 = text.find("callback-busy / zero                 latency_p50_ns");
  ASSERT_NE(p50, std::string::npos) << text;
  EXPECT_NE(text.substr(p50, text.find('\n', p50) - p50).find("worse"), std::string::npos) << text;
}

TEST(BenchCompare, BadFilesAreAnErrorNotACrash) {
  const std::string garbage = ::testing::TempDir() + "garbage.json";
  std::ofstream(garbage) << "{ not json";
  const std::string other = ::testing::TempDir() + "other.json";
  std::ofstream(other) << R"({"schema": "something-else", "schema_version": 2})";
  const std::string wrong_shape = ::testing::TempDir() + "shape.json";
  std::ofstream(wrong_shape) << R"({"schema": "pollnotify-bench", "schema_version": 2,
                                    "floor": {"round_trip_ns": 1}, "runs": 5})";
  const std::string good = write_temp(synthetic_report(300, 1), "good.json");
  for (const std::string& bad : {std::string("/nonexistent.json"), garbage, other, wrong_shape}) {
    std::ostringstream out, err;
    EXPECT_EQ(compare_json_files(good, bad, out, err), 1) << bad;
    EXPECT_NE(err.str().find("pollnotify-bench: "), std::string::npos) << bad;
  }
}

}  // namespace
