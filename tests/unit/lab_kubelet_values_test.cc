// The values the lab writes into its pods' cgroups, on numbers worked out by hand from the
// kubelet's formulas (pkg/kubelet/cm: MilliCPUToShares, CpuSharesToCpuWeight, MilliCPUToQuota).
#include <gtest/gtest.h>

#include "lab/kubelet_values.h"

namespace podmeter::lab {
namespace {

TEST(KubeletValues, SharesFromTheCpuRequest) {
  EXPECT_EQ(MilliCpuToShares(std::nullopt), 2u);  // BestEffort: the kernel's minimum
  EXPECT_EQ(MilliCpuToShares(0), 2u);
  EXPECT_EQ(MilliCpuToShares(1), 2u);      // 1024/1000 = 1, raised to 2
  EXPECT_EQ(MilliCpuToShares(100), 102u);  // k8s/base: every app requests 100m
  EXPECT_EQ(MilliCpuToShares(250), 256u);
  EXPECT_EQ(MilliCpuToShares(500), 512u);
  EXPECT_EQ(MilliCpuToShares(1000), 1024u);
  EXPECT_EQ(MilliCpuToShares(1001), 1025u);  // 1025.024, truncated
  EXPECT_EQ(MilliCpuToShares(256000), 262144u);
  EXPECT_EQ(MilliCpuToShares(300000), 262144u);  // the kernel's maximum
}

TEST(KubeletValues, WeightFromShares) {
  // 1 + (shares - 2) * 9999 / 262142, integer division.
  EXPECT_EQ(CpuSharesToWeight(2), 1u);
  EXPECT_EQ(CpuSharesToWeight(3), 1u);      // 9999 / 262142 = 0
  EXPECT_EQ(CpuSharesToWeight(102), 4u);    // 100m: 999900 / 262142 = 3.81
  EXPECT_EQ(CpuSharesToWeight(256), 10u);   // 250m: 9.69
  EXPECT_EQ(CpuSharesToWeight(512), 20u);   // 500m: 19.45
  EXPECT_EQ(CpuSharesToWeight(1024), 39u);  // one core: 38.98, not v2's default 100
  EXPECT_EQ(CpuSharesToWeight(2048), 79u);
  EXPECT_EQ(CpuSharesToWeight(262143), 9999u);
  EXPECT_EQ(CpuSharesToWeight(262144), 10000u);
  EXPECT_EQ(CpuSharesToWeight(0), 1u);  // out of range: clamped, never below 1
  EXPECT_EQ(CpuSharesToWeight(1u << 20), 10000u);
  EXPECT_EQ(CpuSharesToWeight(MilliCpuToShares(std::nullopt)), 1u);
}

TEST(KubeletValues, QuotaFromTheCpuLimit) {
  EXPECT_EQ(MilliCpuToQuota(500, 100000), 50000);
  EXPECT_EQ(MilliCpuToQuota(50, 100000), 5000);  // the squeeze
  EXPECT_EQ(MilliCpuToQuota(2500, 100000), 250000);
  EXPECT_EQ(MilliCpuToQuota(5, 100000), 1000);  // 500 µs, raised to the kernel's 1 ms
  EXPECT_EQ(MilliCpuToQuota(std::nullopt, 100000), std::nullopt);
  EXPECT_EQ(MilliCpuToQuota(0, 100000), std::nullopt);
  EXPECT_EQ(CpuMaxValue(500), "50000 100000");
  EXPECT_EQ(CpuMaxValue(std::nullopt), "max 100000");
  EXPECT_EQ(CpuMaxValue(1), "1000 100000");
}

}  // namespace
}  // namespace podmeter::lab
