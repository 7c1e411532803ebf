// Plain data read from the pod and container cgroups in one sample. No behaviour; copied freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "collectors/cgroupfs/qos_class.h"

namespace podmeter {

struct CpuSample {
  double usage_seconds = 0;
  double user_seconds = 0;
  double system_seconds = 0;
  uint64_t cfs_periods = 0;
  uint64_t cfs_throttled_periods = 0;
  double cfs_throttled_seconds = 0;
  std::optional<double> limit_cores;  ///< absent when unlimited
};

/// v2 `memory.events` (hierarchical: this cgroup and its descendants).
struct MemoryEvents {
  uint64_t high = 0;      ///< times reclaim was forced above memory.high
  uint64_t max = 0;       ///< times usage was about to go over memory.max
  uint64_t oom_kill = 0;  ///< processes killed by the OOM killer (a group kill's victim twice)
  std::optional<uint64_t> oom_group_kill;  ///< whole-cgroup OOM kills; Linux 5.17+
};

struct MemorySample {
  uint64_t usage_bytes = 0;
  uint64_t working_set_bytes = 0;
  uint64_t rss_bytes = 0;
  uint64_t cache_bytes = 0;
  std::optional<uint64_t> limit_bytes;  ///< absent when unlimited
  /// OOM kills: v2 memory.events (hierarchical); on v1 the OOM watcher reads them instead.
  std::optional<uint64_t> oom_kills;
  // v2 only:
  std::optional<uint64_t> anon_bytes, file_bytes, shmem_bytes;  ///< memory.stat as it is
  std::optional<MemoryEvents> events;                           ///< memory.events
  bool oom_group = false;                                       ///< memory.oom.group is 1
};

/// One pressure file (`cpu.pressure`, `memory.pressure`, `io.pressure`): its `total=` stall
/// times, converted from microseconds.
struct PressureTotals {
  double some_seconds = 0;  ///< some task was stalled on the resource
  double full_seconds = 0;  ///< every non-idle task was stalled at once
};

/// v2 pressure stall information; a file that is absent (PSI off) leaves its part empty.
struct PressureSample {
  std::optional<PressureTotals> cpu, memory, io;
};

/// pids controller: `pids.current` and `pids.max` (v1 pids hierarchy or v2).
struct PidsSample {
  uint64_t current = 0;
  std::optional<uint64_t> limit;  ///< absent when "max"
};

struct ProcessSample {
  uint64_t processes = 0;
  uint64_t threads = 0;
  uint64_t resident_bytes = 0;
  bool is_pause = false;  ///< the only process is `pause` (the pod sandbox, or the pause image)
};

/// Everything the collectors read from one cgroup; a collector that is off leaves its part empty.
struct CgroupSample {
  std::optional<CpuSample> cpu;
  std::optional<MemorySample> memory;
  std::optional<ProcessSample> processes;
  std::optional<PressureSample> pressure;
  std::optional<PidsSample> pids;
};

/// One container cgroup as read (the pod sandbox too, until the join drops it).
struct ContainerSample {
  std::string id;        ///< 64 hex digits
  std::string runtime;   ///< from the cgroup name; may be empty
  std::string rel_path;  ///< the cgroup, relative to the hierarchy roots
  CgroupSample data;
};

/// One pod cgroup as read, with its containers. Names come later, from the join with the pod
/// metadata (tracking/pod_tracker.h).
struct PodSample {
  std::string uid;
  QosClass qos = QosClass::kBestEffort;
  CgroupSample data;
  std::vector<ContainerSample> containers;  ///< sorted by id
};

}  // namespace podmeter
