// The watched discovery on a tree of plain directories (inotify reports mkdir and rmdir there as
// on cgroupfs; tests/e2e's pods, made after podmeter started, are the real cgroup case): the tree
// is walked again after a change, and only then.
#include "collectors/cgroupfs/watched_discovery.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/unit/test_support.h"

namespace podmeter {
namespace {

namespace fs = std::filesystem;

const std::string kPod1 = "11111111-1111-4111-8111-111111111111";
const std::string kPod2 = "22222222-2222-4222-8222-222222222222";
const std::string kId1(64, 'a'), kId2(64, 'b');

class WatchedDiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(Pod(kPod1) / kId1);
    fs::create_directories(dir_.path() / "system.slice" / "ssh.service");
    mounts_.version = CgroupMounts::Version::kV1;
    mounts_.v1["memory"] = dir_.path().string();
  }

  fs::path Pod(const std::string& uid) {
    return dir_.path() / "kubepods" / "burstable" / ("pod" + uid);
  }

  // "uid:containers" for each pod found.
  std::vector<std::string> Found() {
    auto d = discovery_.Get(mounts_);
    EXPECT_TRUE(d.ok()) << d.status().message();
    std::vector<std::string> out;
    if (!d.ok()) return out;
    for (const PodCgroup& p : (*d)->pods) {
      out.push_back(p.uid.substr(0, 1) + ":" + std::to_string(p.containers.size()));
    }
    return out;
  }

  testing::TempDir dir_{"podmeter-watched"};
  CgroupMounts mounts_;
  WatchedDiscovery discovery_{KubeletTreeOptions{}};
};

TEST_F(WatchedDiscoveryTest, WalksAgainOnlyAfterAChange) {
  ASSERT_TRUE(discovery_.watching()) << discovery_.not_watching_reason();
  EXPECT_EQ(Found(), (std::vector<std::string>{"1:1"}));
  EXPECT_EQ(discovery_.walks(), 1u);
  // The first walk added watches: one more walk (a directory made between a listing and its
  // watch is found by it), then none while nothing changes.
  EXPECT_EQ(Found(), (std::vector<std::string>{"1:1"}));
  EXPECT_EQ(discovery_.walks(), 2u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Found(), (std::vector<std::string>{"1:1"}));
  EXPECT_EQ(discovery_.walks(), 2u);

  // A container appears, then goes: each is one walk.
  fs::create_directory(Pod(kPod1) / kId2);
  EXPECT_EQ(Found(), (std::vector<std::string>{"1:2"}));
  EXPECT_EQ(discovery_.walks(), 3u);
  EXPECT_EQ(Found(), (std::vector<std::string>{"1:2"}));
  EXPECT_EQ(discovery_.walks(), 3u);  // container directories are not listed: nothing new to watch
  fs::remove(Pod(kPod1) / kId2);
  EXPECT_EQ(Found(), (std::vector<std::string>{"1:1"}));
  EXPECT_EQ(discovery_.walks(), 4u);

  // A new pod with its container, made at once (as the kubelet and the runtime do).
  fs::create_directories(Pod(kPod2) / kId1);
  EXPECT_EQ(Found(), (std::vector<std::string>{"1:1", "2:1"}));
  EXPECT_EQ(Found(), (std::vector<std::string>{"1:1", "2:1"}));  // its directory newly watched
  const uint64_t walks = discovery_.walks();
  EXPECT_EQ(walks, 6u);
  // Its container replaced between two samples: the watch on the new pod sees it.
  fs::remove(Pod(kPod2) / kId1);
  fs::create_directory(Pod(kPod2) / kId2);
  EXPECT_EQ(Found(), (std::vector<std::string>{"1:1", "2:1"}));
  EXPECT_EQ(discovery_.walks(), walks + 1);
  auto d = discovery_.Get(mounts_);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)->pods[1].containers[0].id, kId2);

  // The pod goes whole; a change outside the kubepods trees but in a directory the root search
  // lists (system.slice) walks again too.
  fs::remove_all(Pod(kPod2));
  EXPECT_EQ(Found(), (std::vector<std::string>{"1:1"}));
  const uint64_t after_removal = discovery_.walks();
  fs::create_directory(dir_.path() / "system.slice" / "cron.service");
  EXPECT_EQ(Found(), (std::vector<std::string>{"1:1"}));
  EXPECT_GT(discovery_.walks(), after_removal);
}

// A hierarchy that cannot be read is the error, every time (nothing stale is served).
TEST_F(WatchedDiscoveryTest, AnUnreadableRootIsAnErrorEachTime) {
  EXPECT_EQ(Found(), (std::vector<std::string>{"1:1"}));
  CgroupMounts gone = mounts_;
  gone.v1["memory"] = (dir_.path() / "missing").string();
  EXPECT_FALSE(discovery_.Get(gone).ok());
  EXPECT_FALSE(discovery_.Get(gone).ok());
  EXPECT_EQ(Found(), (std::vector<std::string>{"1:1"}));  // walked again, not the stale result
}

}  // namespace
}  // namespace podmeter
