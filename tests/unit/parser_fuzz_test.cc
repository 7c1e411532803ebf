// Bounded, deterministic fuzzing of every parser: random bytes and mutations of valid inputs must
// never crash, hang or trip the sanitizers, and must never return Ok with garbage numbers.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "collectors/cgroupfs/kubepods_path.h"
#include "collectors/cgroupfs/mountinfo.h"
#include "collectors/readers/cpu_stat.h"
#include "collectors/readers/memory_stat.h"

namespace podmeter {
namespace {

const std::vector<std::string> kSeeds = {
    "nr_periods 5012\nnr_throttled 4870\nthrottled_time 231894220531\n",
    "user 2530\nsystem 470\n",
    "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 4\n",
    "50000 100000\n",
    "max\n",
    "total_rss 60\ntotal_cache 30\ntotal_inactive_file 10\n",
    "anon 1\nfile 2\ninactive_file 3\n",
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n",
    "kubepods/burstable/pod7d2e4b18-93a5-4f0c-b8d6-1e5c7a9f3b20/" + std::string(64, 'a'),
};

std::string Mutate(std::string s, std::mt19937& rng) {
  std::uniform_int_distribution<int> op(0, 3);
  std::uniform_int_distribution<int> byte(0, 255);
  int n = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < n; ++i) {
    size_t pos = s.empty() ? 0 : rng() % s.size();
    switch (op(rng)) {
      case 0:
        if (!s.empty()) s[pos] = static_cast<char>(byte(rng));
        break;
      case 1:
        s.insert(pos, 1, static_cast<char>(byte(rng)));
        break;
      case 2:
        if (!s.empty()) s.erase(pos, 1 + rng() % 8);
        break;
      default:
        s.insert(pos, std::to_string(rng()) + std::to_string(rng()));  // overflow candidates
        break;
    }
  }
  return s;
}

TEST(ParserFuzz, NoCrashOnMutatedInputs) {
  std::mt19937 rng(20261123);
  for (int i = 0; i < 20000; ++i) {
    std::string in = Mutate(kSeeds[rng() % kSeeds.size()], rng);
    CpuSample c;
    MemorySample m;
    (void)ParseCpuStatV1(in, &c);
    (void)ParseCpuacctStat(in, 100, &c);
    (void)ParseCpuacctUsage(in, &c);
    (void)ParseCpuStatV2(in, &c);
    (void)ParseCpuMax(in);
    (void)ParseCfsQuota(in, in);
    (void)ParseMemoryV1(in, in, &m);
    (void)ParseMemoryV2(in, in, &m);
    (void)ParseMemoryLimitV1(in);
    (void)ParseMemoryMax(in);
    auto mi = ParseMountInfo(in);
    if (mi.ok()) (void)SelectCgroupMounts(*mi, "/sys/fs/cgroup");
    (void)ParseKubepodsPath(in);
  }
}

TEST(ParserFuzz, OverflowingNumbersAreRejected) {
  CpuSample c;
  EXPECT_FALSE(ParseCpuacctUsage("99999999999999999999999\n", &c).ok());
  EXPECT_FALSE(ParseCpuMax("99999999999999999999999 100000\n").ok());
}

}  // namespace
}  // namespace podmeter
