#include "collectors/readers/cpu_stat.h"

#include <gtest/gtest.h>

#include "collectors/base/file_util.h"

namespace podmeter {
namespace {

TEST(ParseCpuStatV1, ReadsThrottling) {
  CpuSample s;
  ASSERT_TRUE(
      ParseCpuStatV1("nr_periods 5012\nnr_throttled 4870\nthrottled_time 231894220531\n", &s).ok());
  EXPECT_EQ(s.cfs_periods, 5012u);
  EXPECT_EQ(s.cfs_throttled_periods, 4870u);
  EXPECT_DOUBLE_EQ(s.cfs_throttled_seconds, 231.894220531);
}

TEST(ParseCpuStatV1, AcceptsNewerKernelKeys) {
  CpuSample s;
  EXPECT_TRUE(ParseCpuStatV1(
                  "nr_periods 1\nnr_throttled 0\nthrottled_time 0\nnr_bursts 0\nburst_time 0\n", &s)
                  .ok());
}

TEST(ParseCpuStatV1, RejectsMissingKeyAndGarbage) {
  CpuSample s;
  EXPECT_FALSE(ParseCpuStatV1("nr_periods 1\nnr_throttled 0\n", &s).ok());
  EXPECT_FALSE(ParseCpuStatV1("nr_periods x\nnr_throttled 0\nthrottled_time 0\n", &s).ok());
  EXPECT_FALSE(ParseCpuStatV1("", &s).ok());
}

TEST(ParseCpuStatV1, RejectsALineOfOneOrThreeFieldsAndTakesAKeysFirstLine) {
  CpuSample s;
  EXPECT_FALSE(ParseCpuStatV1("nr_periods 1 2\nnr_throttled 0\nthrottled_time 0\n", &s).ok());
  EXPECT_FALSE(ParseCpuStatV1("nr_periods\nnr_throttled 0\nthrottled_time 0\n", &s).ok());
  EXPECT_FALSE(ParseCpuStatV1("nr_periods -1\nnr_throttled 0\nthrottled_time 0\n", &s).ok());
  ASSERT_TRUE(
      ParseCpuStatV1(" nr_periods\t7 \nnr_throttled 3\nnr_periods 9\nthrottled_time 5", &s).ok());
  EXPECT_EQ(s.cfs_periods, 7u);
  EXPECT_EQ(s.cfs_throttled_periods, 3u);
  EXPECT_DOUBLE_EQ(s.cfs_throttled_seconds, 5e-9);
}

TEST(NextLine, TakesEachLineAndTheLastWithoutItsNewline) {
  std::string_view text = "a 1\n\nb 2", line;
  std::vector<std::string_view> lines;
  while (NextLine(&text, &line)) lines.push_back(line);
  EXPECT_EQ(lines, (std::vector<std::string_view>{"a 1", "", "b 2"}));
  text = "x\n";
  ASSERT_TRUE(NextLine(&text, &line));
  EXPECT_EQ(line, "x");
  EXPECT_FALSE(NextLine(&text, &line));
}

TEST(ParseCpuacctStat, ConvertsTicks) {
  CpuSample s;
  ASSERT_TRUE(ParseCpuacctStat("user 2530\nsystem 470\n", 100, &s).ok());
  EXPECT_DOUBLE_EQ(s.user_seconds, 25.3);
  EXPECT_DOUBLE_EQ(s.system_seconds, 4.7);
  EXPECT_FALSE(ParseCpuacctStat("user 1\n", 100, &s).ok());
  EXPECT_FALSE(ParseCpuacctStat("user 1\nsystem 2\n", 0, &s).ok());
}

TEST(ParseCpuacctUsage, Nanoseconds) {
  CpuSample s;
  ASSERT_TRUE(ParseCpuacctUsage("1500000000\n", &s).ok());
  EXPECT_DOUBLE_EQ(s.usage_seconds, 1.5);
  EXPECT_FALSE(ParseCpuacctUsage("-1\n", &s).ok());
  EXPECT_FALSE(ParseCpuacctUsage("", &s).ok());
}

TEST(ParseCpuStatV2, FullController) {
  CpuSample s;
  ASSERT_TRUE(ParseCpuStatV2("usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n"
                             "core_sched.force_idle_usec 0\nnr_periods 40\nnr_throttled 7\n"
                             "throttled_usec 350000\nnr_bursts 0\nburst_usec 0\n",
                             &s)
                  .ok());
  EXPECT_DOUBLE_EQ(s.usage_seconds, 2.5);
  EXPECT_DOUBLE_EQ(s.user_seconds, 2.0);
  EXPECT_DOUBLE_EQ(s.system_seconds, 0.5);
  EXPECT_EQ(s.cfs_periods, 40u);
  EXPECT_EQ(s.cfs_throttled_periods, 7u);
  EXPECT_DOUBLE_EQ(s.cfs_throttled_seconds, 0.35);
}

TEST(ParseCpuStatV2, WithoutCpuControllerHasNoThrottling) {
  CpuSample s;
  ASSERT_TRUE(ParseCpuStatV2("usage_usec 10\nuser_usec 6\nsystem_usec 4\n", &s).ok());
  EXPECT_EQ(s.cfs_periods, 0u);
  EXPECT_FALSE(ParseCpuStatV2("user_usec 6\nsystem_usec 4\n", &s).ok());
}

TEST(ParseCpuMax, QuotaAndMax) {
  auto limited = ParseCpuMax("50000 100000\n");
  ASSERT_TRUE(limited.ok());
  ASSERT_TRUE(limited->has_value());
  EXPECT_DOUBLE_EQ(**limited, 0.5);
  auto unlimited = ParseCpuMax("max 100000\n");
  ASSERT_TRUE(unlimited.ok());
  EXPECT_FALSE(unlimited->has_value());
  EXPECT_FALSE(ParseCpuMax("max\n").ok());
  EXPECT_FALSE(ParseCpuMax("5000 0\n").ok());
  EXPECT_FALSE(ParseCpuMax("").ok());
}

TEST(ParseCfsQuota, V1Files) {
  auto limited = ParseCfsQuota("5000\n", "100000\n");
  ASSERT_TRUE(limited.ok());
  EXPECT_DOUBLE_EQ(**limited, 0.05);
  auto unlimited = ParseCfsQuota("-1\n", "100000\n");
  ASSERT_TRUE(unlimited.ok());
  EXPECT_FALSE(unlimited->has_value());
  EXPECT_FALSE(ParseCfsQuota("abc", "100000").ok());
  EXPECT_FALSE(ParseCfsQuota("5000", "0").ok());
}

}  // namespace
}  // namespace podmeter
