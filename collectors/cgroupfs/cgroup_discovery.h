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

/// Walks the primary hierarchy (v2: unified; v1: memory, else cpu) for kubepods roots up to three
/// levels down and lists every pod and container cgroup, sorted by pod uid. Directories that
/// vanish during the walk are skipped; an unreadable hierarchy root is an error.
StatusOr<std::vector<PodCgroup>> DiscoverPods(const CgroupMounts& mounts);

}  // namespace podmeter
