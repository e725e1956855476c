#include "rosetta/train/time_plan.h"

#include <algorithm>

#include "rosetta/json.h"

namespace rosetta {

bool TimePlan::recount_due(int64_t step) const {
  const int64_t half = (end_ - start_) / 2;
  return planned() && min_window_ > 0 && half >= min_window_ && step == start_ + half;
}

int64_t TimePlan::proposed_end(int64_t step, double elapsed, double budget) const {
  const double per_update = (elapsed - start_elapsed_) / static_cast<double>(std::max<int64_t>(step - start_, 1));
  const double usable = std::max(0.0, 0.97 * (budget - elapsed) - 0.01 * budget);
  return step + static_cast<int64_t>(std::min(usable / std::max(per_update, 1e-9), 1e15));  // a stalled clock stays finite
}

void TimePlan::count(int64_t step, double elapsed, int64_t end) {
  if (planned()) {
    start_fraction_ = fraction(step);
  } else {
    start_fraction_ = 1;
    min_window_ = (end - step) / 8;
  }
  start_ = step;
  start_elapsed_ = elapsed;
  end_ = std::max(end, step);
}

double TimePlan::fraction(int64_t step) const {
  if (end_ <= start_) return 0;
  return start_fraction_ * std::max(0.0, static_cast<double>(end_ - step) / static_cast<double>(end_ - start_));
}

void TimePlan::store(std::map<std::string, std::string>& texts) const {
  texts["state/planned_updates"] = std::to_string(end_);
  texts["state/schedule/start"] = std::to_string(start_);
  texts["state/schedule/start_fraction"] = json_line(start_fraction_);
  texts["state/schedule/start_elapsed"] = json_line(start_elapsed_);
  texts["state/schedule/min_window"] = std::to_string(min_window_);
}

void TimePlan::restore(const std::map<std::string, std::string>& texts, int64_t first_start) {
  const auto text = [&](const char* key) {
    const auto it = texts.find(key);
    return it == texts.end() ? std::string() : it->second;
  };
  *this = TimePlan();
  if (!text("state/planned_updates").empty()) end_ = std::stoll(text("state/planned_updates"));
  if (text("state/schedule/start").empty()) {  // counted once, at the end of warm-up
    start_ = end_ > 0 ? first_start : 0;
    return;
  }
  start_ = std::stoll(text("state/schedule/start"));
  start_fraction_ = std::stod(text("state/schedule/start_fraction"));
  start_elapsed_ = std::stod(text("state/schedule/start_elapsed"));
  min_window_ = std::stoll(text("state/schedule/min_window"));
}

}  // namespace rosetta
