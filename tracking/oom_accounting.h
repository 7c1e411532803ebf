// The one owner of OOM kill totals per pod, kept across container replacement and after a pod's
// cgroup is gone (until Forget).
//
// cgroup v1: memory.oom_control's oom_kill is per container cgroup, so a pod's total is the sum
// over its containers, living and removed, of the highest count seen for each: from the sample's
// reads and from the OomWatcher's readings (at the OOM notification, before the cgroup is
// removed, or by its poll where no eventfd could be registered).
// cgroup v2: container OOM events, not killed processes (OomEventCounter: memory.events
// oom_group_kill of memory.oom.group containers, else oom_kill; the pod's memory.events for
// containers removed before a sample saw their kill).
// Every kill added to a total is credited to the path that saw it first (counted_by_source).
// A pod's total never goes down. Owned by the sampler thread; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "collectors/cgroupfs/mountinfo.h"
#include "collectors/readers/samples.h"
#include "collectors/watchers/oom_watcher.h"
#include "tracking/oom_event_counter.h"

namespace podmeter {

class OomAccounting {
 public:
  /// cgroup v1 when `watcher` is given (it is told which containers to watch); v2 when null.
  explicit OomAccounting(std::unique_ptr<OomWatcher> watcher);

  /// Counts this sample's reads (and, on v1, the watcher's readings since the last call) and
  /// updates the totals of the pods in `pods`. Returns the containers the watcher could not watch
  /// (their counts then come from the sample's reads only).
  size_t Observe(const std::vector<PodSample>& pods, const CgroupMounts& mounts);

  /// Every pod's total by uid: the pods observed, living or gone, until forgotten.
  const std::map<std::string, uint64_t>& totals() const { return totals_; }

  /// Kills added to the totals, by the path that saw them first: v1 "eventfd" (read at the OOM
  /// notification), "poll" (the watcher's reads where no eventfd could be registered),
  /// "watch_start" (read as the eventfd was registered: a kill from before the watch), "sample"
  /// (read at the sample: containers the watcher cannot watch, see OomWatcher); v2
  /// "container_events" (a container's memory.events), "pod_events" (the pod's memory.events:
  /// containers removed before a sample saw their kill). Not reduced by Forget.
  const std::map<std::string, uint64_t>& counted_by_source() const { return counted_; }

  /// The v1 watcher (null on v2): tell it about containers as their cgroups appear.
  OomWatcher* watcher() const { return watcher_.get(); }

  /// Drops everything known about a pod (it is gone for good).
  void Forget(const std::string& pod_uid);

 private:
  size_t ObserveV1(const std::vector<PodSample>& pods, const CgroupMounts& mounts);
  void ObserveV2(const std::vector<PodSample>& pods);
  void Raise(uint64_t* kept, uint64_t seen, const char* source);

  std::map<std::string, uint64_t> counted_;  // by source

  std::unique_ptr<OomWatcher> watcher_;
  OomEventCounter events_;                                             // v2
  std::map<std::string, std::map<std::string, uint64_t>> containers_;  // v1: pod → id → kills
  std::map<std::string, uint64_t> totals_;                             // pod → kills
};

}  // namespace podmeter
