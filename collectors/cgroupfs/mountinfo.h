// Parsing /proc/self/mountinfo and locating the cgroup hierarchies. Thread-compatible.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/base/status.h"

namespace podmeter {

/// One line of /proc/<pid>/mountinfo (only the fields podmeter needs).
struct MountInfo {
  std::string root;         ///< field 4: root of the mount within its filesystem
  std::string mount_point;  ///< field 5, with octal escapes decoded
  std::string fs_type;      ///< after the " - " separator
  std::string super_options;
};

/// Parses mountinfo text; malformed lines are an InvalidData error naming the line.
StatusOr<std::vector<MountInfo>> ParseMountInfo(std::string_view text);

/// Where each cgroup controller is mounted, as podmeter will read it.
struct CgroupMounts {
  enum class Version { kNone, kV1, kV2 };
  Version version = Version::kNone;
  /// v1: controller name ("cpu", "cpuacct", "memory", "pids", ...) → directory.
  std::map<std::string, std::string> v1;
  /// v2: the unified hierarchy's directory.
  std::string unified;
};

/// Picks the hierarchies from parsed mounts. A mount point under `cgroup_root` is used as is; one
/// under the canonical /sys/fs/cgroup is re-rooted to `cgroup_root` (how fixture trees and a
/// DaemonSet's /host mount are read). v1 wins when it has a cpu or memory controller mounted
/// (hybrid hosts run the kubelet on v1); otherwise the cgroup2 mount is used.
CgroupMounts SelectCgroupMounts(const std::vector<MountInfo>& mounts, std::string_view cgroup_root);

}  // namespace podmeter
