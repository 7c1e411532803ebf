#include "collectors/readers/memory_stat.h"

#include <gtest/gtest.h>

namespace podmeter {
namespace {

// A container's memory.stat on cgroup v1 (abridged from a real one).
constexpr char kV1Stat[] =
    "cache 4194304\nrss 67371008\nrss_huge 0\nshmem 0\nmapped_file 0\ninactive_file 1048576\n"
    "hierarchical_memory_limit 134217728\ntotal_cache 4194304\ntotal_rss 67371008\n"
    "total_rss_huge 0\ntotal_inactive_anon 0\ntotal_active_anon 67371008\n"
    "total_inactive_file 2097152\ntotal_active_file 2097152\n";

TEST(ParseMemoryV1, UsesHierarchicalTotals) {
  MemorySample m;
  ASSERT_TRUE(ParseMemoryV1("72000000\n", kV1Stat, &m).ok());
  EXPECT_EQ(m.usage_bytes, 72000000u);
  EXPECT_EQ(m.rss_bytes, 67371008u);
  EXPECT_EQ(m.cache_bytes, 4194304u);
  EXPECT_EQ(m.working_set_bytes, 72000000u - 2097152u);  // total_inactive_file, not inactive_file
}

TEST(ParseMemoryV1, PodLevelOwnCountersAreZero) {
  MemorySample m;
  ASSERT_TRUE(
      ParseMemoryV1("100\n",
                    "rss 0\ncache 0\ntotal_rss 60\ntotal_cache 30\ntotal_inactive_file 10\n", &m)
          .ok());
  EXPECT_EQ(m.rss_bytes, 60u);
  EXPECT_EQ(m.working_set_bytes, 90u);
}

TEST(ParseMemoryV1, WorkingSetNeverNegative) {
  MemorySample m;
  ASSERT_TRUE(
      ParseMemoryV1("100\n", "total_rss 1\ntotal_cache 500\ntotal_inactive_file 400\n", &m).ok());
  EXPECT_EQ(m.working_set_bytes, 0u);
}

TEST(ParseMemoryV1, MissingKeyIsAnError) {
  MemorySample m;
  EXPECT_FALSE(ParseMemoryV1("100\n", "total_rss 1\ntotal_cache 5\n", &m).ok());
  EXPECT_FALSE(ParseMemoryV1("x\n", kV1Stat, &m).ok());
  EXPECT_FALSE(
      ParseMemoryV1("100\n", "total_rss_huge 1\ntotal_cache 5\ntotal_inactive_file 1\n", &m).ok());
}

TEST(ParseMemoryV2, AnonFileInactive) {
  MemorySample m;
  ASSERT_TRUE(ParseMemoryV2("50000000\n",
                            "anon 40000000\nfile 9000000\nkernel 100\nfile_mapped 5\nfile_dirty 0\n"
                            "inactive_anon 0\nactive_anon 40000000\ninactive_file 3000000\n"
                            "active_file 6000000\n",
                            &m)
                  .ok());
  EXPECT_EQ(m.rss_bytes, 40000000u);
  EXPECT_EQ(m.cache_bytes, 9000000u);
  EXPECT_EQ(m.working_set_bytes, 47000000u);
}

TEST(ParseMemoryV2, KeepsAnonFileShmemAsTheyAre) {
  MemorySample m;
  ASSERT_TRUE(ParseMemoryV2("101134336\n",
                            "anon 100790272\nfile 4096\nkernel 339968\nshmem 4096\n"
                            "inactive_anon 100786176\nactive_anon 8192\ninactive_file 0\n",
                            &m)
                  .ok());
  EXPECT_EQ(m.anon_bytes, 100790272u);
  EXPECT_EQ(m.file_bytes, 4096u);
  EXPECT_EQ(m.shmem_bytes, 4096u);
  MemorySample no_shmem;
  ASSERT_TRUE(ParseMemoryV2("10\n", "anon 1\nfile 2\ninactive_file 0\n", &no_shmem).ok());
  EXPECT_FALSE(no_shmem.shmem_bytes.has_value());
}

// memory.events of a 5-process memory.oom.group container after one OOM (Linux 6.1, tests/vm).
TEST(ParseMemoryEvents, RealLinux61GroupKill) {
  auto e = ParseMemoryEvents("low 0\nhigh 0\nmax 18\noom 1\noom_kill 6\noom_group_kill 1\n");
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->high, 0u);
  EXPECT_EQ(e->max, 18u);
  EXPECT_EQ(e->oom_kill, 6u);
  EXPECT_EQ(e->oom_group_kill, 1u);
}

TEST(ParseMemoryEvents, KernelsBefore517HaveNoGroupKill) {
  auto e = ParseMemoryEvents("low 0\nhigh 34\nmax 0\noom 0\noom_kill 0\n");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->high, 34u);
  EXPECT_FALSE(e->oom_group_kill.has_value());
  auto bad = ParseMemoryEvents("low 0\nhigh x\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "memory.events: bad value for 'high'");
  EXPECT_FALSE(ParseMemoryEvents("low 0\n").ok());
}

TEST(ParseMemoryLimits, V1UnlimitedAndV2Max) {
  auto v1 = ParseMemoryLimitV1("9223372036854771712\n");
  ASSERT_TRUE(v1.ok());
  EXPECT_FALSE(v1->has_value());
  auto v1l = ParseMemoryLimitV1("33554432\n");
  ASSERT_TRUE(v1l.ok());
  EXPECT_EQ(**v1l, 33554432u);
  auto v2 = ParseMemoryMax("max\n");
  ASSERT_TRUE(v2.ok());
  EXPECT_FALSE(v2->has_value());
  auto v2l = ParseMemoryMax("268435456\n");
  ASSERT_TRUE(v2l.ok());
  EXPECT_EQ(**v2l, 268435456u);
  EXPECT_FALSE(ParseMemoryMax("").ok());
  EXPECT_FALSE(ParseMemoryMax("12 34\n").ok());
  EXPECT_FALSE(ParseMemoryLimitV1("max\n").ok());
}

TEST(OomParsers, V1AndV2) {
  EXPECT_EQ(*ParseOomControl("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"), 3u);
  EXPECT_TRUE(ParseOomControl("oom_kill_disable 0\nunder_oom 0\n").status().IsNotFound());
  EXPECT_FALSE(ParseOomControl("oom_kill x\n").ok());
  EXPECT_EQ(
      *ParseMemoryEventsOomKill("low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\noom_group_kill 0\n"), 1u);
}

}  // namespace
}  // namespace podmeter
