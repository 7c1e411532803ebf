// Finding pod and container cgroups the way the kubelet lays them out. Thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "collectors/kubepods_path.h"
#include "collectors/mountinfo.h"
#include "collectors/status.h"

namespace podmeter {

/// The directories of one cgroup in every hierarchy podmeter reads. Empty = not mounted.
struct CgroupDirs {
  CgroupMounts::Version version = CgroupMounts::Version::kNone;
  std::string cpu, cpuacct, memory, pids;  ///< v1
  std::string unified;                     ///< v2
};

/// Resolves a path relative to the hierarchy roots (e.g. "kubepods/burstable/pod<uid>").
CgroupDirs ResolveCgroupDirs(const CgroupMounts& mounts, const std::string& rel_path);

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
