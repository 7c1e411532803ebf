// The read step of a sample: discover every pod and container cgroup and read each with the
// collectors. Called from the sampler thread (the collectors are not thread-safe).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "collectors/base/status.h"
#include "collectors/cgroupfs/cgroup_discovery.h"
#include "collectors/cgroupfs/mountinfo.h"
#include "collectors/readers/collector.h"
#include "collectors/readers/samples.h"

namespace podmeter {

/// What one read cost and what went wrong in it.
struct ReadStats {
  std::map<std::string, uint64_t> errors;           ///< failed reads, by collector name
  std::map<std::string, double> collector_seconds;  ///< time in each collector
  uint64_t vanished_pods = 0;                       ///< pod cgroups gone while being read
  uint64_t vanished_containers = 0;
  std::vector<std::string> failures;  ///< "<collector> collector on <cgroup>: <why>", in order
  std::vector<std::string> vanished;  ///< the cgroups that vanished
  std::vector<KubepodsTree> trees;    ///< every kubepods root found; `read` ones were read
};

/// Discovers the pods of the kubelet's trees (`trees`) under `mounts` and reads each pod cgroup
/// (with the collectors that read pods) and each container cgroup (with all of them). A cgroup
/// whose read fails, or which vanishes, is left out (a pod with its containers). Pod sandboxes are
/// read like any container (ProcessSample::is_pause marks a `pause`-only one; the join tells
/// sandboxes apart with the pod metadata: tracking/sandbox_filter.h). Discovery failing is the
/// error; the reads' failures are in `stats`. Pods come sorted by uid.
StatusOr<std::vector<PodSample>> ReadPods(const CgroupMounts& mounts,
                                          const KubeletTreeOptions& trees,
                                          const std::vector<std::unique_ptr<Collector>>& collectors,
                                          ReadStats* stats);

/// The same on a discovery already made (the sampler's WatchedDiscovery).
std::vector<PodSample> ReadDiscovered(const CgroupMounts& mounts, const Discovery& discovery,
                                      const std::vector<std::unique_ptr<Collector>>& collectors,
                                      ReadStats* stats);

}  // namespace podmeter
