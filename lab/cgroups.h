// Creating and removing kubelet-shaped cgroups for the lab's pods (cgroupfs driver layout:
// kubepods/<qos>/pod<uid>/<64 hex>), on cgroup v1 (one directory per controller) or v2, with the
// values the kubelet writes (lab/kubelet_values.h). Shares mount detection with the collectors.
// Thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "collectors/base/status.h"
#include "collectors/cgroupfs/mountinfo.h"

namespace podmeter::lab {

struct CgroupLimits {
  /// v1 cpu.shares / v2 cpu.weight from the request (none: 2 shares, weight 1), CFS quota
  /// (v1 cpu.cfs_quota_us, v2 cpu.max) from the limit, memory.limit_in_bytes / memory.max.
  std::optional<int64_t> cpu_request_millis, cpu_limit_millis, memory_limit_bytes;
  std::string cpus;  ///< cpuset, e.g. "0"; empty = inherit
  int64_t pids_max = 4096;
  /// v2 memory.oom.group=1: an OOM kills every process of the cgroup (the kubelet sets it on
  /// every container since 1.28); v1 has no such file.
  bool oom_group = false;
};

class LabCgroups {
 public:
  /// Reads /proc/self/mountinfo. Fails with one sentence when cgroups are not writable, or on v2
  /// when the root does not offer the cpu, memory and pids controllers.
  static StatusOr<LabCgroups> Detect();

  CgroupMounts::Version version() const { return mounts_.version; }
  /// "kubepods/<qos>" for "Burstable"/"BestEffort", "kubepods" for "Guaranteed".
  static std::string QosParent(const std::string& qos_class);

  /// Creates rel (and missing parents) in every hierarchy and applies the limits to rel. On v2,
  /// like the kubelet (runc's cgroup creation), enables every controller the level offers for
  /// its children at the root and at each level above rel; fails if cpu, memory or pids is not.
  Status Create(const std::string& rel, const CgroupLimits& limits);
  /// Changes the CPU limit of an existing cgroup (the squeeze).
  Status SetCpuLimit(const std::string& rel, std::optional<int64_t> limit_millis);
  /// Whether rel exists (in the primary hierarchy: v2 unified, v1 the first controller's).
  bool Exists(const std::string& rel) const;
  /// The cgroup.procs files a process must join.
  std::vector<std::string> ProcsFiles(const std::string& rel) const;
  /// Kills what is left inside, waits for it to leave and removes rel (not its parents).
  Status Remove(const std::string& rel);
  /// Removes the whole kubepods tree the lab made (for `podmeter-lab clean`).
  Status RemoveAll();
  /// v1 memory.oom_control oom_kill / v2 memory.events oom_kill of rel; 0 when unreadable.
  uint64_t OomKills(const std::string& rel) const;

 private:
  std::vector<std::string> Dirs(const std::string& rel) const;
  Status Write(const std::string& dir, const char* file, const std::string& value) const;
  Status EnableControllers(const std::string& dir) const;
  Status ApplyCpu(const std::string& rel, const CgroupLimits& limits);
  Status ApplyMemoryAndPids(const std::string& rel, const CgroupLimits& limits);
  CgroupMounts mounts_;
};

}  // namespace podmeter::lab
