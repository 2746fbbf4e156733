// vhmn/explain/svg_plot.hpp — line charts as standalone SVG text.
//
// What this represents: a chart of one or more named series of (x, y)
// points, drawn as lines with markers over linear axes with ticks, a title,
// axis labels and a legend; the y range is [y_min, y_max] (defaults 0..1,
// e.g. accuracies). The result is one <svg> element with no external
// assets, fit to save as a .svg file or to inline into an HTML page.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "vhmn/core/config.hpp"

namespace vhmn::explain {

struct PlotSeries {
  std::string name;
  std::vector<double> x, y;
  std::string color;  // CSS colour; "" picks one from a fixed palette
};

struct LinePlot {
  std::string title, x_label, y_label;
  std::vector<PlotSeries> series;
  double y_min = 0, y_max = 1;
  int width = 600, height = 360;
};

inline std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

inline std::string format_tick(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", std::abs(v) < 1e-12 ? 0.0 : v);
  return buf;
}

inline std::string to_svg(const LinePlot& p) {
  static const char* palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"};
  const double left = 60, right = 180, top = 34, bottom = 48;
  const double pw = p.width - left - right, ph = p.height - top - bottom;
  double x0 = 0, x1 = 1;
  bool any = false;
  for (const auto& s : p.series)
    for (double v : s.x) {
      x0 = any ? std::min(x0, v) : v;
      x1 = any ? std::max(x1, v) : v;
      any = true;
    }
  if (!any || x1 <= x0) x1 = x0 + 1;
  const double y0 = p.y_min, y1 = p.y_max > p.y_min ? p.y_max : p.y_min + 1;
  auto X = [&](double v) { return left + (v - x0) / (x1 - x0) * pw; };
  auto Y = [&](double v) { return top + (1 - (std::min(std::max(v, y0), y1) - y0) / (y1 - y0)) * ph; };
  std::ostringstream o;
  o.precision(5);
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << p.width << "\" height=\"" << p.height
    << "\" viewBox=\"0 0 " << p.width << " " << p.height << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << p.width / 2 << "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">" << xml_escape(p.title)
    << "</text>\n";
  // grid and ticks: 5 steps on y, the distinct x values (or 5 steps) on x
  for (int i = 0; i <= 5; ++i) {
    const double v = y0 + (y1 - y0) * i / 5.0, yy = Y(v);
    o << "<line x1=\"" << left << "\" y1=\"" << yy << "\" x2=\"" << left + pw << "\" y2=\"" << yy
      << "\" stroke=\"#ddd\"/>\n<text x=\"" << left - 6 << "\" y=\"" << yy + 4 << "\" text-anchor=\"end\">"
      << format_tick(v) << "</text>\n";
  }
  std::vector<double> xt;
  for (const auto& s : p.series) xt.insert(xt.end(), s.x.begin(), s.x.end());
  std::sort(xt.begin(), xt.end());
  xt.erase(std::unique(xt.begin(), xt.end()), xt.end());
  if (xt.size() > 12 || xt.empty()) {
    xt.clear();
    for (int i = 0; i <= 5; ++i) xt.push_back(x0 + (x1 - x0) * i / 5.0);
  }
  for (double v : xt)
    o << "<line x1=\"" << X(v) << "\" y1=\"" << top + ph << "\" x2=\"" << X(v) << "\" y2=\"" << top + ph + 4
      << "\" stroke=\"black\"/>\n<text x=\"" << X(v) << "\" y=\"" << top + ph + 17 << "\" text-anchor=\"middle\">"
      << format_tick(v) << "</text>\n";
  o << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << pw << "\" height=\"" << ph
    << "\" fill=\"none\" stroke=\"black\"/>\n"
    << "<text x=\"" << left + pw / 2 << "\" y=\"" << p.height - 10 << "\" text-anchor=\"middle\">"
    << xml_escape(p.x_label) << "</text>\n"
    << "<text transform=\"translate(16," << top + ph / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
    << xml_escape(p.y_label) << "</text>\n";
  for (std::size_t i = 0; i < p.series.size(); ++i) {
    const PlotSeries& s = p.series[i];
    const std::string color = s.color.empty() ? palette[i % 7] : s.color;
    const std::size_t n = std::min(s.x.size(), s.y.size());
    o << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\" points=\"";
    for (std::size_t j = 0; j < n; ++j) o << (j ? " " : "") << X(s.x[j]) << "," << Y(s.y[j]);
    o << "\"/>\n";
    for (std::size_t j = 0; j < n; ++j)
      o << "<circle cx=\"" << X(s.x[j]) << "\" cy=\"" << Y(s.y[j]) << "\" r=\"3\" fill=\"" << color << "\"/>\n";
    const double ly = top + 10 + 18.0 * double(i);
    o << "<line x1=\"" << left + pw + 10 << "\" y1=\"" << ly << "\" x2=\"" << left + pw + 30 << "\" y2=\"" << ly
      << "\" stroke=\"" << color << "\" stroke-width=\"2\"/>\n<text x=\"" << left + pw + 34 << "\" y=\"" << ly + 4
      << "\">" << xml_escape(s.name) << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

}  // namespace vhmn::explain
