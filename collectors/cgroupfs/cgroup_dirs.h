// One cgroup's directories in the mounted hierarchies, and reading its files. Thread-safe (no
// shared state).
#pragma once

#include <string>

#include "collectors/base/open_file_cache.h"
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

/// Reads a file of a cgroup that may legitimately be absent (controller not enabled). Returns
/// NotFound only when the cgroup directory itself is gone; "" with Ok when just the file is.
StatusOr<std::string> ReadOptionalCgroupFile(const std::string& dir, const char* file);

/// The same through `files` (kept open), into *out.
Status ReadOptionalCgroupFile(OpenFileCache* files, const std::string& dir, const char* file,
                              std::string* out);

}  // namespace podmeter
