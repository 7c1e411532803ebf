#include "tracking/oom_event_counter.h"

#include <algorithm>

namespace podmeter {

void OomEventCounter::Update(const std::vector<Reading>& containers) {
  for (const Reading& r : containers) {
    auto [it, inserted] = containers_.try_emplace(r.container_id);
    Container& c = it->second;
    c.pod_uid = r.pod_uid;
    uint64_t events = c.events;
    if (r.events.oom_group_kill) {
      events = r.oom_group ? *r.events.oom_group_kill : r.events.oom_kill;
    } else if (inserted) {
      events = r.events.oom_kill > 0 ? 1 : 0;  // kills before podmeter watched: at least one OOM
    } else if (r.events.oom_kill > c.last_oom_kill) {
      events = c.events + 1;
    }
    c.events = std::max(c.events, events);
    c.last_oom_kill = r.events.oom_kill;
    c.last_group_kill = r.events.oom_group_kill.value_or(0);
  }
}

uint64_t OomEventCounter::PodEvents(const std::string& pod_uid,
                                    const std::optional<MemoryEvents>& pod_events) const {
  uint64_t sum = 0;
  for (const auto& [id, c] : containers_) {
    if (c.pod_uid == pod_uid) sum += c.events;
  }
  return sum + (pod_events ? UnaccountedPodEvents(pod_uid, *pod_events) : 0);
}

uint64_t OomEventCounter::UnaccountedPodEvents(const std::string& pod_uid,
                                               const MemoryEvents& pod_events) const {
  uint64_t kills = 0, group_kills = 0;
  for (const auto& [id, c] : containers_) {
    if (c.pod_uid != pod_uid) continue;
    kills += c.last_oom_kill;
    group_kills += c.last_group_kill;
  }
  auto beyond = [](uint64_t pod, uint64_t known) { return pod > known ? pod - known : 0; };
  uint64_t unaccounted_groups = beyond(pod_events.oom_group_kill.value_or(0), group_kills);
  if (unaccounted_groups > 0) return unaccounted_groups;
  return beyond(pod_events.oom_kill, kills);
}

void OomEventCounter::Forget(const std::string& pod_uid) {
  std::erase_if(containers_, [&](const auto& entry) { return entry.second.pod_uid == pod_uid; });
}

}  // namespace podmeter
