// Finding pod and container cgroups the way the kubelet lays them out. Thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "collectors/base/status.h"
#include "collectors/cgroupfs/kubepods_path.h"
#include "collectors/cgroupfs/mountinfo.h"

namespace podmeter {

struct ContainerCgroup {
  std::string id;
  std::string runtime;
  std::string rel_path;
};

struct PodCgroup {
  std::string uid;
  QosClass qos = QosClass::kBestEffort;
  CgroupDriver driver = CgroupDriver::kCgroupfs;
  std::string rel_path;
  std::vector<ContainerCgroup> containers;  ///< sorted by id
};

/// Which kubepods trees are the kubelet's (a host may hold several: a kubelet with a cgroupRoot of
/// its own beside a lab's or a test's `/kubepods`).
struct KubeletTreeOptions {
  /// The kubelet's cgroupRoot (its --cgroup-root, "/" by default, e.g. "/podmeter-node"): only the
  /// kubepods root directly below it is read. Empty: decided as below.
  std::string cgroup_root;
  /// With no cgroup_root: the tree that holds this pod (podmeter's own, from the downward API) is
  /// the kubelet's. Empty, or no tree holds it: every tree found is read.
  std::string own_pod_uid;
};

/// One kubepods root found in the hierarchy.
struct KubepodsTree {
  std::string path;   ///< e.g. "/podmeter-node/kubepods", "/kubepods.slice"
  size_t pods = 0;    ///< pod cgroups in it
  bool read = false;  ///< chosen as the kubelet's: its pods are reported
};

struct Discovery {
  std::vector<PodCgroup> pods;      ///< of the trees read, sorted by uid
  std::vector<KubepodsTree> trees;  ///< every kubepods root found, sorted by path
};

/// The hierarchy discovery walks: v2 unified; v1 memory, else cpu, else cpuacct. Empty: none.
std::string DiscoveryRoot(const CgroupMounts& mounts);

/// Walks the primary hierarchy (DiscoveryRoot) for kubepods roots up to three levels down (or
/// directly below options.cgroup_root), lists every pod and container cgroup of each, and keeps
/// those of the kubelet's trees (KubeletTreeOptions). Directories that vanish during the walk are
/// skipped; an unreadable hierarchy root is an error. `listed`, when given, receives every
/// directory the walk listed (what a change of the result would show in).
StatusOr<Discovery> DiscoverPods(const CgroupMounts& mounts, const KubeletTreeOptions& options,
                                 std::vector<std::string>* listed = nullptr);

/// Which of `trees` are the kubelet's (sets KubepodsTree::read); `holds_own_pod` says whether
/// trees[i] holds options.own_pod_uid. Pure.
void ChooseKubeletTrees(const KubeletTreeOptions& options, const std::vector<bool>& holds_own_pod,
                        std::vector<KubepodsTree>* trees);

}  // namespace podmeter
