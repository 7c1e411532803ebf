#include "exporter/tracker_metrics.h"

namespace podmeter {
namespace {

void AddPodSeries(const std::string& uid, const TrackedPod& st, uint64_t oom_kills,
                  FamilyBuilder* out) {
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
               "OOM kills in the pod's containers (a memory.oom.group kill counts once), kept "
               "across container replacement.",
               pod_labels, static_cast<double>(oom_kills));
  // To the first Ready seen: a pod that goes unready and Ready again keeps its figure.
  if (st.meta && st.first_ready_time && st.meta->scheduled_time) {
    out->Gauge("podmeter_pod_scheduled_to_ready_seconds",
               "From the PodScheduled condition to the pod's first Ready, in seconds.", pod_labels,
               *st.first_ready_time - *st.meta->scheduled_time);
  }
  if (st.meta && st.first_ready_time && st.meta->start_time) {
    out->Gauge("podmeter_pod_start_to_ready_seconds",
               "From the pod's startTime to its first Ready, in seconds.", pod_labels,
               *st.first_ready_time - *st.meta->start_time);
  }
}

void AddContainerMetaSeries(const Labels& labels, const std::string& id, const ContainerMeta& meta,
                            FamilyBuilder* out) {
  Labels info = labels;
  info.push_back({"container_id", id});
  info.push_back({"image", meta.image});
  out->Gauge("podmeter_container_info", "Container identity; always 1.", info, 1);
  out->Gauge("podmeter_container_kubelet_restarts",
             "The container's restartCount as the kubelet reports it.", labels, meta.restart_count);
  if (!meta.last_termination_reason.empty()) {
    Labels with_reason = labels;
    with_reason.push_back({"reason", meta.last_termination_reason});
    out->Gauge("podmeter_container_last_termination_reason_info",
               "Why the container's previous instance terminated; always 1.", with_reason, 1);
  }
}

void AddContainerSeries(const Labels& labels, const TrackedContainer& cs, FamilyBuilder* out) {
  if (cs.named) {
    out->Counter("podmeter_container_restarts_total",
                 "Container restarts podmeter observed (a new container id for the same "
                 "pod and container name).",
                 labels, static_cast<double>(cs.restarts));
  }
  if (cs.meta) AddContainerMetaSeries(labels, cs.id, *cs.meta, out);
  if (cs.startup) {
    Labels with_clock = labels;
    with_clock.push_back({"clock", cs.startup->clock});
    out->Gauge("podmeter_container_start_time_seconds",
               "Start of the container's application process, unix seconds: its exec "
               "(clock=\"exec\") or, without the process connector, its fork (clock=\"fork\").",
               with_clock, cs.startup->start_time);
    if (cs.startup->startup_seconds) {
      out->Gauge("podmeter_container_startup_seconds",
                 "From the application process' start (clock: exec or fork) to its first "
                 "listening TCP socket, seconds.",
                 with_clock, *cs.startup->startup_seconds);
    }
  }
}

}  // namespace

void AddTrackerMetrics(const PodTracker& tracker, const std::map<std::string, uint64_t>& oom_kills,
                       FamilyBuilder* out) {
  for (const auto& [uid, st] : tracker.pods()) {
    auto kills = oom_kills.find(uid);
    AddPodSeries(uid, st, kills == oom_kills.end() ? 0 : kills->second, out);
    const std::string pod_name = st.name.empty() ? uid : st.name;
    for (const auto& [name, cs] : st.containers) {
      AddContainerSeries({{"namespace", st.namespace_name}, {"pod", pod_name}, {"container", name}},
                         cs, out);
    }
  }
  for (const auto& [key, h] : tracker.startup_history()) {
    out->Histogram("podmeter_container_startup_duration_seconds",
                   "Start (clock: exec or fork) → first listening socket of every container "
                   "start seen, by container name.",
                   {{"container", key.first}, {"clock", key.second}}, kStartupBuckets, h.cumulative,
                   h.count, h.sum);
  }
}

void AddOomSourceMetrics(const std::map<std::string, uint64_t>& by_source, FamilyBuilder* out) {
  for (const auto& [source, kills] : by_source) {
    out->Counter(
        "podmeter_oom_kills_counted_total",
        "OOM kills added to podmeter_pod_oom_kills_total, by the path that saw them "
        "first (v1: eventfd, poll, watch_start, sample; v2: container_events, pod_events).",
        {{"source", source}}, static_cast<double>(kills));
  }
}

}  // namespace podmeter
