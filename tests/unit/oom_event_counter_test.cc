#include "tracking/oom_event_counter.h"

#include <gtest/gtest.h>

namespace podmeter {
namespace {

MemoryEvents Events(uint64_t oom_kill, std::optional<uint64_t> group) {
  MemoryEvents e;
  e.oom_kill = oom_kill;
  e.oom_group_kill = group;
  return e;
}

TEST(OomEventCounter, GroupKillOfFiveProcessesCountsOne) {
  OomEventCounter c;
  c.Update({{"pod", "a", Events(0, 0), true}});
  EXPECT_EQ(c.PodEvents("pod", Events(0, 0)), 0u);
  c.Update({{"pod", "a", Events(6, 1), true}});  // Linux 6.1: 5 processes, oom_kill 6
  EXPECT_EQ(c.PodEvents("pod", Events(6, 1)), 1u);
}

TEST(OomEventCounter, KeptAfterTheContainerIsRemovedAndReplaced) {
  OomEventCounter c;
  c.Update({{"pod", "a", Events(6, 1), true}});
  c.Update({{"pod", "b", Events(0, 0), true}});  // a's cgroup is gone, b replaces it
  EXPECT_EQ(c.PodEvents("pod", Events(6, 1)), 1u);
  c.Update({{"pod", "b", Events(2, 1), true}});
  EXPECT_EQ(c.PodEvents("pod", Events(8, 2)), 2u);
  c.Forget("pod");
  EXPECT_EQ(c.PodEvents("pod", std::nullopt), 0u);
}

TEST(OomEventCounter, ContainerRemovedBeforeAnySampleSawItsKill) {
  OomEventCounter c;
  c.Update({{"pod", "a", Events(0, 0), true}});
  c.Update({});  // killed and removed between two samples: the pod's own memory.events has it
  EXPECT_EQ(c.PodEvents("pod", Events(6, 1)), 1u);
}

TEST(OomEventCounter, WithoutOomGroupEveryKillIsAnEvent) {
  OomEventCounter c;
  c.Update({{"pod", "a", Events(2, 0), false}, {"pod", "b", Events(6, 1), true}});
  EXPECT_EQ(c.PodEvents("pod", Events(8, 1)), 3u);
}

TEST(OomEventCounter, KernelsWithoutGroupKillCountRisesOfOomKill) {
  OomEventCounter c;
  c.Update({{"pod", "a", Events(0, std::nullopt), true}});
  c.Update({{"pod", "a", Events(5, std::nullopt), true}});
  c.Update({{"pod", "a", Events(5, std::nullopt), true}});
  EXPECT_EQ(c.PodEvents("pod", Events(5, std::nullopt)), 1u);
  c.Update({{"pod", "a", Events(9, std::nullopt), true}});
  EXPECT_EQ(c.PodEvents("pod", Events(9, std::nullopt)), 2u);
  c.Update({{"pod", "new", Events(3, std::nullopt), true}});  // first seen after kills
  EXPECT_EQ(c.PodEvents("pod", std::nullopt), 3u);
  EXPECT_EQ(c.PodEvents("other", std::nullopt), 0u);
}

// Without memory.oom.group (the kubelet's singleProcessOOMKill, or before 1.28) one OOM kills one
// process: a container killed and removed between two samples is in the pod's memory.events only.
TEST(OomEventCounter, KilledAfterItsOnlySampleWithoutOomGroup) {
  OomEventCounter c;
  c.Update({{"pod", "a", Events(0, 0), false}});
  c.Update({});  // a was OOM-killed ~0.1 s after it started and removed 0.2 s later
  EXPECT_EQ(c.PodEvents("pod", Events(1, 0)), 1u);
  EXPECT_EQ(c.UnaccountedPodEvents("pod", Events(1, 0)), 1u);
}

TEST(OomEventCounter, NeverSeenContainersCountFromThePodsEvents) {
  OomEventCounter c;
  EXPECT_EQ(c.PodEvents("pod", Events(1, 0)), 1u);             // one process, no group
  EXPECT_EQ(c.PodEvents("pod", Events(6, 1)), 1u);             // one group kill of 5 (6.1)
  EXPECT_EQ(c.PodEvents("pod", Events(2, std::nullopt)), 2u);  // before 5.17: one per kill
  // Once the container is read, its own count replaces the pod's residue (no double count).
  c.Update({{"pod", "a", Events(1, 0), false}});
  EXPECT_EQ(c.PodEvents("pod", Events(1, 0)), 1u);
  EXPECT_EQ(c.UnaccountedPodEvents("pod", Events(1, 0)), 0u);
}

}  // namespace
}  // namespace podmeter
