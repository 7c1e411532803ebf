// podmeter's own series: what the sampler counted (samples, errors, vanished cgroups, time per
// collector, discovered pods and kubepods trees) and the process' CPU, memory and start time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collectors/cgroupfs/cgroup_discovery.h"
#include "collectors/watchers/startup_watcher.h"
#include "exporter/family_builder.h"

namespace podmeter {

/// The sampler's counters, kept across samples by the sampler thread.
struct SamplerCounters {
  uint64_t samples = 0;
  double last_duration_seconds = 0;
  std::map<std::string, uint64_t> errors;           ///< by collector ("discovery", "cpu", ...)
  std::map<std::string, double> collector_seconds;  ///< time spent in the last sample
  std::map<std::string, uint64_t> vanished;         ///< by level ("pod", "container")
  size_t discovered_pods = 0;
  size_t discovered_containers = 0;
  size_t kept_open_files = 0;  ///< descriptors the collectors keep open after the last sample
  uint64_t cgroup_walks = 0;   ///< walks of the cgroup tree (discovery) so far
  std::vector<KubepodsTree> kubepods_trees;          ///< found in the last sample
  std::optional<StartupWatcherStats> startup_watch;  ///< none: the start-up watcher is off
};

/// The process_* families AddSelfMetrics serves (with podmeter_*, never relayed from a pod).
inline constexpr const char* kSelfProcessFamilies[] = {
    "process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds"};

/// Adds podmeter_build_info, the sampler's counters and process_* (from /proc/self) to `out`.
void AddSelfMetrics(const SamplerCounters& counters, const std::string& version,
                    FamilyBuilder* out);

}  // namespace podmeter
