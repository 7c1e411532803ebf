// cgroup v2: counts container OOM events per pod, not killed processes.
//
// Since Kubernetes 1.28 the kubelet sets memory.oom.group=1, so one OOM kills every process of the
// container and memory.events oom_kill counts each of them (Linux 6.1 even counts the chosen
// victim twice: 6 for a container of 5 processes). A container's OOM events are its
// oom_group_kill when its memory.oom.group is 1 (Linux 5.17+), else its oom_kill (one process per
// OOM); on kernels without oom_group_kill every rise of oom_kill between two samples counts one.
// A pod's count is the sum over its containers, living and removed, plus the OOM events of the
// pod cgroup's own (hierarchical) memory.events that none of those containers accounts for: a
// container killed and removed before a sample saw its kill (runtimes remove a dead container's
// cgroup within ~0.2 s). Those are its oom_group_kill beyond the containers' (a group kill), else
// its oom_kill beyond the containers' (one process per OOM; also on kernels without
// oom_group_kill).
//
// Plain state; not thread-safe: owned by the sampler thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collectors/readers/samples.h"

namespace podmeter {

class OomEventCounter {
 public:
  struct Reading {
    std::string pod_uid;
    std::string container_id;
    MemoryEvents events;     ///< the container's memory.events
    bool oom_group = false;  ///< the container's memory.oom.group
  };

  /// Takes one sample's readings; containers not in it keep their last count.
  void Update(const std::vector<Reading>& containers);

  /// The pod's OOM events; `pod_events` is the pod cgroup's memory.events when it was read.
  uint64_t PodEvents(const std::string& pod_uid,
                     const std::optional<MemoryEvents>& pod_events) const;

  /// The part of PodEvents that only the pod's memory.events shows (containers never read
  /// after their kill).
  uint64_t UnaccountedPodEvents(const std::string& pod_uid, const MemoryEvents& pod_events) const;

  /// Drops a pod's containers (the pod is gone for good).
  void Forget(const std::string& pod_uid);

 private:
  struct Container {
    std::string pod_uid;
    uint64_t last_oom_kill = 0;
    uint64_t last_group_kill = 0;
    uint64_t events = 0;
  };
  std::map<std::string, Container> containers_;  // by container id
};

}  // namespace podmeter
