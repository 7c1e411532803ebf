#include "tracking/pod_tracker.h"

#include <algorithm>

namespace podmeter {
void PodTracker::Observe(StartupHistogram* h, double seconds) {
  if (h->cumulative.empty()) h->cumulative.assign(kStartupBuckets.size(), 0);
  for (size_t i = 0; i < kStartupBuckets.size(); ++i) {
    if (seconds <= kStartupBuckets[i]) ++h->cumulative[i];
  }
  ++h->count;
  h->sum += seconds;
}

void PodTracker::CountStartup(const std::string& container_name, const StartupRecord& rec) {
  if (rec.startup_seconds) {
    Observe(&startup_history_[{container_name, rec.clock}], *rec.startup_seconds);
  }
}

void PodTracker::ApplyMetadata(const std::vector<PodMeta>& meta, double now) {
  for (const PodMeta& m : meta) {
    TrackedPod& st = pods_[m.uid];
    st.last_seen = now;
    st.namespace_name = m.namespace_name;
    st.name = m.name;
    st.qos_class = m.qos_class;
    st.meta = m;
    if (m.ready_time && !st.first_ready_time) st.first_ready_time = m.ready_time;  // Ready: True
    for (const ContainerMeta& c : m.containers) {
      if (c.container_id.empty()) continue;
      TrackedContainer& cs = st.containers[c.name];
      if (!cs.id.empty() && cs.id != c.container_id) {
        ++cs.restarts;
        cs.startup.reset();
      }
      cs.id = c.container_id;
      cs.named = true;
      cs.meta = c;
      // A container first seen before its metadata: carry over what was measured.
      auto unnamed = st.containers.find(c.container_id.substr(0, 12));
      if (unnamed != st.containers.end() && !unnamed->second.named &&
          unnamed->second.id == c.container_id) {
        if (!cs.startup && unnamed->second.startup) {
          cs.startup = unnamed->second.startup;
          CountStartup(c.name, *cs.startup);  // held back while it had no name
        }
        st.containers.erase(unnamed);
      }
    }
  }
}

PodNames PodTracker::NamesOf(const PodSample& pod, const TrackedPod& st) {
  PodNames names;
  names.pod = st.name.empty() ? pod.uid : st.name;
  if (!st.name.empty()) names.namespace_name = st.namespace_name;
  for (const ContainerSample& c : pod.containers) {
    std::string name = c.id.substr(0, 12);
    for (const auto& [known, cs] : st.containers) {
      if (cs.id == c.id) name = known;
    }
    names.containers.push_back(std::move(name));
  }
  return names;
}

void PodTracker::TrackContainers(const PodSample& pod, const PodNames& names, TrackedPod* st) {
  // Containers without metadata are tracked under their short id while their cgroup lives.
  std::erase_if(st->containers, [&](const auto& kv) {
    if (kv.second.named) return false;
    return std::none_of(pod.containers.begin(), pod.containers.end(),
                        [&](const ContainerSample& c) { return c.id == kv.second.id; });
  });
  for (size_t i = 0; i < pod.containers.size(); ++i) {
    const std::string& id = pod.containers[i].id;
    bool known = std::any_of(st->containers.begin(), st->containers.end(),
                             [&](const auto& kv) { return kv.second.id == id; });
    if (!known) st->containers[names.containers[i]].id = id;
  }
}

void PodTracker::AttachStartups(double now) {
  for (auto& [id, rec] : startups_) {
    if (rec.received == 0) rec.received = now;
    auto pod = pods_.find(rec.pod_uid);
    if (pod == pods_.end()) continue;
    for (auto& [name, cs] : pod->second.containers) {
      if (cs.id == id && !cs.startup) {
        cs.startup = rec;
        // Counted by name only: a histogram per short id would outlive its pod for ever.
        if (cs.named) CountStartup(name, rec);
      }
    }
  }
  // Joined records are done; one that never joins a container of a tracked pod (its pod gone, or
  // a container the metadata never names) is dropped after stale-after.
  std::erase_if(startups_, [&](const auto& kv) {
    if (now - kv.second.received > stale_after_) return true;
    auto pod = pods_.find(kv.second.pod_uid);
    if (pod == pods_.end()) return false;
    for (const auto& [name, cs] : pod->second.containers) {
      if (cs.id == kv.first) return cs.startup.has_value();
    }
    return false;
  });
}

void PodTracker::ForgetStale(double now) {
  forgotten_.clear();
  for (auto it = pods_.begin(); it != pods_.end();) {
    if (now - it->second.last_seen > stale_after_) {
      forgotten_.push_back(it->first);
      it = pods_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<PodNames> PodTracker::Join(const std::vector<PodSample>& pods,
                                       const std::vector<PodMeta>* meta, double now) {
  if (meta != nullptr) ApplyMetadata(*meta, now);
  std::vector<PodNames> names;
  names.reserve(pods.size());
  for (const PodSample& pod : pods) {
    TrackedPod& st = pods_[pod.uid];
    st.last_seen = now;
    if (st.qos_class.empty()) st.qos_class = std::string(QosClassName(pod.qos));
    names.push_back(NamesOf(pod, st));
    TrackContainers(pod, names.back(), &st);
  }
  AttachStartups(now);
  ForgetStale(now);
  return names;
}

void PodTracker::TrackUnseen(const std::string& uid, double now) {
  auto [it, inserted] = pods_.try_emplace(uid);
  if (inserted) it->second.last_seen = now;
}

void PodTracker::AddStartups(const std::map<std::string, StartupRecord>& startups) {
  for (const auto& [id, rec] : startups) startups_.emplace(id, rec);
}

}  // namespace podmeter
