// "The pods" a benchmark runs against, whoever runs them: the lab's own PodManager (processes in
// kubelet-shaped cgroups on this host) or KubePods (the Deployments of k8s/base on a real node,
// through the Kubernetes API). The scenarios (lab/benchmark.h) only use this interface.
// Implementations are thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "collectors/base/status.h"

namespace podmeter::lab {

/// One replica (pod with its first container) as the scenarios see it.
struct ReplicaState {
  std::string app, pod, uid, container, container_id;
  std::string ip = "127.0.0.1";  ///< where the server's own port answers (the pod IP on a node)
  int port = 0, pid = 0, restarts = 0;
  bool ready = false;
  std::optional<int64_t> cpu_limit_millis;
  /// On this host: relative to the hierarchy roots, kubepods/<qos>/pod<uid> and, while running,
  /// …/<id> (empty on a node).
  std::string pod_cgroup, container_cgroup;
  std::optional<double> started_at;   ///< the running container's start, unix s
  std::optional<double> ready_since;  ///< when the running container turned Ready, unix s
};

class Pods {
 public:
  virtual ~Pods() = default;
  /// "host" (the lab's cgroups) or "cluster" (a Kubernetes node); summary.json's `mode`.
  virtual std::string Mode() const = 0;
  /// Every replica that is not being deleted, ordered by app then age.
  virtual std::vector<ReplicaState> Replicas() const = 0;
  /// Every replica Ready (and at least one).
  virtual bool AllReady() const = 0;
  /// The URL k6 sends `app`'s requests to ("" when the app has none).
  virtual std::string TargetUrl(const std::string& app) const = 0;
  /// Whether this kind of pods can run `scenario` (hpa and rolling-update need a node).
  virtual bool Supports(const std::string& scenario) const = 0;
  /// The ways the pod-kill scenario kills a replica: "sigkill" (its container's processes),
  /// and on a node also "delete" (the pod, grace period 0).
  virtual std::vector<std::string> KillModes() const = 0;
  /// Kills replica `index` (in Replicas() order) of `app` as `mode` says; false if it could not.
  virtual bool Kill(const std::string& app, int index, const std::string& mode) = 0;
  /// Sets the CPU limit of every pod of `app` (the squeeze; on a node request = limit, through a
  /// rollout). The limit the app started with restores it as it was. Returns once the change is
  /// in place (on a node: the rollout finished or timed out).
  virtual Status SetCpuLimit(const std::string& app, std::optional<int64_t> limit_millis) = 0;
  /// Scenario hooks: before k6 starts, about every second while it runs (seconds since Begin),
  /// and after it ended; End's object is merged into the scenario's summary entry.
  virtual void BeginScenario(const std::string& /*scenario*/) {}
  virtual void TickScenario(const std::string& /*scenario*/, double /*elapsed*/) {}
  virtual nlohmann::json EndScenario(const std::string& /*scenario*/) {
    return nlohmann::json::object();
  }
  /// After a scenario: every app back as it started (on a node: base replicas, rolled out,
  /// HPAs reset) and Ready, or why not.
  virtual Status Settle() = 0;
  /// rolling-update: starts `app`'s rollout to a new revision (v1 → v2); Unavailable where not
  /// supported. RolloutResult: the rollout's figures once it finished or `timeout` passed.
  virtual Status StartRollout(const std::string& app) { return Status::Unavailable(app); }
  virtual nlohmann::json RolloutResult(const std::string& /*app*/, double /*timeout*/) {
    return nullptr;
  }
};

}  // namespace podmeter::lab
