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
  // 100 updates in 200 s of a 1,036 s budget: 836 s left, of which 0.97 x 836 - 10.36 = 800.56 s
  // are planned, at 2 s an update: 100 + 400 = 500.
  EXPECT_EQ(plan.proposed_end(100, 200, 1036), 500);
  plan.count(100, 200, 500);
  EXPECT_EQ(plan.fraction(100), 1.0);
  EXPECT_FALSE(plan.recount_due(299));
  ASSERT_TRUE(plan.recount_due(300));  // halfway
  // 200 updates in 200 s since: 1 s an update; 636 s left: 0.97 x 636 - 10.36 = 606.56.
  EXPECT_EQ(plan.proposed_end(300, 400, 1036), 300 + 606);
  plan.count(300, 400, 906);
  EXPECT_NEAR(plan.fraction(300), 0.5, 1e-15);
  EXPECT_NEAR(plan.fraction(603), 0.25, 1e-15);
  EXPECT_TRUE(plan.recount_due(603));  // halfway again
  EXPECT_EQ(plan.fraction(906), 0.0);
  // With nothing usable left, the end is now.
  EXPECT_EQ(plan.proposed_end(900, 1030, 1036), 900);
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
