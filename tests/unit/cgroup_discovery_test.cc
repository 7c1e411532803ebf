// Discovery on a tree of plain directories: which kubepods trees are the kubelet's when a host
// holds several (a kubelet with cgroupRoot /podmeter-node beside a lab's /kubepods).
#include "collectors/cgroupfs/cgroup_discovery.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/unit/test_support.h"

namespace podmeter {
namespace {

namespace fs = std::filesystem;

const std::string kLabPod = "11111111-1111-4111-8111-111111111111";
const std::string kNodePod = "22222222-2222-4222-8222-222222222222";
const std::string kOwnPod = "33333333-3333-4333-8333-333333333333";
const std::string kDeepPod = "44444444-4444-4444-8444-444444444444";
const std::string kId(64, 'c');

class DiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const std::string& rel : std::vector<std::string>{
             "kubepods/burstable/pod" + kLabPod + "/" + kId,       // the lab's, cgroupRoot /
             "podmeter-node/kubepods/pod" + kNodePod + "/" + kId,  // a kubelet's own cgroupRoot
             "podmeter-node/kubepods/besteffort/pod" + kOwnPod + "/" + kId,
             "a/b/c/d/kubepods/pod" + kDeepPod + "/" + kId,  // deeper than discovery looks
             "system.slice/containerd.service",
         }) {
      fs::create_directories(dir_.path() / rel);
    }
    mounts_.version = CgroupMounts::Version::kV1;
    mounts_.v1["memory"] = dir_.path().string();
  }

  std::vector<std::string> Uids(const KubeletTreeOptions& options,
                                std::vector<KubepodsTree>* trees = nullptr) {
    auto d = DiscoverPods(mounts_, options);
    EXPECT_TRUE(d.ok()) << d.status().message();
    std::vector<std::string> uids;
    if (!d.ok()) return uids;
    for (const PodCgroup& p : d->pods) uids.push_back(p.uid);
    if (trees != nullptr) *trees = d->trees;
    return uids;
  }

  testing::TempDir dir_{"podmeter-discovery"};
  CgroupMounts mounts_;
};

TEST_F(DiscoveryTest, WithoutAHintEveryTreeWithinThreeLevelsIsRead) {
  std::vector<KubepodsTree> trees;
  EXPECT_EQ(Uids({}, &trees), (std::vector<std::string>{kLabPod, kNodePod, kOwnPod}));
  ASSERT_EQ(trees.size(), 2u);
  EXPECT_EQ(trees[0].path, "/kubepods");
  EXPECT_EQ(trees[0].pods, 1u);
  EXPECT_TRUE(trees[0].read);
  EXPECT_EQ(trees[1].path, "/podmeter-node/kubepods");
  EXPECT_EQ(trees[1].pods, 2u);
  EXPECT_TRUE(trees[1].read);
}

TEST_F(DiscoveryTest, TheTreeHoldingPodmetersOwnPodIsTheKubelets) {
  KubeletTreeOptions options;
  options.own_pod_uid = kOwnPod;
  std::vector<KubepodsTree> trees;
  EXPECT_EQ(Uids(options, &trees), (std::vector<std::string>{kNodePod, kOwnPod}));
  ASSERT_EQ(trees.size(), 2u);
  EXPECT_FALSE(trees[0].read);  // /kubepods: found, counted, not reported
  EXPECT_EQ(trees[0].pods, 1u);
  EXPECT_TRUE(trees[1].read);
  // Its own pod in no tree (run outside the node's kubelet): every tree, as without a hint.
  options.own_pod_uid = "55555555-5555-4555-8555-555555555555";
  EXPECT_EQ(Uids(options), (std::vector<std::string>{kLabPod, kNodePod, kOwnPod}));
}

TEST_F(DiscoveryTest, AGivenCgroupRootReadsOnlyTheKubepodsDirectlyBelowIt) {
  KubeletTreeOptions options;
  options.own_pod_uid = kOwnPod;  // the flag wins over the hint
  options.cgroup_root = "/";
  EXPECT_EQ(Uids(options), std::vector<std::string>{kLabPod});
  options.cgroup_root = "/podmeter-node/";
  EXPECT_EQ(Uids(options), (std::vector<std::string>{kNodePod, kOwnPod}));
  options.cgroup_root = "/a/b/c/d";  // found there although deeper than the search goes
  std::vector<KubepodsTree> trees;
  EXPECT_EQ(Uids(options, &trees), std::vector<std::string>{kDeepPod});
  ASSERT_EQ(trees.size(), 3u);
  EXPECT_EQ(trees[0].path, "/a/b/c/d/kubepods");
  EXPECT_TRUE(trees[0].read);
  options.cgroup_root = "/nowhere";
  EXPECT_TRUE(Uids(options).empty());
}

TEST_F(DiscoveryTest, SystemdCgroupRootNamesTheParentSlice) {
  const std::string uid = "66666666-6666-4666-8666-666666666666";
  std::string systemd_uid = uid;
  for (char& c : systemd_uid) c = c == '-' ? '_' : c;
  fs::create_directories(dir_.path() / "kubelet.slice/kubelet-kubepods.slice" /
                         ("kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" +
                          systemd_uid + ".slice") /
                         ("cri-containerd-" + kId + ".scope"));
  KubeletTreeOptions options;
  options.cgroup_root = "/kubelet.slice";
  std::vector<KubepodsTree> trees;
  EXPECT_EQ(Uids(options, &trees), std::vector<std::string>{uid});
  std::vector<std::string> read;
  for (const KubepodsTree& t : trees) {
    if (t.read) read.push_back(t.path);
  }
  EXPECT_EQ(read, std::vector<std::string>{"/kubelet.slice/kubelet-kubepods.slice"});
}

}  // namespace
}  // namespace podmeter
