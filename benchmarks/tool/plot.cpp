// The percentile plot: latency (log y) against percentile on a log 1/(1-p) x axis, as
// HdrHistogram's plotter draws it, so that p99.9 and p99.999 get as much room as the median.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "report.hpp"

namespace pn::bench {
namespace {

struct Style {
  const char* color;
  const char* dash;    // stroke-dasharray
  const char* marker;  // circle, square, triangle, diamond, cross
};
// Colour-blind-safe colours (Okabe-Ito), and a dash and marker each, so that overlapping curves
// and grey-scale prints stay distinguishable.
constexpr Style kStyles[] = {{"#0072B2", "none", "circle"},  {"#009E73", "8,4", "square"},
                             {"#D55E00", "2,3", "triangle"}, {"#CC79A7", "10,3,2,3", "diamond"},
                             {"#000000", "4,4", "cross"},    {"#E69F00", "12,6", "circle"}};

const Style& style_of(Mechanism mechanism) {
  return kStyles[static_cast<std::size_t>(mechanism) % std::size(kStyles)];
}

std::string tick_label_ns(double ns) {
  if (ns < 1e3) return std::to_string(static_cast<long long>(std::lround(ns))) + " ns";
  if (ns < 1e6) return std::to_string(static_cast<long long>(std::lround(ns / 1e3))) + " us";
  if (ns < 1e9) return std::to_string(static_cast<long long>(std::lround(ns / 1e6))) + " ms";
  return std::to_string(static_cast<long long>(std::lround(ns / 1e9))) + " s";
}

std::string percentile_label(int decade) {
  static const char* const kLabels[] = {"0%",     "90%",     "99%",      "99.9%",
                                        "99.99%", "99.999%", "99.9999%", "99.99999%"};
  return decade < 8 ? kLabels[decade] : "";
}

std::string escape_xml(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void marker(std::ostream& out, const Style& style, double x, double y) {
  const std::string at = std::to_string(x) + "," + std::to_string(y);
  char text[320];
  if (std::string(style.marker) == "circle") {
    std::snprintf(text, sizeof text, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", x,
                  y, style.color);
  } else if (std::string(style.marker) == "square") {
    std::snprintf(text, sizeof text,
                  "<rect x=\"%.1f\" y=\"%.1f\" width=\"8\" height=\"8\" fill=\"%s\"/>\n", x - 4,
                  y - 4, style.color);
  } else if (std::string(style.marker) == "triangle") {
    std::snprintf(text, sizeof text,
                  "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" fill=\"%s\"/>\n", x, y - 5,
                  x - 5, y + 4, x + 5, y + 4, style.color);
  } else if (std::string(style.marker) == "diamond") {
    std::snprintf(text, sizeof text,
                  "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f\" fill=\"%s\"/>\n", x,
                  y - 5, x + 5, y, x, y + 5, x - 5, y, style.color);
  } else {
    std::snprintf(text, sizeof text,
                  "<path d=\"M%.1f %.1fL%.1f %.1fM%.1f %.1fL%.1f %.1f\" stroke=\"%s\" "
                  "stroke-width=\"2.5\"/>\n",
                  x - 4, y - 4, x + 4, y + 4, x - 4, y + 4, x + 4, y - 4, style.color);
  }
  out << text;
}

// The points of one curve: (1/(1-p), latency) at HdrHistogram's percentile levels, the last at
// the maximum with x = the sample count (one sample: a single point at x = 1).
std::vector<std::pair<double, double>> curve_of(const LatencyHistogram& histogram) {
  std::vector<std::pair<double, double>> points;
  const auto count = static_cast<double>(histogram.count());
  for (double level : percentile_levels(histogram.count())) {
    const double x = level < 1.0 ? std::min(count, 1.0 / (1.0 - level)) : count;
    points.emplace_back(std::max(1.0, x), static_cast<double>(histogram.quantile(level)));
  }
  return points;
}

// The latency phase's histogram of the repetition with the median p50.
const LatencyHistogram& representative(const Row& row) {
  std::vector<const Phases*> sorted;
  for (const Phases& phases : row.repetitions) sorted.push_back(&phases);
  std::sort(sorted.begin(), sorted.end(), [](const Phases* a, const Phases* b) {
    return a->latency.resume_ns.quantile(0.5) < b->latency.resume_ns.quantile(0.5);
  });
  return sorted[sorted.size() / 2]->latency.resume_ns;
}

// Of the four corners of the frame (left/right x, top/bottom y), the one whose legend box would
// cover the fewest curve points; top left on a tie.
std::pair<int, int> legend_corner(const std::vector<std::pair<double, double>>& points, int left,
                                  int top, int right, int bottom, int width, int height) {
  const std::pair<int, int> corners[] = {
      {left, top}, {right, bottom}, {right, top}, {left, bottom}};
  std::pair<int, int> best = corners[0];
  std::size_t fewest = ~std::size_t{0};
  for (const auto& [x, y] : corners) {
    const auto covered = static_cast<std::size_t>(
        std::count_if(points.begin(), points.end(), [&](const std::pair<double, double>& point) {
          return point.first >= x - 6 && point.first <= x + width + 6 && point.second >= y - 6 &&
                 point.second <= y + height + 6;
        }));
    if (covered < fewest) {
      fewest = covered;
      best = {x, y};
    }
  }
  return best;
}

}  // namespace

void write_svg(std::ostream& out, const Report& report) {
  std::vector<std::string> models;
  for (const Row& row : report.rows) {
    if (std::find(models.begin(), models.end(), row.device) == models.end())
      models.push_back(row.device);
  }
  constexpr int kWidth = 960, kPanelHeight = 440, kLeft = 80, kRight = 60, kTop = 50, kBottom = 60;
  constexpr int kPlotWidth = kWidth - kLeft - kRight, kPlotHeight = kPanelHeight - kTop - kBottom;
  const int height = kPanelHeight * static_cast<int>(std::max<std::size_t>(1, models.size()));
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << kWidth << " " << height
      << "\" font-family=\"sans-serif\" font-size=\"13\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  for (std::size_t m = 0; m < models.size(); ++m) {
    std::vector<const Row*> rows;
    for (const Row& row : report.rows) {
      if (row.device == models[m] && !row.repetitions.empty()) rows.push_back(&row);
    }
    // Axes: decades covering every curve.
    double low_ns = 1e18, high_ns = 1, max_count = 10;
    for (const Row* row : rows) {
      const LatencyHistogram& histogram = representative(*row);
      if (histogram.count() == 0) continue;
      low_ns = std::min(low_ns, std::max(1.0, static_cast<double>(histogram.min())));
      high_ns = std::max(high_ns, static_cast<double>(histogram.max()));
      max_count = std::max(max_count, static_cast<double>(histogram.count()));
    }
    if (low_ns > high_ns) low_ns = 1;
    const double y_low = std::floor(std::log10(low_ns));
    const double y_high = std::max(y_low + 1, std::ceil(std::log10(high_ns)));
    const double x_high = std::min(7.0, std::ceil(std::log10(max_count)));
    const int y0 = static_cast<int>(m) * kPanelHeight;
    const auto x_of = [&](double inverse_tail) {
      return kLeft + std::min(1.0, std::log10(std::max(1.0, inverse_tail)) / x_high) * kPlotWidth;
    };
    const auto y_of = [&](double ns) {
      const double position = (std::log10(std::max(1.0, ns)) - y_low) / (y_high - y_low);
      return y0 + kTop + (1 - position) * kPlotHeight;
    };
    out << "<g class=\"panel\" data-device=\"" << escape_xml(models[m]) << "\">\n";
    out << "<text x=\"" << kLeft << "\" y=\"" << y0 + 28
        << "\" font-size=\"16\" font-weight=\"bold\">Latency by percentile, device "
        << escape_xml(models[m]) << " (submit to job resumed)</text>\n";
    out << "<rect class=\"frame\" x=\"" << kLeft << "\" y=\"" << y0 + kTop << "\" width=\""
        << kPlotWidth << "\" height=\"" << kPlotHeight << "\" fill=\"none\" stroke=\"#444\"/>\n";
    for (int decade = 0; decade <= static_cast<int>(x_high); ++decade) {
      const double x = x_of(std::pow(10.0, decade));
      out << "<line x1=\"" << x << "\" y1=\"" << y0 + kTop << "\" x2=\"" << x << "\" y2=\""
          << y0 + kTop + kPlotHeight << "\" stroke=\"#ddd\"/>\n<text class=\"xtick\" x=\"" << x
          << "\" y=\"" << y0 + kTop + kPlotHeight + 20 << "\" text-anchor=\"middle\">"
          << percentile_label(decade) << "</text>\n";
    }
    for (double decade = y_low; decade <= y_high; decade += 1) {
      const double y = y_of(std::pow(10.0, decade));
      out << "<line x1=\"" << kLeft << "\" y1=\"" << y << "\" x2=\"" << kLeft + kPlotWidth
          << "\" y2=\"" << y << "\" stroke=\"#ddd\"/>\n<text class=\"ytick\" x=\"" << kLeft - 8
          << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">"
          << tick_label_ns(std::pow(10.0, decade)) << "</text>\n";
    }
    out << "<text x=\"" << kLeft + kPlotWidth / 2 << "\" y=\"" << y0 + kTop + kPlotHeight + 44
        << "\" text-anchor=\"middle\">percentile (log scale of 1/(1-p))</text>\n";
    const double mid_y = y0 + kTop + kPlotHeight / 2.0;
    out << "<text x=\"20\" y=\"" << mid_y << "\" transform=\"rotate(-90 20 " << mid_y
        << ")\" text-anchor=\"middle\">latency (log scale)</text>\n";
    // Curves, with a marker at every decade of percentile a curve reaches and at its last point.
    for (const Row* row : rows) {
      const Style& style = style_of(row->mechanism);
      const auto points = curve_of(representative(*row));
      out << "<g class=\"series\" data-mechanism=\"" << name_of(row->mechanism) << "\">\n";
      out << "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" << style.color
          << "\" stroke-dasharray=\"" << style.dash << "\" points=\"";
      for (const auto& [x, ns] : points) out << x_of(x) << "," << y_of(ns) << " ";
      out << "\"/>\n";
      double next_decade = 1;
      for (std::size_t i = 0; i < points.size(); ++i) {
        if (points[i].first >= next_decade || i + 1 == points.size()) {
          marker(out, style, x_of(points[i].first), y_of(points[i].second));
          while (next_decade <= points[i].first) next_decade *= 10;
        }
      }
      out << "</g>\n";
    }
    // The legend inside the frame, in the corner the curves cross least, on a white box.
    constexpr int kLegendWidth = 380, line_height = 20;
    const int legend_height = 10 + line_height * static_cast<int>(rows.size());
    std::vector<std::pair<double, double>> drawn;
    for (const Row* row : rows) {
      for (const auto& [x, ns] : curve_of(representative(*row)))
        drawn.emplace_back(x_of(x), y_of(ns));
    }
    const auto [legend_x, legend_y] =
        legend_corner(drawn, kLeft + 12, y0 + kTop + 12, kLeft + kPlotWidth - 12 - kLegendWidth,
                      y0 + kTop + kPlotHeight - 12 - legend_height, kLegendWidth, legend_height);
    out << "<g class=\"legend\">\n<rect x=\"" << legend_x << "\" y=\"" << legend_y << "\" width=\""
        << kLegendWidth << "\" height=\"" << legend_height
        << "\" fill=\"white\" fill-opacity=\"0.9\" stroke=\"#999\"/>\n";
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const Style& style = style_of(rows[i]->mechanism);
      const LatencyHistogram& histogram = representative(*rows[i]);
      const double y = legend_y + 15 + static_cast<double>(i) * line_height;
      out << "<line x1=\"" << legend_x + 8 << "\" y1=\"" << y << "\" x2=\"" << legend_x + 48
          << "\" y2=\"" << y << "\" stroke=\"" << style.color << "\" stroke-width=\"2\" "
          << "stroke-dasharray=\"" << style.dash << "\"/>\n";
      marker(out, style, legend_x + 28, y);
      out << "<text x=\"" << legend_x + 56 << "\" y=\"" << y + 4 << "\">"
          << name_of(rows[i]->mechanism) << ": p50 "
          << format_ns(static_cast<double>(histogram.quantile(0.5))) << ", " << histogram.count()
          << (histogram.count() == 1 ? " sample" : " samples") << "</text>\n";
    }
    out << "</g>\n</g>\n";
  }
  out << "</svg>\n";
}

}  // namespace pn::bench
