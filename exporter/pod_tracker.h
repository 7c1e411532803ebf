// Joins pod metadata onto the cgroup samples and keeps what must outlive one sample: the names of
// pods whose metadata is momentarily unavailable, restart counts observed from container id
// changes, OOM kill totals, start-up measurements, and the stale-after timer of gone pods.
// Owned by the sampler thread; not thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collectors/pod_metadata.h"
#include "collectors/samples.h"
#include "exporter/family_builder.h"

namespace podmeter {

/// One container start as the start-up watcher measured it.
struct StartupRecord {
  std::string pod_uid;
  double start_time = 0;                  ///< unix seconds of the first process' exec
  std::optional<double> startup_seconds;  ///< exec → first listening TCP socket
};

class PodTracker {
 public:
  explicit PodTracker(double stale_after_seconds) : stale_after_(stale_after_seconds) {}

  /// Fills the names of `pods` from `meta` (or from the last metadata seen), counts restarts and
  /// records each pod's OOM total. `meta` may be null (no source, or none fetched yet).
  void Update(std::vector<PodSample>* pods, const std::vector<PodMeta>* meta, double now);

  /// Records start-up measurements by container id (taken once each).
  void AddStartups(const std::map<std::string, StartupRecord>& startups);

  /// Info, restart, OOM, start-up and readiness series of every pod seen within stale-after.
  void AddMetrics(FamilyBuilder* out) const;

  /// Pods dropped by the last Update because they were gone for longer than stale-after.
  const std::vector<std::string>& forgotten() const { return forgotten_; }

 private:
  struct ContainerState {
    std::string id;      ///< current container id
    bool named = false;  ///< the name comes from metadata (else it is the short id)
    uint64_t restarts = 0;
    std::optional<ContainerMeta> meta;
    std::optional<StartupRecord> startup;
  };
  struct PodState {
    double last_seen = 0;
    std::string namespace_name, name, qos_class;
    std::optional<PodMeta> meta;
    std::map<std::string, ContainerState> containers;  // by container name
    uint64_t oom_kills = 0;
  };

  struct StartupHistogram;
  void Join(PodSample* pod, PodState* state) const;
  static void Observe(StartupHistogram* h, double seconds);

  double stale_after_;
  std::map<std::string, PodState> pods_;           // by uid
  std::map<std::string, StartupRecord> startups_;  // by container id, until joined
  struct StartupHistogram {
    std::vector<uint64_t> cumulative;
    uint64_t count = 0;
    double sum = 0;
  };
  std::map<std::string, StartupHistogram> startup_history_;  // by container name
  std::vector<std::string> forgotten_;
};

}  // namespace podmeter
