#include "tracking/oom_accounting.h"

#include <algorithm>

#include "collectors/cgroupfs/cgroup_dirs.h"

namespace podmeter {
namespace {

const char* SourceName(OomWatcher::Source source) {
  switch (source) {
    case OomWatcher::Source::kEventfd:
      return "eventfd";
    case OomWatcher::Source::kPoll:
      return "poll";
    case OomWatcher::Source::kWatchStart:
      return "watch_start";
    case OomWatcher::Source::kSample:
      return "sample";
  }
  return "sample";
}

}  // namespace

OomAccounting::OomAccounting(std::unique_ptr<OomWatcher> watcher) : watcher_(std::move(watcher)) {
  auto sources = watcher_ ? std::vector<const char*>{"eventfd", "poll", "sample", "watch_start"}
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
  // Every reading of memory.oom_control is the watcher's (v1's sample does not read it).
  for (const OomWatcher::Reading& r : watcher_->TakeReadings()) {
    Raise(&containers_[r.pod_uid][r.container_id], r.oom_kills, SourceName(r.source));
  }
  for (const PodSample& pod : pods) {
    for (const ContainerSample& c : pod.containers) containers_[pod.uid][c.id];  // total 0 at least
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
