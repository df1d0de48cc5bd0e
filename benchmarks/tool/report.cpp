#include "report.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <thread>

#include "pollnotify/clock.hpp"

namespace pn::bench {
namespace {

std::string format_ns(std::uint64_t ns) {
  char text[32];
  if (ns < 10'000) {
    std::snprintf(text, sizeof text, "%llu ns", static_cast<unsigned long long>(ns));
  } else if (ns < 10'000'000) {
    std::snprintf(text, sizeof text, "%.1f us", static_cast<double>(ns) / 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.1f ms", static_cast<double>(ns) / 1e6);
  }
  return text;
}

std::string json_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out;
}

void json_latency(std::ostream& out, const LatencyHistogram& h) {
  out << "{\"p50\": " << h.quantile(0.5) << ", \"p90\": " << h.quantile(0.9)
      << ", \"p99\": " << h.quantile(0.99) << ", \"p999\": " << h.quantile(0.999)
      << ", \"max\": " << h.max() << ", \"min\": " << h.min() << ", \"mean\": " << std::fixed
      << std::setprecision(1) << h.mean() << ", \"count\": " << h.count() << "}";
}

// Points of the CDF, thinned to at most ~200 per curve.
std::vector<std::pair<std::uint64_t, double>> cdf_points(const LatencyHistogram& h) {
  std::vector<std::pair<std::uint64_t, double>> points;
  if (h.count() == 0) return points;
  std::uint64_t seen = 0;
  double last_fraction = -1;
  const auto& counts = h.counts();
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    seen += counts[i];
    const double fraction = static_cast<double>(seen) / static_cast<double>(h.count());
    if (fraction - last_fraction >= 0.005 || seen == h.count()) {
      points.emplace_back(
          std::max<std::uint64_t>(1, LatencyHistogram::lower_bound(i) + LatencyHistogram::width(i)),
          fraction);
      last_fraction = fraction;
    }
  }
  return points;
}

}  // namespace

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

void write_table(std::ostream& out, const std::vector<Row>& rows) {
  char line[256];
  std::snprintf(line, sizeof line, "%-18s %-14s %13s %9s %9s %9s %9s %9s %8s %8s %6s %6s\n",
                "mechanism", "latency", "completions/s", "p50", "p90", "p99", "p99.9", "max",
                "poller%", "app%", "lost", "dup");
  out << line << std::string(128, '-') << "\n";
  for (const Row& row : rows) {
    const LatencyHistogram& h = row.unloaded.resume_ns;
    const bool interrupted = row.unloaded.interrupted || row.loaded.interrupted;
    std::snprintf(
        line, sizeof line, "%-18s %-14s %13.0f %9s %9s %9s %9s %9s %8.1f %8.1f %6llu %6llu%s\n",
        name_of(row.loaded.mechanism), row.loaded.latency.c_str(), row.loaded.throughput(),
        format_ns(h.quantile(0.5)).c_str(), format_ns(h.quantile(0.9)).c_str(),
        format_ns(h.quantile(0.99)).c_str(), format_ns(h.quantile(0.999)).c_str(),
        format_ns(h.max()).c_str(), row.loaded.poller_cpu_percent, row.loaded.app_cpu_percent,
        static_cast<unsigned long long>(row.lost()),
        static_cast<unsigned long long>(row.duplicated()), interrupted ? "  (interrupted)" : "");
    out << line;
  }
  out << "completions/s and CPU (% of one core): loaded phase; latency (submit to job resumed, "
         "i.e. the\n"
         "application has the result): unloaded phase; lost/dup: both phases, from per-request "
         "stamps\n";
}

void write_json(std::ostream& out, const std::vector<Row>& rows, const WorkloadOptions& options,
                std::size_t unloaded_jobs, const std::vector<Mechanism>& mechanisms,
                const std::vector<std::string>& latencies, const MachineInfo& machine) {
  out << "{\n  \"tool\": \"pollnotify-bench\",\n  \"version\": \"" << PN_VERSION << "\",\n";
  out << "  \"machine\": {\"cpu_model\": \"" << json_escape(machine.cpu_model)
      << "\", \"cpus\": " << machine.cpus << ", \"kernel\": \"" << json_escape(machine.kernel)
      << "\", \"compiler\": \"" << json_escape(machine.compiler) << "\", \"clock\": \""
      << json_escape(machine.clock) << "\"},\n";
  out << "  \"options\": {\"mechanisms\": [";
  for (std::size_t i = 0; i < mechanisms.size(); ++i)
    out << (i ? ", " : "") << '"' << name_of(mechanisms[i]) << '"';
  out << "], \"latency_models\": [";
  for (std::size_t i = 0; i < latencies.size(); ++i)
    out << (i ? ", " : "") << '"' << json_escape(latencies[i]) << '"';
  out << "], \"jobs\": " << options.jobs << ", \"unloaded_jobs\": " << unloaded_jobs
      << ", \"depth\": " << (options.depth ? options.depth : options.jobs)
      << ", \"duration_s\": " << options.duration_s << ", \"warmup_s\": " << options.warmup_s
      << ", \"requests\": " << options.requests
      << ", \"timed_interval_us\": " << options.timed_interval_us
      << ", \"spin_polls\": " << options.spin_polls << ", \"app_spin_us\": " << options.app_spin_us
      << ", \"app_cpu\": " << options.app_cpu << ", \"poller_cpu\": " << options.poller_cpu
      << ", \"seed\": " << options.seed << "},\n";
  out << "  \"runs\": [\n";
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const RunResult& loaded = rows[r].loaded;
    const RunResult& unloaded = rows[r].unloaded;
    out << "    {\"mechanism\": \"" << name_of(loaded.mechanism) << "\", \"latency_model\": \""
        << json_escape(loaded.latency)
        << "\", \"completions\": " << loaded.completions + unloaded.completions
        << ", \"lost\": " << rows[r].lost() << ", \"duplicated\": " << rows[r].duplicated()
        << std::fixed << std::setprecision(1) << ", \"throughput_per_s\": " << loaded.throughput()
        << std::setprecision(2) << ", \"poller_cpu_percent\": " << loaded.poller_cpu_percent
        << ", \"app_cpu_percent\": " << loaded.app_cpu_percent
        << ", \"interrupted\": " << (loaded.interrupted || unloaded.interrupted ? "true" : "false")
        << ",\n     \"latency_ns\": ";
    json_latency(out, unloaded.resume_ns);
    out << ",\n     \"notify_latency_ns\": ";
    json_latency(out, unloaded.notify_ns);
    out << ",\n     \"loaded_latency_ns\": ";
    json_latency(out, loaded.resume_ns);
    out << ",\n     \"phases\": {";
    const std::pair<const char*, const RunResult*> phases[] = {{"unloaded", &unloaded},
                                                               {"loaded", &loaded}};
    for (std::size_t p = 0; p < 2; ++p) {
      const RunResult& run = *phases[p].second;
      out << (p ? ", " : "") << "\"" << phases[p].first
          << "\": {\"completions\": " << run.completions << ", \"submitted\": " << run.submitted
          << ", \"notified\": " << run.notified << ", \"lost\": " << run.lost
          << ", \"duplicated\": " << run.duplicated << ", \"eagain\": " << run.eagain
          << ", \"errors\": " << run.errors << std::setprecision(4)
          << ", \"seconds\": " << run.seconds << std::setprecision(1)
          << ", \"throughput_per_s\": " << run.throughput() << std::setprecision(2)
          << ", \"poller_cpu_percent\": " << run.poller_cpu_percent
          << ", \"app_cpu_percent\": " << run.app_cpu_percent << "}";
    }
    out << "},\n     \"cdf\": [";
    const auto points = cdf_points(unloaded.resume_ns);
    for (std::size_t i = 0; i < points.size(); ++i) {
      out << (i ? ", " : "") << "[" << points[i].first << ", " << std::setprecision(4)
          << points[i].second << "]";
    }
    out << "]}" << (r + 1 < rows.size() ? "," : "") << "\n";
  }
  out << "  ]\n}\n";
}

void write_svg(std::ostream& out, const std::vector<Row>& rows) {
  std::vector<RunResult> runs;
  for (const Row& row : rows) runs.push_back(row.unloaded);
  std::vector<std::string> models;
  for (const RunResult& run : runs) {
    if (std::find(models.begin(), models.end(), run.latency) == models.end())
      models.push_back(run.latency);
  }
  std::uint64_t lowest = ~std::uint64_t{0}, highest = 1;
  for (const RunResult& run : runs) {
    if (run.resume_ns.count() == 0) continue;
    lowest = std::min(lowest, std::max<std::uint64_t>(1, run.resume_ns.min()));
    highest = std::max(highest, run.resume_ns.max());
  }
  if (lowest > highest) lowest = 1;
  const double decade_low = std::floor(std::log10(static_cast<double>(lowest)));
  const double decade_high =
      std::max(decade_low + 1, std::ceil(std::log10(static_cast<double>(highest))));
  const int width = 900, panel_height = 360, left = 70, right = 220, top = 40, bottom = 50;
  const int plot_width = width - left - right, plot_height = panel_height - top - bottom;
  const int height = panel_height * static_cast<int>(std::max<std::size_t>(1, models.size()));
  const char* colors[] = {"#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b"};
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
         "fill=\"white\"/>\n";
  for (std::size_t m = 0; m < models.size(); ++m) {
    const int y0 = static_cast<int>(m) * panel_height;
    const auto x_of = [&](double ns) {
      const double position =
          (std::log10(std::max(1.0, ns)) - decade_low) / (decade_high - decade_low);
      return left + position * plot_width;
    };
    const auto y_of = [&](double fraction) { return y0 + top + (1 - fraction) * plot_height; };
    out << "<text x=\"" << left << "\" y=\"" << y0 + 24
        << "\" font-size=\"15\" font-weight=\"bold\">"
        << "Latency CDF (unloaded), submit to job resumed - device latency model: " << models[m]
        << "</text>\n";
    for (double d = decade_low; d <= decade_high; d += 1) {
      const double x = x_of(std::pow(10.0, d));
      out << "<line x1=\"" << x << "\" y1=\"" << y_of(0) << "\" x2=\"" << x << "\" y2=\"" << y_of(1)
          << "\" stroke=\"#ddd\"/>\n<text x=\"" << x << "\" y=\"" << y_of(0) + 18
          << "\" text-anchor=\"middle\">"
          << format_ns(static_cast<std::uint64_t>(std::pow(10.0, d))) << "</text>\n";
    }
    for (double f = 0; f <= 1.0001; f += 0.25) {
      out << "<line x1=\"" << left << "\" y1=\"" << y_of(f) << "\" x2=\"" << left + plot_width
          << "\" y2=\"" << y_of(f) << "\" stroke=\"#ddd\"/>\n<text x=\"" << left - 8 << "\" y=\""
          << y_of(f) + 4 << "\" text-anchor=\"end\">" << f << "</text>\n";
    }
    out << "<text x=\"" << left + plot_width / 2 << "\" y=\"" << y_of(0) + 38
        << "\" text-anchor=\"middle\">latency (log scale)</text>\n";
    out << "<text x=\"18\" y=\"" << y_of(0.5) << "\" transform=\"rotate(-90 18 " << y_of(0.5)
        << ")\" text-anchor=\"middle\">fraction of requests</text>\n";
    int legend = 0;
    for (std::size_t r = 0; r < runs.size(); ++r) {
      if (runs[r].latency != models[m]) continue;
      const char* color = colors[static_cast<std::size_t>(runs[r].mechanism) % 6];
      out << "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" << color << "\" points=\"";
      for (const auto& [ns, fraction] : cdf_points(runs[r].resume_ns)) {
        out << x_of(static_cast<double>(ns)) << "," << y_of(fraction) << " ";
      }
      out << "\"/>\n";
      const int ly = y0 + top + 10 + legend * 20;
      out << "<line x1=\"" << left + plot_width + 15 << "\" y1=\"" << ly << "\" x2=\""
          << left + plot_width + 40 << "\" y2=\"" << ly << "\" stroke=\"" << color
          << "\" stroke-width=\"3\"/>\n<text x=\"" << left + plot_width + 46 << "\" y=\"" << ly + 4
          << "\">" << name_of(runs[r].mechanism) << " (p50 "
          << format_ns(runs[r].resume_ns.quantile(0.5)) << ")</text>\n";
      ++legend;
    }
  }
  out << "</svg>\n";
}

}  // namespace pn::bench
