#include "tracking/oom_accounting.h"

#include <algorithm>

#include "collectors/cgroupfs/cgroup_dirs.h"

namespace podmeter {

OomAccounting::OomAccounting(std::unique_ptr<OomWatcher> watcher) : watcher_(std::move(watcher)) {}

size_t OomAccounting::Observe(const std::vector<PodSample>& pods, const CgroupMounts& mounts) {
  size_t failures = 0;
  if (watcher_) {
    failures = ObserveV1(pods, mounts);
  } else {
    ObserveV2(pods);
  }
  for (const PodSample& pod : pods) {
    uint64_t total = 0;
    if (watcher_) {
      for (const auto& [id, kills] : containers_[pod.uid]) total += kills;
    } else {
      total = events_.PodEvents(pod.uid, pod.data.memory ? pod.data.memory->events : std::nullopt);
    }
    uint64_t& kept = totals_[pod.uid];
    kept = std::max(kept, total);
  }
  return failures;
}

size_t OomAccounting::ObserveV1(const std::vector<PodSample>& pods, const CgroupMounts& mounts) {
  std::vector<OomWatcher::Container> living;
  for (const PodSample& pod : pods) {
    for (const ContainerSample& c : pod.containers) {
      living.push_back({pod.uid, c.id, ResolveCgroupDirs(mounts, c.rel_path).memory});
    }
  }
  size_t failures = watcher_->Watch(living);
  for (const PodSample& pod : pods) {
    for (const ContainerSample& c : pod.containers) {
      uint64_t& kills = containers_[pod.uid][c.id];
      if (c.data.memory && c.data.memory->oom_kills) {
        kills = std::max(kills, *c.data.memory->oom_kills);
      }
    }
  }
  for (const OomWatcher::Reading& r : watcher_->TakeReadings()) {
    uint64_t& kills = containers_[r.pod_uid][r.container_id];
    kills = std::max(kills, r.oom_kills);
  }
  return failures;
}

void OomAccounting::ObserveV2(const std::vector<PodSample>& pods) {
  std::vector<OomEventCounter::Reading> readings;
  for (const PodSample& pod : pods) {
    for (const ContainerSample& c : pod.containers) {
      if (!c.data.memory || !c.data.memory->events) continue;
      readings.push_back({pod.uid, c.id, *c.data.memory->events, c.data.memory->oom_group});
    }
  }
  events_.Update(readings);
}

void OomAccounting::Forget(const std::string& pod_uid) {
  containers_.erase(pod_uid);
  events_.Forget(pod_uid);
  totals_.erase(pod_uid);
}

}  // namespace podmeter
