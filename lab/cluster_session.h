// What `podmeter-lab run --cluster` does to a running node around the benchmark: checks it
// (API, node Ready, the images present), applies the part of k8s/base the run needs (the
// namespace, podmeter's DaemonSet and RBAC, the apps' Deployments, Services and HPAs: the
// output of `kubectl kustomize k8s/base` without the other servers), remembers every one of
// those objects as it was before, and gives the cluster back as it found it: objects it created
// deleted, objects that existed put back (HPAs created again, so their state is reset).
// Single-threaded.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/base/status.h"
#include "lab/kube_api.h"

namespace podmeter::lab {

/// One object of a manifest stream: kind, namespace ("" for cluster-scoped) and name.
struct ObjectRef {
  std::string kind, namespace_name, name;
  std::vector<std::string> images;  ///< the pod template's container images (workloads)
};

/// The manifests of a kustomize build (YAML stream) minus the reference servers that are not in
/// `apps` (label app.kubernetes.io/component=reference-server), re-emitted as a YAML stream,
/// with every object's reference. Documents without kind are dropped.
struct SelectedManifests {
  std::string yaml;
  std::vector<ObjectRef> objects;
};
StatusOr<SelectedManifests> SelectManifests(std::string_view kustomize_output,
                                            const std::vector<std::string>& apps);

/// The API path of an object (NotFound for a kind the lab does not handle).
StatusOr<std::string> ObjectPath(const ObjectRef& ref);

/// cluster-before.json, read back: each object with its state before the run (nullopt: it did
/// not exist, so the run created it). An object recorded as existing without its state (a record
/// written before the state was kept) is left out and named in `unknown`.
struct BeforeRecord {
  std::vector<ObjectRef> objects;
  std::vector<std::optional<nlohmann::json>> before;
  std::vector<std::string> unknown;
  bool restored = false;  ///< the run gave the cluster back itself
};
StatusOr<BeforeRecord> ParseBeforeRecord(const nlohmann::json& record);

/// "rust-api:dev" → "docker.io/library/rust-api:dev", as the CRI names it; full names unchanged.
std::string NormalizedImage(const std::string& image);

struct ClusterSessionOptions {
  std::string repo;     ///< k8s/base, scripts/cluster
  std::string run_dir;  ///< results/<run id>: cluster-applied.yaml, cluster-before.json, logs/
  std::string stack = "k8s/base";
  std::vector<std::string> apps;
  std::string node_name = "podmeter-node";
};

class ClusterSession {
 public:
  ClusterSession(const KubeApi* api, ClusterSessionOptions options)
      : api_(api), o_(std::move(options)) {}
  /// The API answers, the node is Ready, k8s/base builds and the node has its images.
  Status Check();
  /// Records the objects' state, then applies them (kubectl apply).
  Status Apply();
  /// Waits for podmeter's DaemonSet pod to be Ready; its pod IP.
  StatusOr<std::string> WaitPodmeter(double timeout, const std::function<bool()>& stop);
  /// Puts the objects back as recorded (bounded in time, not interruptible). Idempotent. Marks
  /// cluster-before.json as restored when it succeeded.
  Status Restore();
  /// For `podmeter-lab clean --cluster`: takes a killed run's record as if this session had
  /// applied it, so that Restore gives the cluster back.
  void Resume(BeforeRecord record);
  bool applied() const { return applied_; }

 private:
  Status Kubectl(const std::vector<std::string>& args, std::string* out) const;
  Status WaitGone(const ObjectRef& ref, double timeout) const;

  const KubeApi* api_;
  ClusterSessionOptions o_;
  SelectedManifests manifests_;
  std::vector<std::optional<nlohmann::json>> before_;  // per manifests_.objects
  bool applied_ = false, restored_ = false;
};

}  // namespace podmeter::lab
