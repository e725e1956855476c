#include "rosetta/train/progress_plot.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace rosetta {

namespace {

constexpr double kWidth = 900, kHeight = 320, kLeft = 60, kRight = 20, kTop = 30, kBottom = 40;

std::string fmt(const char* format, double a) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), format, a);
  return buffer;
}

// One panel at vertical offset y0: axes, ticks, a polyline and a title.
std::string panel(const Series& s, double y0, const std::string& title, const std::string& color, double max_step) {
  std::string out = "<g transform=\"translate(0," + fmt("%.0f", y0) + ")\">\n";
  out += "<text x=\"" + fmt("%.0f", kLeft) + "\" y=\"20\" font-size=\"14\" font-family=\"sans-serif\">" + title + "</text>\n";
  const double w = kWidth - kLeft - kRight, h = kHeight - kTop - kBottom;
  out += "<rect x=\"" + fmt("%.0f", kLeft) + "\" y=\"" + fmt("%.0f", kTop) + "\" width=\"" + fmt("%.0f", w) +
         "\" height=\"" + fmt("%.0f", h) + "\" fill=\"none\" stroke=\"#888\"/>\n";
  if (s.empty()) return out + "</g>\n";
  double lo = s.front().second, hi = lo;
  for (const auto& [x, y] : s) lo = std::min(lo, y), hi = std::max(hi, y);
  if (hi - lo < 1e-9) hi = lo + 1;
  auto px = [&](double x) { return kLeft + w * x / std::max(max_step, 1.0); };
  auto py = [&](double y) { return kTop + h * (1 - (y - lo) / (hi - lo)); };
  for (int i = 0; i <= 4; ++i) {
    const double v = lo + (hi - lo) * i / 4;
    out += "<text x=\"5\" y=\"" + fmt("%.1f", py(v) + 4) + "\" font-size=\"11\" font-family=\"sans-serif\">" +
           fmt("%.2f", v) + "</text>\n";
  }
  for (int i = 0; i <= 4; ++i) {
    const double step = max_step * i / 4;
    out += "<text x=\"" + fmt("%.1f", px(step) - 10) + "\" y=\"" + fmt("%.0f", kTop + h + 16) +
           "\" font-size=\"11\" font-family=\"sans-serif\">" + fmt("%.0f", step) + "</text>\n";
  }
  out += "<polyline fill=\"none\" stroke=\"" + color + "\" stroke-width=\"1.5\" points=\"";
  for (const auto& [x, y] : s) out += fmt("%.1f", px(x)) + "," + fmt("%.1f", py(y)) + " ";
  out += "\"/>\n</g>\n";
  return out;
}

}  // namespace

std::string progress_svg(const Series& train_loss, const Series& valid_bleu) {
  double max_step = 1;
  for (const auto* s : {&train_loss, &valid_bleu})
    if (!s->empty()) max_step = std::max(max_step, s->back().first);
  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt("%.0f", kWidth) + "\" height=\"" +
                    fmt("%.0f", 2 * kHeight) + "\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  out += panel(train_loss, 0, "training loss (label-smoothed) by step", "#1f77b4", max_step);
  out += panel(valid_bleu, kHeight, "validation BLEU by step", "#d62728", max_step);
  return out + "</svg>\n";
}

}  // namespace rosetta
