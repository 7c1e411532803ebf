#include "collectors/readers/pressure_stat.h"

#include <gtest/gtest.h>

namespace podmeter {
namespace {

// A throttled busy loop's cpu.pressure (Linux 6.1 in tests/vm).
TEST(ParsePressure, SomeAndFullTotalsInSeconds) {
  auto p = ParsePressure(
      "some avg10=43.52 avg60=19.55 avg300=4.85 total=14034346\n"
      "full avg10=31.70 avg60=16.87 avg300=4.27 total=12499977\n");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_DOUBLE_EQ(p->some_seconds, 14.034346);
  EXPECT_DOUBLE_EQ(p->full_seconds, 12.499977);
}

TEST(ParsePressure, NoFullLineIsZero) {
  auto p = ParsePressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=7\n");
  ASSERT_TRUE(p.ok());
  EXPECT_DOUBLE_EQ(p->some_seconds, 7e-6);
  EXPECT_EQ(p->full_seconds, 0);
}

TEST(ParsePressure, RejectsMalformed) {
  EXPECT_FALSE(ParsePressure("").ok());
  EXPECT_FALSE(ParsePressure("some avg10=0.00 total=x\n").ok());
  EXPECT_FALSE(ParsePressure("full avg10=0.00 total=1\n").ok());
}

}  // namespace
}  // namespace podmeter
