#include "exporter/self_metrics.h"

#include "exporter/self_stats.h"

namespace podmeter {
namespace {

void AddProcessMetrics(FamilyBuilder* out) {
  SelfStats self;
  if (!ReadSelfStats(&self)) return;
  out->Counter(kSelfProcessFamilies[0], "podmeter's own user and system CPU time, in seconds.", {},
               self.cpu_seconds);
  out->Gauge(kSelfProcessFamilies[1], "podmeter's own resident memory, in bytes.", {},
             static_cast<double>(self.resident_bytes));
  out->Gauge(kSelfProcessFamilies[2], "podmeter's start time since the unix epoch, in seconds.", {},
             self.start_time_seconds);
}

}  // namespace

namespace {

void AddStartupWatchMetrics(const StartupWatcherStats& s, FamilyBuilder* out) {
  out->Gauge("podmeter_startup_watch_pending_containers",
             "New containers the start-up watcher polls until they listen or time out.", {},
             static_cast<double>(s.pending));
  out->Gauge("podmeter_startup_watch_directories",
             "Directories the start-up watcher watches (inotify) for new containers.", {},
             static_cast<double>(s.watches));
  const std::pair<const char*, uint64_t> outcomes[] = {{"listened", s.measured},
                                                       {"never_listened", s.never_listened},
                                                       {"sandbox", s.sandboxes_skipped},
                                                       {"vanished", s.vanished}};
  for (const auto& [outcome, count] : outcomes) {
    out->Counter("podmeter_startup_watch_containers_total",
                 "New containers the start-up watcher finished with, by outcome.",
                 {{"outcome", outcome}}, static_cast<double>(count));
  }
  out->Counter("podmeter_startup_exec_events_lost_total",
               "Times the process connector's queue overflowed (exec events lost; those "
               "start-ups fall back to clock=\"fork\").",
               {}, static_cast<double>(s.connector_overruns));
}

}  // namespace

void AddSelfMetrics(const SamplerCounters& c, const std::string& version, FamilyBuilder* out) {
  out->Gauge("podmeter_build_info", "podmeter's version; always 1.", {{"version", version}}, 1);
  out->Counter("podmeter_samples_total", "Samples completed.", {}, static_cast<double>(c.samples));
  out->Gauge("podmeter_sample_duration_seconds",
             "Duration of the last complete sample, in seconds.", {}, c.last_duration_seconds);
  for (const auto& [name, seconds] : c.collector_seconds) {
    out->Gauge("podmeter_collector_duration_seconds",
               "Time the collector spent in the last sample, in seconds.", {{"collector", name}},
               seconds);
  }
  for (const auto& [name, count] : c.errors) {
    out->Counter("podmeter_sample_errors_total",
                 "Reads that failed (cgroup left out of that sample), by collector.",
                 {{"collector", name}}, static_cast<double>(count));
  }
  for (const auto& [level, count] : c.vanished) {
    out->Counter(
        "podmeter_vanished_cgroups_total",
        "Pod or container cgroups that disappeared while being read (left out of that sample).",
        {{"level", level}}, static_cast<double>(count));
  }
  out->Gauge("podmeter_discovered_pods", "Pod cgroups in the last sample.", {},
             static_cast<double>(c.discovered_pods));
  out->Gauge("podmeter_discovered_containers",
             "Container cgroups in the last sample (pod sandboxes excluded).", {},
             static_cast<double>(c.discovered_containers));
  out->Counter("podmeter_cgroup_walks_total",
               "Walks of the cgroup tree for pod and container cgroups: after a change inotify "
               "reported, else the last walk's result is reused (every sample without inotify).",
               {}, static_cast<double>(c.cgroup_walks));
  out->Gauge("podmeter_kept_open_files",
             "Files the collectors keep open between samples (--kept-open-files), each ~4.4 kB "
             "of kernel memory.",
             {}, static_cast<double>(c.kept_open_files));
  for (const KubepodsTree& t : c.kubepods_trees) {
    out->Gauge("podmeter_kubepods_tree_pods",
               "Pod cgroups in each kubepods tree found; read=\"false\": not the kubelet's, its "
               "pods are not reported (--kubelet-cgroup-root).",
               {{"path", t.path}, {"read", t.read ? "true" : "false"}},
               static_cast<double>(t.pods));
  }
  if (c.startup_watch) AddStartupWatchMetrics(*c.startup_watch, out);
  AddProcessMetrics(out);
}

}  // namespace podmeter
