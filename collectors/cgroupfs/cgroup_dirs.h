// One cgroup's directories in the mounted hierarchies (its files are read through
// collectors/base/open_file_cache.h). Thread-safe (no shared state).
#pragma once

#include <string>

#include "collectors/base/status.h"
#include "collectors/cgroupfs/mountinfo.h"

namespace podmeter {

/// The directories of one cgroup in every hierarchy podmeter reads. Empty = not mounted.
struct CgroupDirs {
  CgroupMounts::Version version = CgroupMounts::Version::kNone;
  std::string cpu, cpuacct, memory, pids;  ///< v1
  std::string unified;                     ///< v2
};

/// Resolves a path relative to the hierarchy roots (e.g. "kubepods/burstable/pod<uid>").
CgroupDirs ResolveCgroupDirs(const CgroupMounts& mounts, const std::string& rel_path);

}  // namespace podmeter
