#include "exporter/pod_tracker.h"

#include <algorithm>

namespace podmeter {
namespace {

// Buckets of podmeter_container_startup_duration_seconds: from a Rust binary's few ms to a slow
// JVM's tens of seconds.
const std::vector<double> kStartupBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                             1,     2.5,  5,     10,   30,  60};

}  // namespace

void PodTracker::Observe(StartupHistogram* h, double seconds) {
  if (h->cumulative.empty()) h->cumulative.assign(kStartupBuckets.size(), 0);
  for (size_t i = 0; i < kStartupBuckets.size(); ++i) {
    if (seconds <= kStartupBuckets[i]) ++h->cumulative[i];
  }
  ++h->count;
  h->sum += seconds;
}

void PodTracker::Update(std::vector<PodSample>* pods, const std::vector<PodMeta>* meta,
                        double now) {
  if (meta != nullptr) {
    for (const PodMeta& m : *meta) {
      PodState& st = pods_[m.uid];
      st.last_seen = now;
      st.namespace_name = m.namespace_name;
      st.name = m.name;
      st.qos_class = m.qos_class;
      st.meta = m;
      for (const ContainerMeta& c : m.containers) {
        if (c.container_id.empty()) continue;
        ContainerState& cs = st.containers[c.name];
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
          if (!cs.startup) cs.startup = unnamed->second.startup;
          st.containers.erase(unnamed);
        }
      }
    }
  }
  for (PodSample& pod : *pods) {
    PodState& st = pods_[pod.uid];
    st.last_seen = now;
    if (st.qos_class.empty()) st.qos_class = std::string(QosClassName(pod.qos));
    st.oom_kills = std::max(st.oom_kills, pod.oom_kills);
    Join(&pod, &st);
    // Containers without metadata are tracked under their short id while their cgroup lives.
    std::erase_if(st.containers, [&](const auto& kv) {
      if (kv.second.named) return false;
      return std::none_of(pod.containers.begin(), pod.containers.end(),
                          [&](const ContainerSample& c) { return c.id == kv.second.id; });
    });
    for (const ContainerSample& c : pod.containers) {
      bool known = std::any_of(st.containers.begin(), st.containers.end(),
                               [&](const auto& kv) { return kv.second.id == c.id; });
      if (!known) st.containers[c.name].id = c.id;
    }
  }
  for (auto& [id, rec] : startups_) {
    auto pod = pods_.find(rec.pod_uid);
    if (pod == pods_.end()) continue;
    for (auto& [name, cs] : pod->second.containers) {
      if (cs.id == id && !cs.startup) {
        cs.startup = rec;
        if (rec.startup_seconds) Observe(&startup_history_[name], *rec.startup_seconds);
      }
    }
  }
  std::erase_if(startups_, [&](const auto& kv) {
    auto pod = pods_.find(kv.second.pod_uid);
    if (pod == pods_.end()) return false;
    for (const auto& [name, cs] : pod->second.containers) {
      if (cs.id == kv.first) return cs.startup.has_value();
    }
    return false;
  });
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

void PodTracker::Join(PodSample* pod, PodState* st) const {
  if (!st->name.empty()) {
    pod->name = st->name;
    pod->namespace_name = st->namespace_name;
  }
  for (ContainerSample& c : pod->containers) {
    for (const auto& [name, cs] : st->containers) {
      if (cs.id == c.id) c.name = name;
    }
  }
}

void PodTracker::AddStartups(const std::map<std::string, StartupRecord>& startups) {
  for (const auto& [id, rec] : startups) startups_.emplace(id, rec);
}

void PodTracker::AddMetrics(FamilyBuilder* out) const {
  for (const auto& [uid, st] : pods_) {
    const std::string pod_name = st.name.empty() ? uid : st.name;
    Labels pod_labels = {{"namespace", st.namespace_name}, {"pod", pod_name}};
    std::string app, node;
    if (st.meta) {
      app = st.meta->app;
      node = st.meta->node;
    }
    out->Gauge("podmeter_pod_info", "Pod identity; always 1.",
               {{"namespace", st.namespace_name},
                {"pod", pod_name},
                {"uid", uid},
                {"node", node},
                {"qos_class", st.qos_class},
                {"app", app}},
               1);
    out->Counter("podmeter_pod_oom_kills_total",
                 "OOM kills in the pod's containers, kept across container replacement.",
                 pod_labels, static_cast<double>(st.oom_kills));
    if (st.meta && st.meta->ready_time && st.meta->scheduled_time) {
      out->Gauge("podmeter_pod_scheduled_to_ready_seconds",
                 "From the PodScheduled to the Ready condition, in seconds.", pod_labels,
                 *st.meta->ready_time - *st.meta->scheduled_time);
    }
    if (st.meta && st.meta->ready_time && st.meta->start_time) {
      out->Gauge("podmeter_pod_start_to_ready_seconds",
                 "From the pod's startTime to its Ready condition, in seconds.", pod_labels,
                 *st.meta->ready_time - *st.meta->start_time);
    }
    for (const auto& [name, cs] : st.containers) {
      Labels labels = {{"namespace", st.namespace_name}, {"pod", pod_name}, {"container", name}};
      if (cs.named) {
        out->Counter("podmeter_container_restarts_total",
                     "Container restarts podmeter observed (a new container id for the same "
                     "pod and container name).",
                     labels, static_cast<double>(cs.restarts));
      }
      if (cs.meta) {
        out->Gauge("podmeter_container_info", "Container identity; always 1.",
                   {{"namespace", st.namespace_name},
                    {"pod", pod_name},
                    {"container", name},
                    {"container_id", cs.id},
                    {"image", cs.meta->image}},
                   1);
        out->Gauge("podmeter_container_kubelet_restarts",
                   "The container's restartCount as the kubelet reports it.", labels,
                   cs.meta->restart_count);
        if (!cs.meta->last_termination_reason.empty()) {
          Labels with_reason = labels;
          with_reason.push_back({"reason", cs.meta->last_termination_reason});
          out->Gauge("podmeter_container_last_termination_reason_info",
                     "Why the container's previous instance terminated; always 1.", with_reason, 1);
        }
      }
      if (cs.startup) {
        out->Gauge("podmeter_container_start_time_seconds",
                   "Exec time of the container's first process, unix seconds.", labels,
                   cs.startup->start_time);
        if (cs.startup->startup_seconds) {
          out->Gauge("podmeter_container_startup_seconds",
                     "From the first process' exec to its first listening TCP socket, seconds.",
                     labels, *cs.startup->startup_seconds);
        }
      }
    }
  }
  for (const auto& [name, h] : startup_history_) {
    out->Histogram("podmeter_container_startup_duration_seconds",
                   "Exec → first listening socket of every container start seen, by container "
                   "name.",
                   {{"container", name}}, kStartupBuckets, h.cumulative, h.count, h.sum);
  }
}

}  // namespace podmeter
