// The sampling loop: every interval, discover pods, run the collectors, build the metric families
// and publish them. One thread owns all collectors and the ProcessTable; Start/Stop are called from
// the main thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "collectors/cgroupfs/cgroup_discovery.h"
#include "collectors/cgroupfs/mountinfo.h"
#include "collectors/cgroupfs/watched_discovery.h"
#include "collectors/kube/pod_metadata.h"
#include "collectors/readers/collector.h"
#include "collectors/readers/metric_row.h"
#include "collectors/readers/samples.h"
#include "collectors/relay/relay.h"
#include "collectors/watchers/startup_watcher.h"
#include "exporter/self_metrics.h"
#include "exporter/snapshot_store.h"
#include "tracking/oom_accounting.h"
#include "tracking/pod_tracker.h"

namespace podmeter {

struct SamplerOptions {
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string proc_root = "/proc";
  /// Which kubepods trees are the kubelet's (--kubelet-cgroup-root, $POD_UID).
  KubeletTreeOptions kubelet_trees;
  std::chrono::milliseconds interval{1000};
  std::string version;
  double stale_after_seconds = 300;
  /// Start-up measurement of new containers (inotify + fast polling); off in fixture tests.
  bool watch_startups = true;
  std::chrono::milliseconds startup_timeout{60000};
};

/// Where the sampler gets pod metadata from: the latest good list (null: none yet) and the
/// source's failure counts by reason. Both may be empty functions (no metadata source).
struct MetadataFeed {
  std::function<std::shared_ptr<const std::vector<PodMeta>>()> latest;
  std::function<std::map<std::string, uint64_t>()> error_counts;
  /// The metrics relay's latest round (null: none yet); empty when the relay is off.
  std::function<std::shared_ptr<const RelaySnapshot>()> relay;
  /// The HTTP server's dropped connections by reason (HttpDrops); empty: no server (tests).
  std::function<std::map<std::string, uint64_t>()> http_drops;
};

/// Runs the steps of one sample: read (discover the pod cgroups, run the collectors, drop the pod
/// sandboxes: DropSandboxes in tracking/sandbox_filter.h) → join
/// (pod metadata, restarts, start-ups; OOM totals) → build (the metric families) → publish (to
/// the snapshot store). Each step is a function with typed input and output: ReadPods
/// (collectors/readers/pod_reader.h), PodTracker::Join and OomAccounting::Observe (tracking/),
/// AddResourceMetrics, AddTrackerMetrics, AddSelfMetrics, AddRelayMetrics/MergeRelayed (exporter/).
class Sampler {
 public:
  Sampler(SamplerOptions options, std::vector<std::unique_ptr<Collector>> collectors,
          SnapshotStore* store, MetadataFeed metadata = {});
  ~Sampler();
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  void Start();
  void Stop();
  /// One complete sample, published to the store. Used by the loop and by tests.
  void SampleOnce();

 private:
  void EnsureMounts();
  void NoteKubepodsTrees(std::vector<KubepodsTree> trees);
  void StartStartupWatcher();
  std::vector<PodSample> Read(const std::vector<PodMeta>* meta);
  std::vector<PodNames> Join(const std::vector<PodSample>& pods, const std::vector<PodMeta>* meta);
  /// What one sample publishes: the families built series by series (self, tracker, relay) and
  /// the per-pod and per-container ones written straight into the text (they refer to `pods`).
  struct Built {
    std::vector<prometheus::MetricFamily> families;
    std::vector<DirectFamily> direct;
  };
  Built Build(const std::vector<PodSample>& pods, const std::vector<PodNames>& names,
              std::chrono::steady_clock::time_point start);
  void Loop();

  SamplerOptions options_;
  std::vector<std::unique_ptr<Collector>> collectors_;
  std::vector<const MetricRow*> rows_;  // of collectors_, in order
  SnapshotStore* store_;
  MetadataFeed metadata_;
  CgroupMounts mounts_;
  WatchedDiscovery discovery_;
  bool logged_not_watching_ = false;
  PodTracker tracker_;
  std::unique_ptr<OomAccounting> oom_;               // once the mounts are known
  std::unique_ptr<StartupWatcher> startup_watcher_;  // once the mounts are known

  // Self-metric state, touched only by the sampling thread.
  SamplerCounters counters_;
  std::string last_error_logged_;
  std::string last_trees_logged_;

  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;  // GUARDED_BY(mutex_)
};

}  // namespace podmeter
