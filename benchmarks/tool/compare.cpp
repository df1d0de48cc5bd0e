// pollnotify-bench --compare A.json B.json: every summary figure the two runs share, its change,
// and whether the change stands out of the noise.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "report.hpp"

namespace pn::bench {
namespace {

using json = nlohmann::ordered_json;

// A change is a verdict only when it is larger than the spread each side showed over its
// repetitions: more than 3 standard deviations (the larger of the two) and more than 1 %.
// With one repetition on a side there is no spread to go by: 10 % is the bound, and the verdict
// says it is a guess.
constexpr double kSigmas = 3;
constexpr double kMinRelative = 0.01;
constexpr double kSingleRunRelative = 0.10;

bool higher_is_better(const std::string& figure) { return figure == "throughput_per_s"; }

std::string verdict(const std::string& figure, const json& a, const json& b, bool resolved) {
  if (!resolved) return "no verdict (too few samples)";
  const double median_a = a.at("median").get<double>(), median_b = b.at("median").get<double>();
  const double change = median_b - median_a;
  const double relative = median_a != 0 ? std::fabs(change / median_a) : 0;
  const bool repeated = a.at("n").get<double>() > 1 && b.at("n").get<double>() > 1;
  const double spread = std::max(a.at("stddev").get<double>(), b.at("stddev").get<double>());
  const bool significant = repeated
                               ? std::fabs(change) > kSigmas * spread && relative > kMinRelative
                               : relative > kSingleRunRelative;
  if (!significant) return repeated ? "noise" : "noise? (1 run)";
  const bool better = higher_is_better(figure) ? change > 0 : change < 0;
  return std::string(better ? "better" : "worse") + (repeated ? "" : "? (1 run)");
}

bool load(const std::string& path, json& out, std::ostream& err) {
  std::ifstream file(path);
  if (!file) {
    err << "pollnotify-bench: cannot read " << path << "\n";
    return false;
  }
  try {
    out = json::parse(file);
  } catch (const json::exception& error) {
    err << "pollnotify-bench: " << path << " is not JSON: " << error.what() << "\n";
    return false;
  }
  if (!out.is_object() || out.value("schema", "") != "pollnotify-bench" ||
      out.value("schema_version", 0) != kJsonSchemaVersion) {
    err << "pollnotify-bench: " << path << " is not a pollnotify-bench JSON file of schema version "
        << kJsonSchemaVersion << "\n";
    return false;
  }
  return true;
}

std::string format_figure(const std::string& figure, double value) {
  char text[48];
  if (figure.size() > 3 && figure.compare(figure.size() - 3, 3, "_ns") == 0)
    return format_ns(value);
  if (figure == "p50_over_floor") {
    std::snprintf(text, sizeof text, "%.2fx", value);
  } else if (figure.find("percent") != std::string::npos) {
    std::snprintf(text, sizeof text, "%.1f %%", value);
  } else {
    std::snprintf(text, sizeof text, "%.0f/s", value);
  }
  return text;
}

// "latency_p99.9_ns" -> "p99.9" (the key of the resolved map), else "".
std::string percentile_key(const std::string& figure) {
  const std::string prefix = "latency_p", suffix = "_ns";
  if (figure.rfind(prefix, 0) != 0 || figure.size() <= prefix.size() + suffix.size()) return "";
  return figure.substr(prefix.size() - 1, figure.size() - prefix.size() + 1 - suffix.size());
}

void compare_floors(const json& a, const json& b, std::ostream& out) {
  const double floor_a = a.at("floor").at("round_trip_ns").get<double>();
  const double floor_b = b.at("floor").at("round_trip_ns").get<double>();
  out << "floor (cache-line ping-pong round trip): A " << format_ns(floor_a) << ", B "
      << format_ns(floor_b) << "\n";
  for (const auto& [name, document] : {std::pair{"A", &a}, std::pair{"B", &b}}) {
    if (document->at("floor").value("changed", false))
      out << "WARNING: the floor moved during run " << name << ": its figures are suspect\n";
  }
  const double low = std::min(floor_a, floor_b), high = std::max(floor_a, floor_b);
  if (low > 0 && high > 1.25 * low) {
    out << "WARNING: the floors differ by more than 25 %: the machine was in another state; "
           "compare p50_over_floor rather than absolute latencies\n";
  }
}

}  // namespace

int compare_json_files(const std::string& path_a, const std::string& path_b, std::ostream& out,
                       std::ostream& err) {
  json a, b;
  if (!load(path_a, a, err) || !load(path_b, b, err)) return 1;
  try {
    out << "A: " << path_a << "\nB: " << path_b << "\n";
    compare_floors(a, b, out);
    out << "\n";
    char line[256];
    std::snprintf(line, sizeof line, "%-36s %-20s %12s %12s %9s  %s\n", "run", "figure", "A", "B",
                  "change", "verdict");
    out << line << std::string(110, '-') << "\n";
    std::size_t shared = 0;
    for (const json& run_a : a.at("runs")) {
      const std::string key =
          run_a.at("mechanism").get<std::string>() + " / " + run_a.at("device").get<std::string>();
      for (const json& run_b : b.at("runs")) {
        if (run_b.at("mechanism") != run_a.at("mechanism") ||
            run_b.at("device") != run_a.at("device"))
          continue;
        ++shared;
        const json& summary_a = run_a.at("summary");
        const json& summary_b = run_b.at("summary");
        for (const auto& [figure, stat_a] : summary_a.items()) {
          if (figure == "resolved" || !summary_b.contains(figure)) continue;
          const json& stat_b = summary_b.at(figure);
          const std::string percentile = percentile_key(figure);
          const bool is_resolved =
              percentile.empty() || (summary_a.at("resolved").value(percentile, false) &&
                                     summary_b.at("resolved").value(percentile, false));
          const double median_a = stat_a.at("median").get<double>();
          const double median_b = stat_b.at("median").get<double>();
          char change[32];
          std::snprintf(change, sizeof change, "%+.1f%%",
                        median_a != 0 ? 100 * (median_b - median_a) / median_a : 0.0);
          std::snprintf(line, sizeof line, "%-36s %-20s %12s %12s %9s  %s\n", key.c_str(),
                        figure.c_str(), format_figure(figure, median_a).c_str(),
                        format_figure(figure, median_b).c_str(), change,
                        verdict(figure, stat_a, stat_b, is_resolved).c_str());
          out << line;
        }
      }
    }
    if (shared == 0) out << "the two files share no mechanism and device\n";
  } catch (const json::exception& error) {
    err << "pollnotify-bench: unexpected content in the JSON files: " << error.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace pn::bench
