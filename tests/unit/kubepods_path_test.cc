#include "collectors/cgroupfs/kubepods_path.h"

#include <gtest/gtest.h>

#include <string>

namespace podmeter {
namespace {

const std::string kUid = "7d2e4b18-93a5-4f0c-b8d6-1e5c7a9f3b20";
const std::string kUidSystemd = "7d2e4b18_93a5_4f0c_b8d6_1e5c7a9f3b20";
const std::string kId(64, 'a');

struct Case {
  std::string path;
  CgroupDriver driver;
  QosClass qos;
  std::string container_id;
  std::string runtime;
};

class KubepodsPathTest : public ::testing::TestWithParam<Case> {};

TEST_P(KubepodsPathTest, Parses) {
  const Case& c = GetParam();
  auto p = ParseKubepodsPath(c.path);
  ASSERT_TRUE(p.has_value()) << c.path;
  EXPECT_EQ(p->driver, c.driver);
  EXPECT_EQ(p->qos, c.qos);
  EXPECT_EQ(p->pod_uid, kUid);
  EXPECT_EQ(p->container_id, c.container_id);
  EXPECT_EQ(p->runtime, c.runtime);
}

const auto G = QosClass::kGuaranteed;
const auto B = QosClass::kBurstable;
const auto E = QosClass::kBestEffort;
const auto F = CgroupDriver::kCgroupfs;
const auto S = CgroupDriver::kSystemd;

INSTANTIATE_TEST_SUITE_P(
    AllLayouts, KubepodsPathTest,
    ::testing::Values(
        // cgroupfs driver, every QoS class, pod and container level, every runtime naming.
        Case{"kubepods/pod" + kUid, F, G, "", ""},
        Case{"kubepods/pod" + kUid + "/" + kId, F, G, kId, ""},
        Case{"kubepods/burstable/pod" + kUid, F, B, "", ""},
        Case{"kubepods/burstable/pod" + kUid + "/" + kId, F, B, kId, ""},
        Case{"kubepods/besteffort/pod" + kUid + "/" + kId, F, E, kId, ""},
        Case{"kubepods/besteffort/pod" + kUid + "/crio-" + kId, F, E, kId, "crio"},
        Case{"/kubepods/burstable/pod" + kUid + "/docker-" + kId, F, B, kId, "docker"},
        // systemd driver.
        Case{"kubepods.slice/kubepods-pod" + kUidSystemd + ".slice", S, G, "", ""},
        Case{
            "kubepods.slice/kubepods-pod" + kUidSystemd + ".slice/cri-containerd-" + kId + ".scope",
            S, G, kId, "cri-containerd"},
        Case{"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidSystemd +
                 ".slice/crio-" + kId + ".scope",
             S, B, kId, "crio"},
        Case{"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + kUidSystemd +
                 ".slice/docker-" + kId + ".scope",
             S, E, kId, "docker"},
        Case{"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + kUidSystemd +
                 ".slice",
             S, E, "", ""},
        // Below a parent, as kind and nested setups do.
        Case{"kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/"
             "kubelet-kubepods-burstable-pod" +
                 kUidSystemd + ".slice/cri-containerd-" + kId + ".scope",
             S, B, kId, "cri-containerd"},
        Case{"kubelet/kubepods/burstable/pod" + kUid + "/" + kId, F, B, kId, ""}));

TEST(ParseKubepodsPath, RejectsNonPods) {
  for (const std::string& path : {
           std::string("kubepods"),
           std::string("kubepods/burstable"),
           std::string("kubepods.slice/kubepods-burstable.slice"),
           std::string("system.slice/containerd.service"),
           std::string("user.slice"),
           "kubepods/burstable/pod" + kUid + "/" + kId + "/extra",
           "kubepods/burstable/pod" + kUid + "/" + kId.substr(1),
           "kubepods/burstable/podnot-a-uid/" + kId,
           "kubepods/burstable/pod" + kUid + "/" + std::string(64, 'G'),
           "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidSystemd +
               ".slice/crio-conmon-" + kId + ".scope",
           "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidSystemd +
               ".slice/" + kId + ".scope",
           "kubepods.slice/kubepods-burstable.slice/kubepods-besteffort-pod" + kUidSystemd +
               ".slice",
       }) {
    EXPECT_FALSE(ParseKubepodsPath(path).has_value()) << path;
  }
}

TEST(QosClassName, KubernetesSpelling) {
  EXPECT_EQ(QosClassName(QosClass::kGuaranteed), "Guaranteed");
  EXPECT_EQ(QosClassName(QosClass::kBurstable), "Burstable");
  EXPECT_EQ(QosClassName(QosClass::kBestEffort), "BestEffort");
}

}  // namespace
}  // namespace podmeter
