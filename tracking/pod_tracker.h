// Joins pod metadata onto the cgroup samples and keeps what must outlive one sample: the names of
// pods whose metadata is momentarily unavailable, restart counts observed from container id
// changes, start-up measurements, and the stale-after timer of gone pods (OOM kill totals are
// OomAccounting's).
// Plain state, no metrics format: the exporter turns pods() and startup_history() into series.
// Owned by the sampler thread; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "collectors/kube/pod_metadata.h"
#include "collectors/readers/samples.h"

namespace podmeter {

/// One container start as the start-up watcher measured it.
struct StartupRecord {
  std::string pod_uid;
  double start_time = 0;  ///< unix seconds of the application process' exec (or fork: `clock`)
  std::optional<double> startup_seconds;  ///< start → first listening TCP socket
  std::string clock = "exec";  ///< the instant measured from: "exec" or "fork" (StartupClockName)
  double received = 0;         ///< when Join first saw it (set by Join)
};

/// Buckets of the start-up histogram: from a Rust binary's few ms to a slow JVM's tens of seconds.
inline const std::vector<double> kStartupBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                    1,     2.5,  5,     10,   30,  60};

/// One container (by name) of a tracked pod.
struct TrackedContainer {
  std::string id;      ///< current container id
  bool named = false;  ///< the name comes from metadata (else it is the short id)
  uint64_t restarts = 0;
  std::optional<ContainerMeta> meta;
  std::optional<StartupRecord> startup;
};

/// One pod seen in the samples or the metadata within stale-after.
struct TrackedPod {
  double last_seen = 0;
  std::string namespace_name, name, qos_class;
  std::optional<PodMeta> meta;
  /// The Ready condition's lastTransitionTime the first time this pod was seen Ready: a pod that
  /// goes unready and Ready again keeps it (the PodList only holds the latest transition).
  std::optional<double> first_ready_time;
  std::map<std::string, TrackedContainer> containers;  // by container name
};

/// The names one read pod is exported under.
struct PodNames {
  std::string namespace_name;           ///< empty until the pod is in the metadata
  std::string pod;                      ///< the pod's name; its uid until it is known
  std::vector<std::string> containers;  ///< per PodSample::containers: name, or the 12-digit id
};

/// Every start-up seen for one container name and clock, in kStartupBuckets.
struct StartupHistogram {
  std::vector<uint64_t> cumulative;  ///< per bound of kStartupBuckets
  uint64_t count = 0;
  double sum = 0;
};

class PodTracker {
 public:
  explicit PodTracker(double stale_after_seconds) : stale_after_(stale_after_seconds) {}

  /// The join step: records `meta` (null: no source, or none fetched yet) and the pods read in
  /// this sample (restarts, containers seen without metadata, start-ups), forgets pods gone for
  /// longer than stale-after, and returns the names each pod of `pods` is exported under (from
  /// this or the last metadata seen), in the same order.
  std::vector<PodNames> Join(const std::vector<PodSample>& pods, const std::vector<PodMeta>* meta,
                             double now);

  /// Tracks a pod known from elsewhere only (an OOM kill the watcher read after the pod's cgroups
  /// were gone, before any sample listed it) as if seen at `now`, unless it is tracked already:
  /// its series are served and it is forgotten after stale-after like any other pod (with
  /// OomAccounting's state for it, through forgotten()).
  void TrackUnseen(const std::string& uid, double now);

  /// Records start-up measurements by container id (taken once each; dropped when no container
  /// of a tracked pod takes them within stale-after).
  void AddStartups(const std::map<std::string, StartupRecord>& startups);

  /// Every pod seen within stale-after, by uid.
  const std::map<std::string, TrackedPod>& pods() const { return pods_; }
  /// Start-up durations of every container start seen, by (container name, clock): a container
  /// counts once the metadata names it (never under its short id).
  const std::map<std::pair<std::string, std::string>, StartupHistogram>& startup_history() const {
    return startup_history_;
  }

  /// Start-up records not yet joined to a container (bounded: see AddStartups).
  size_t pending_startups() const { return startups_.size(); }

  /// Pods dropped by the last Join because they were gone for longer than stale-after.
  const std::vector<std::string>& forgotten() const { return forgotten_; }

 private:
  void ApplyMetadata(const std::vector<PodMeta>& meta, double now);
  static PodNames NamesOf(const PodSample& pod, const TrackedPod& st);
  static void TrackContainers(const PodSample& pod, const PodNames& names, TrackedPod* st);
  void AttachStartups(double now);
  void ForgetStale(double now);
  static void Observe(StartupHistogram* h, double seconds);
  /// Adds a joined start-up to the histogram of its container name.
  void CountStartup(const std::string& container_name, const StartupRecord& rec);

  double stale_after_;
  std::map<std::string, TrackedPod> pods_;         // by uid
  std::map<std::string, StartupRecord> startups_;  // by container id, until joined
  std::map<std::pair<std::string, std::string>, StartupHistogram> startup_history_;
  std::vector<std::string> forgotten_;
};

}  // namespace podmeter
