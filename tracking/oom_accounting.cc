#include "tracking/oom_accounting.h"

#include <algorithm>

#include "collectors/cgroupfs/cgroup_dirs.h"

namespace podmeter {

OomAccounting::OomAccounting(std::unique_ptr<OomWatcher> watcher) : watcher_(std::move(watcher)) {
  auto sources = watcher_ ? std::vector<const char*>{"eventfd", "poll", "sample"}
                          : std::vector<const char*>{"container_events", "pod_events"};
  for (const char* source : sources) counted_[source] = 0;
}

size_t OomAccounting::Observe(const std::vector<PodSample>& pods, const CgroupMounts& mounts) {
  if (!watcher_) {
    ObserveV2(pods);
    return 0;
  }
  size_t failures = ObserveV1(pods, mounts);
  // Every pod with a container seen: also one whose cgroups are gone, or that no sample listed
  // (its containers were read at their OOM notification).
  for (const auto& [uid, containers] : containers_) {
    uint64_t total = 0;
    for (const auto& [id, kills] : containers) total += kills;
    uint64_t& kept = totals_[uid];
    kept = std::max(kept, total);
  }
  return failures;
}

void OomAccounting::Raise(uint64_t* kept, uint64_t seen, const char* source) {
  if (seen <= *kept) return;
  counted_[source] += seen - *kept;
  *kept = seen;
}

size_t OomAccounting::ObserveV1(const std::vector<PodSample>& pods, const CgroupMounts& mounts) {
  std::vector<OomWatcher::Container> living;
  for (const PodSample& pod : pods) {
    for (const ContainerSample& c : pod.containers) {
      living.push_back({pod.uid, c.id, ResolveCgroupDirs(mounts, c.rel_path).memory});
    }
  }
  size_t failures = watcher_->Watch(living);
  // The watcher's readings first: taken at the OOM notification, before this sample's reads.
  for (const OomWatcher::Reading& r : watcher_->TakeReadings()) {
    const char* source = r.source == OomWatcher::Source::kEventfd ? "eventfd" : "poll";
    Raise(&containers_[r.pod_uid][r.container_id], r.oom_kills, source);
  }
  for (const PodSample& pod : pods) {
    for (const ContainerSample& c : pod.containers) {
      uint64_t& kills = containers_[pod.uid][c.id];
      if (c.data.memory && c.data.memory->oom_kills) {
        Raise(&kills, *c.data.memory->oom_kills, "sample");
      }
    }
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
  for (const PodSample& pod : pods) {
    std::optional<MemoryEvents> pod_events;
    if (pod.data.memory) pod_events = pod.data.memory->events;
    uint64_t total = events_.PodEvents(pod.uid, pod_events);
    bool pod_only = pod_events && events_.UnaccountedPodEvents(pod.uid, *pod_events) > 0;
    Raise(&totals_[pod.uid], total, pod_only ? "pod_events" : "container_events");
  }
}

void OomAccounting::Forget(const std::string& pod_uid) {
  containers_.erase(pod_uid);
  events_.Forget(pod_uid);
  totals_.erase(pod_uid);
}

}  // namespace podmeter
