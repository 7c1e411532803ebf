#include "collectors/cgroupfs/mountinfo.h"

#include <gtest/gtest.h>

namespace podmeter {
namespace {

// This machine's layout: one mount per v1 controller plus an empty cgroup2 (hybrid).
constexpr char kHybrid[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

TEST(ParseMountInfo, Fields) {
  auto m = ParseMountInfo(kHybrid);
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->size(), 7u);
  EXPECT_EQ((*m)[1].mount_point, "/sys/fs/cgroup/cpu");
  EXPECT_EQ((*m)[1].fs_type, "cgroup");
  EXPECT_EQ((*m)[1].super_options, "rw,cpu");
  EXPECT_EQ((*m)[6].fs_type, "cgroup2");
}

TEST(ParseMountInfo, OptionalFieldsAndEscapes) {
  auto m = ParseMountInfo(
      "36 35 98:0 /mnt1 /mnt\\040two rw,noatime master:1 shared:2 - ext3 /dev/root "
      "rw,errors=continue\n");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)[0].mount_point, "/mnt two");
  EXPECT_EQ((*m)[0].root, "/mnt1");
  EXPECT_EQ((*m)[0].fs_type, "ext3");
}

TEST(ParseMountInfo, MalformedLineNamesIt) {
  auto m = ParseMountInfo("1 2 3\n");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("line 1"), std::string::npos);
}

TEST(SelectCgroupMounts, HybridPrefersV1) {
  auto m = ParseMountInfo(kHybrid);
  CgroupMounts c = SelectCgroupMounts(*m, "/sys/fs/cgroup");
  EXPECT_EQ(c.version, CgroupMounts::Version::kV1);
  EXPECT_EQ(c.v1.at("cpu"), "/sys/fs/cgroup/cpu");
  EXPECT_EQ(c.v1.at("cpuacct"), "/sys/fs/cgroup/cpuacct");
  EXPECT_EQ(c.v1.at("memory"), "/sys/fs/cgroup/memory");
  EXPECT_EQ(c.v1.count("name=systemd"), 0u);
}

TEST(SelectCgroupMounts, CombinedCpuCpuacctAndReroot) {
  auto m = ParseMountInfo(
      "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
      "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
  CgroupMounts c = SelectCgroupMounts(*m, "/fixture/sys/fs/cgroup/");
  EXPECT_EQ(c.version, CgroupMounts::Version::kV1);
  EXPECT_EQ(c.v1.at("cpu"), "/fixture/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(c.v1.at("cpuacct"), "/fixture/sys/fs/cgroup/cpu,cpuacct");
}

TEST(SelectCgroupMounts, DaemonSetHostMountUsedAsIs) {
  auto m = ParseMountInfo(
      "50 40 0:27 / /host/sys/fs/cgroup ro,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
      "51 40 0:27 / /sys/fs/cgroup ro,relatime - cgroup2 cgroup2 rw,nsdelegate\n");
  CgroupMounts c = SelectCgroupMounts(*m, "/host/sys/fs/cgroup");
  EXPECT_EQ(c.version, CgroupMounts::Version::kV2);
  EXPECT_EQ(c.unified, "/host/sys/fs/cgroup");
}

TEST(SelectCgroupMounts, PureV2AndNothing) {
  auto v2 = ParseMountInfo("31 25 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n");
  EXPECT_EQ(SelectCgroupMounts(*v2, "/sys/fs/cgroup").version, CgroupMounts::Version::kV2);
  auto none = ParseMountInfo("22 1 259:1 / / rw - ext4 /dev/root rw\n");
  EXPECT_EQ(SelectCgroupMounts(*none, "/sys/fs/cgroup").version, CgroupMounts::Version::kNone);
}

}  // namespace
}  // namespace podmeter
