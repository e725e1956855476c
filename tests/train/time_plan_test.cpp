// TimePlan's arithmetic by hand; the run-level behaviour (recounts, resume)
// is tested in run_outputs_test.cpp.
#include "rosetta/train/time_plan.h"

#include <gtest/gtest.h>

namespace rosetta {
namespace {

TEST(TimePlan, ACheckpointCountedOnceKeepsItsSchedule) {
  // Written before recounting: only the end, the decay starting at the warm-up's end (5).
  TimePlan plan;
  plan.restore({{"state/planned_updates", "38"}}, 5);
  ASSERT_TRUE(plan.planned());
  EXPECT_NEAR(plan.fraction(37), 1.0 / 33, 1e-15);
  EXPECT_EQ(plan.fraction(38), 0.0);
  for (int64_t step = 6; step < 38; ++step) EXPECT_FALSE(plan.recount_due(step)) << step;
  TimePlan none;
  none.restore({}, 5);
  EXPECT_FALSE(none.planned());
}

TEST(TimePlan, RecountsFromThePaceSinceTheLastCountAndKeepsTheRate) {
  TimePlan plan;
  // 100 updates in 200 s of a 1,000 s budget: 100 + floor(0.97 x 800 / 2) = 488.
  EXPECT_EQ(plan.proposed_end(100, 200, 1000), 488);
  plan.count(100, 200, 488);
  EXPECT_EQ(plan.fraction(100), 1.0);
  EXPECT_FALSE(plan.recount_due(293));
  ASSERT_TRUE(plan.recount_due(294));  // halfway: 100 + 388 / 2
  // 194 updates in 194 s since: 1 s an update, 606 s left.
  EXPECT_EQ(plan.proposed_end(294, 394, 1000), 294 + 587);
  plan.count(294, 394, 881);
  EXPECT_NEAR(plan.fraction(294), 0.5, 1e-15);
  EXPECT_NEAR(plan.fraction(587), 0.5 * 294 / 587, 1e-15);
  EXPECT_TRUE(plan.recount_due(587));  // halfway again: 294 + 587 / 2
  EXPECT_EQ(plan.fraction(881), 0.0);
  // Stored and restored, the same schedule.
  std::map<std::string, std::string> texts;
  plan.store(texts);
  TimePlan back;
  back.restore(texts, 0);
  for (int64_t step = 294; step <= 900; ++step) {
    ASSERT_EQ(back.fraction(step), plan.fraction(step)) << step;
    ASSERT_EQ(back.recount_due(step), plan.recount_due(step)) << step;
  }
}

}  // namespace
}  // namespace rosetta
