// The cluster mode's pods: the Deployments, Services and HPAs of k8s/base on a real node, driven
// through the Kubernetes API (lab/kube_api.h). A poller thread keeps the apps' pods (every
// 0.5 s) and their Deployments and HPAs (every 2 s) in a cache, notes when each container turned
// Ready on the lab's clock, and records replicas over time while a scenario runs. The scenario
// hooks do what a node needs around k6: the squeeze's rollout to 50m with the HPAs off, the
// rolling update v1 → v2 and back, HPAs reset to their Deployments' base replicas in between.
// Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "lab/kube_api.h"
#include "lab/pods.h"

namespace podmeter::lab {

/// One Deployment's replica counts.
struct DeploymentState {
  std::string app;
  int spec_replicas = 0, status_replicas = 0, ready = 0, updated = 0, available = 0;
  int64_t generation = 0, observed_generation = 0;
  /// Rolled out: the controller saw the last change, every replica updated, ready, no old ones.
  bool RolledOut() const;
};

/// One HPA: bounds, what it wants and the CPU utilization it sees (% of the request).
struct HpaState {
  std::string app;
  int min_replicas = 0, max_replicas = 0, current_replicas = 0, desired_replicas = 0;
  std::optional<int> cpu_utilization, cpu_target;
};

/// The pods of `apps` (label app.kubernetes.io/name) in a v1 PodList, those being deleted left
/// out, ordered by app (as in `apps`) then creation: name, uid, first container, its id without
/// "containerd://", restarts, Ready, CPU limit, pod IP, container start (unix s). Pure.
std::vector<ReplicaState> ReplicasFromPodList(const nlohmann::json& list,
                                              const std::vector<std::string>& apps);
std::vector<DeploymentState> DeploymentsFromList(const nlohmann::json& list);
std::vector<HpaState> HpasFromList(const nlohmann::json& list);

/// The pod's Scheduled → Ready and container start → Ready seconds from its conditions and
/// container status (the API's RFC 3339 seconds); nullopt where a time is missing.
struct PodTimes {
  std::optional<double> created, scheduled, started, ready;
};
PodTimes PodTimesOf(const nlohmann::json& pod);

/// `kubectl top pods` from a metrics.k8s.io PodMetricsList: {pod: {"cpu_millicores",
/// "memory_bytes", "window_seconds"}}, the containers of a pod summed ("1234567n" nanocores,
/// "12345Ki"). Pure.
nlohmann::json TopFromPodMetrics(const nlohmann::json& list);

/// How many "Killing" events of `pod` say its liveness probe failed (an EventList). Pure.
int LivenessKills(const nlohmann::json& events, const std::string& pod);

/// How many times the kubelet's liveness probes of pod `namespace_name`/`pod` failed, from the
/// kubelet's /metrics/probes text: prober_probe_total{probe_type="Liveness",result="failed"}
/// summed over its containers. (Its "Unhealthy" events are no count: the kubelet's event
/// recorder passes 25 warnings per pod, then one every 5 minutes, and readiness failures every
/// second use them up.) Pure.
StatusOr<int> LivenessProbeFailures(std::string_view probe_metrics,
                                    const std::string& namespace_name, const std::string& pod);

/// The hpa scenario's table from the replicas recorded over it (app → [[t, spec replicas, ready,
/// CPU % of request or null], …]) and the HPAs: per app pods at start and end, the most pods,
/// scale-ups (rises of spec replicas), CPU peak and end against the target. Pure.
nlohmann::json HpaSummary(const nlohmann::json& timeline,
                          const std::map<std::string, HpaState>& hpas);

struct KubePodsOptions {
  std::string namespace_name = "podmeter-bench";
  std::vector<std::string> apps;
  std::string node_ip = "198.18.0.1";  ///< NodePorts answer here (k6's targets)
  std::string cgroup_pids_root = "/sys/fs/cgroup/pids/podmeter-node/kubepods";
  double rollout_timeout_seconds = 180;
  std::function<bool()> interrupted = [] { return false; };
};

class KubePods final : public Pods {
 public:
  KubePods(const KubeApi* api, KubePodsOptions options);
  ~KubePods() override;
  KubePods(const KubePods&) = delete;
  KubePods& operator=(const KubePods&) = delete;

  /// Reads the apps' Deployments, Services and HPAs as applied (the base to restore between
  /// scenarios) and starts the poller.
  Status Start();
  void Stop();

  std::string Mode() const override { return "cluster"; }
  std::vector<ReplicaState> Replicas() const override;
  bool AllReady() const override;
  std::string TargetUrl(const std::string& app) const override;
  bool Supports(const std::string&) const override { return true; }
  std::vector<std::string> KillModes() const override { return {"delete", "sigkill"}; }
  bool Kill(const std::string& app, int index, const std::string& mode) override;
  Status SetCpuLimit(const std::string& app, std::optional<int64_t> limit_millis) override;
  void BeginScenario(const std::string& scenario) override;
  nlohmann::json EndScenario(const std::string& scenario) override;
  Status StartRollout(const std::string& app) override;
  nlohmann::json RolloutResult(const std::string& app, double timeout) override;

  /// Every app back at its base replicas, rolled out and Ready, HPAs as applied (deleted and
  /// created again when an app is not at its base: an HPA's scale-down waits 5 minutes).
  Status Settle() override;
  /// Scales `app`'s Deployment (HPA untouched).
  Status Scale(const std::string& app, int replicas) const;
  /// Deletes every pod of `app` with grace period 0.
  Status DeletePods(const std::string& app) const;
  /// Deletes / creates again the HPA of `app` as applied (no-op when already so).
  Status RemoveHpa(const std::string& app);
  Status RestoreHpa(const std::string& app);
  /// The apps' pods straight from the API (not the cache), e.g. for the cold start's timing.
  StatusOr<nlohmann::json> PodList(const std::string& app) const;
  /// Sets every HPA's maxReplicas (--max-replicas) and keeps it for RestoreHpa.
  Status SetMaxReplicas(int max_replicas);
  std::map<std::string, DeploymentState> Deployments() const;
  /// What `kubectl top pods` shows for the namespace now (metrics-server), or null.
  nlohmann::json Top() const;
  std::vector<std::string> NodesProbeMetrics() const;
  std::map<std::string, HpaState> Hpas() const;
  const KubeApi* api() const { return api_; }

 private:
  void Poll();
  void PollOnce(int round);
  /// Until every app is rolled out (`ready_too`: and Ready), `timeout` or Ctrl-C.
  Status WaitRolledOut(const std::vector<std::string>& apps, double timeout, bool ready_too = true);
  std::string DeploymentPath(const std::string& app) const;
  std::string HpaPath(const std::string& app) const;

  const KubeApi* api_;
  KubePodsOptions o_;
  std::map<std::string, nlohmann::json> base_deployments_, base_hpas_;
  std::map<std::string, int> node_ports_;
  mutable std::mutex mutex_;
  std::vector<ReplicaState> replicas_;                  // GUARDED_BY(mutex_)
  std::map<std::string, double> ready_seen_;            // GUARDED_BY(mutex_): container id → t
  std::map<std::string, DeploymentState> deployments_;  // GUARDED_BY(mutex_)
  std::map<std::string, HpaState> hpas_;                // GUARDED_BY(mutex_)
  bool recording_ = false;                              // GUARDED_BY(mutex_)
  nlohmann::json timeline_ = nlohmann::json::object();  // GUARDED_BY(mutex_): app → samples
  std::map<std::string, int> restarts_at_begin_;        // GUARDED_BY(mutex_): pod → restarts
  std::map<std::string, double> rollout_started_;       // GUARDED_BY(mutex_)
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

}  // namespace podmeter::lab
