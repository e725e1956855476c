// A linear decay of the learning rate that reaches zero when train.max_time
// ends. The updates that fit are counted at the end of warm-up from the pace
// so far, then counted again halfway through what is left, from the pace
// since the last count, while that half is at least an eighth of the first
// plan. Warm-up runs slower than the rest (its shapes are new to the
// primitive cache), so one count left 6-8% of the budget unused. A new count
// decays from the rate reached so far, so the schedule stays continuous.
// Everything it decides is kept in checkpoints: a resumed run repeats an
// uninterrupted one's rates up to its next count, which reads the clock
// (given the same clock, bit for bit to the end; train.recount_schedule:
// false counts once, at the end of warm-up).
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace rosetta {

class TimePlan {
 public:
  bool planned() const { return end_ > 0; }
  int64_t end() const { return end_; }
  // Whether update `step` (the first plan after warm-up aside) counts again.
  bool recount_due(int64_t step) const;
  // The end the pace since the last count gives: `elapsed` seconds after
  // update `step`, keeping 3% of what is left of `budget` and 1% of all of
  // it for the pace's drift and a validation the last window did not hold
  // (with 3% of what was left alone, the last count overshot by 0.2-0.4%).
  int64_t proposed_end(int64_t step, double elapsed, double budget) const;
  // Continues the schedule from update `step` to zero at `end`.
  void count(int64_t step, double elapsed, int64_t end);
  // The rate before update `step` (after the first count), a fraction of the peak.
  double fraction(int64_t step) const;

  void store(std::map<std::string, std::string>& texts) const;
  // `first_start`: where checkpoints from before recounting began their decay (the warm-up's end).
  void restore(const std::map<std::string, std::string>& texts, int64_t first_start);

 private:
  int64_t start_ = 0;           // the update the current count was made at
  double start_fraction_ = 1;   // the rate there
  double start_elapsed_ = 0;    // seconds elapsed there: the next pace is measured from here
  int64_t end_ = 0;             // where the rate reaches zero; 0 until counted
  int64_t min_window_ = 0;      // no recount from fewer updates than this; 0: none
};

}  // namespace rosetta
