#include "collectors/readers/pids_stat.h"

#include <gtest/gtest.h>

namespace podmeter {
namespace {

TEST(ParsePidsMax, MaxAndNumber) {
  auto unlimited = ParsePidsMax("max\n");
  ASSERT_TRUE(unlimited.ok());
  EXPECT_FALSE(unlimited->has_value());
  auto limit = ParsePidsMax("4096\n");
  ASSERT_TRUE(limit.ok());
  EXPECT_EQ(**limit, 4096u);
  EXPECT_FALSE(ParsePidsMax("lots\n").ok());
}

}  // namespace
}  // namespace podmeter
