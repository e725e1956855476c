#include "rosetta/train/progress_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace rosetta {

namespace {

constexpr double kWidth = 900, kPanel = 260, kLeft = 70, kRight = 170, kTop = 30, kBottom = 36, kHeader = 40;

std::string fmt(const char* format, double a) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), format, a);
  return buffer;
}

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

// Round tick values in [lo, hi], about `count` of them: steps of 1, 2 or 5 times a power of ten.
std::vector<double> nice_ticks(double lo, double hi, int count) {
  const double raw = (hi - lo) / count;
  if (!(raw > 0)) return {lo};
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / power;
  const double step = power * (fraction < 1.5 ? 1 : fraction < 3.5 ? 2 : fraction < 7.5 ? 5 : 10);
  std::vector<double> ticks;
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    ticks.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  return ticks;
}

struct Line {
  const Series* series;
  std::string name, color;
  bool marker_only = false;  // a point apart from the run (final.ckpt): a ringed marker, no line
};

// One panel at vertical offset y0: frame, ticks, each series as a line with a
// marker at every point (a single point still shows), a legend on the right.
std::string panel(const std::vector<Line>& lines, double y0, const std::string& title, double max_step,
                  const char* tick_format) {
  const double w = kWidth - kLeft - kRight, h = kPanel - kTop - kBottom;
  std::string out = "<g transform=\"translate(0," + fmt("%.0f", y0) + ")\" font-family=\"sans-serif\">\n";
  out += "<text x=\"" + fmt("%.0f", kLeft) + "\" y=\"20\" font-size=\"14\">" + escape(title) + "</text>\n";
  out += "<rect x=\"" + fmt("%.0f", kLeft) + "\" y=\"" + fmt("%.0f", kTop) + "\" width=\"" + fmt("%.0f", w) +
         "\" height=\"" + fmt("%.0f", h) + "\" fill=\"none\" stroke=\"#888\"/>\n";
  double lo = INFINITY, hi = -INFINITY;
  for (const Line& l : lines)
    for (const auto& [x, y] : *l.series)
      if (std::isfinite(y)) lo = std::min(lo, y), hi = std::max(hi, y);
  if (!std::isfinite(lo)) {
    out += "<text x=\"" + fmt("%.0f", kLeft + w / 2 - 40) + "\" y=\"" + fmt("%.0f", kTop + h / 2) +
           "\" font-size=\"12\" fill=\"#888\">no points yet</text>\n";
    return out + "</g>\n";
  }
  const double pad = std::max((hi - lo) * 0.06, std::max(std::fabs(hi) * 0.02, 1e-9));
  lo -= pad, hi += pad;
  const auto px = [&](double x) { return kLeft + w * x / std::max(max_step, 1.0); };
  const auto py = [&](double y) { return kTop + h * (1 - (y - lo) / (hi - lo)); };
  for (const double v : nice_ticks(lo, hi, 4)) {
    out += "<line x1=\"" + fmt("%.0f", kLeft) + "\" x2=\"" + fmt("%.0f", kLeft + w) + "\" y1=\"" + fmt("%.1f", py(v)) +
           "\" y2=\"" + fmt("%.1f", py(v)) + "\" stroke=\"#eee\"/>\n";
    out += "<text x=\"" + fmt("%.0f", kLeft - 6) + "\" y=\"" + fmt("%.1f", py(v) + 4) +
           "\" font-size=\"11\" text-anchor=\"end\">" + fmt(tick_format, v) + "</text>\n";
  }
  for (const double step : nice_ticks(0, max_step, 5)) {
    out += "<text x=\"" + fmt("%.1f", px(step)) + "\" y=\"" + fmt("%.0f", kTop + h + 16) +
           "\" font-size=\"11\" text-anchor=\"middle\">" + fmt("%.0f", step) + "</text>\n";
  }
  out += "<text x=\"" + fmt("%.0f", kLeft + w / 2) + "\" y=\"" + fmt("%.0f", kTop + h + 32) +
         "\" font-size=\"11\" text-anchor=\"middle\" fill=\"#555\">updates</text>\n";
  for (size_t k = 0; k < lines.size(); ++k) {
    const Line& l = lines[k];
    if (l.series->empty()) continue;
    std::string points;  // the line through the points (none for a point apart)
    for (const auto& [x, y] : *l.series)
      if (std::isfinite(y)) points += fmt("%.1f", px(x)) + "," + fmt("%.1f", py(y)) + " ";
    if (!l.marker_only)
      out += "<polyline fill=\"none\" stroke=\"" + l.color + "\" stroke-width=\"1.5\" points=\"" + points + "\"/>\n";
    const double r = l.marker_only ? 5 : l.series->size() > 60 ? 1.5 : 3;
    const std::string paint = l.marker_only ? "fill=\"white\" stroke=\"" + l.color + "\" stroke-width=\"2.5\""
                                            : "fill=\"" + l.color + "\"";
    for (const auto& [x, y] : *l.series)
      if (std::isfinite(y))
        out += "<circle cx=\"" + fmt("%.1f", px(x)) + "\" cy=\"" + fmt("%.1f", py(y)) + "\" r=\"" + fmt("%.1f", r) +
               "\" " + paint + "><title>" + fmt("%.0f", x) + ": " + fmt("%.4g", y) + "</title></circle>\n";
    const double ly = kTop + 14 + 18 * static_cast<double>(k);
    out += "<rect x=\"" + fmt("%.0f", kLeft + w + 12) + "\" y=\"" + fmt("%.0f", ly - 9) + "\" width=\"12\" height=\"3\" fill=\"" +
           l.color + "\"/>\n<text x=\"" + fmt("%.0f", kLeft + w + 28) + "\" y=\"" + fmt("%.0f", ly - 4) +
           "\" font-size=\"11\">" + escape(l.name) + " " + fmt("%.3g", l.series->back().second) + "</text>\n";
  }
  return out + "</g>\n";
}

}  // namespace

std::string progress_svg(const ProgressData& d) {
  double max_step = 1;
  for (const auto* s : {&d.train_loss, &d.valid_loss, &d.valid_score, &d.learning_rate})
    if (!s->empty()) max_step = std::max(max_step, s->back().first);
  const double height = kHeader + 3 * kPanel;
  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt("%.0f", kWidth) + "\" height=\"" +
                    fmt("%.0f", height) + "\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  out += "<text x=\"" + fmt("%.0f", kLeft) + "\" y=\"26\" font-size=\"17\" font-family=\"sans-serif\" font-weight=\"bold\">" +
         escape(d.title) + "</text>\n";
  out += panel({{&d.train_loss, "train loss", "#1f77b4"}, {&d.valid_loss, "valid loss", "#ff7f0e"}}, kHeader,
               "loss (label-smoothed cross-entropy)", max_step, "%.2f");
  out += panel({{&d.valid_score, "valid " + d.score_name, "#d62728"},
                {&d.final_score, "final.ckpt", "#9467bd", /*marker_only=*/true}},
               kHeader + kPanel, "validation " + d.score_name,
               max_step, "%.3g");
  out += panel({{&d.learning_rate, "rate", "#2ca02c"}}, kHeader + 2 * kPanel, "learning rate", max_step,
               "%.1e");
  return out + "</svg>\n";
}

}  // namespace rosetta
