// The cluster mode's pure parts: the kubeconfig reader, the API answers read into replicas,
// Deployments, HPAs and pod times, the liveness-kill count, the HPA table, the manifest
// selection and object paths, the per-mode k6 environment.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lab/benchmark.h"
#include "lab/cluster_session.h"
#include "lab/kube_api.h"
#include "lab/kube_pods.h"

namespace podmeter::lab {
namespace {

using nlohmann::json;

TEST(ParseKubeConfig, ScriptsClusterAdminKubeconfig) {
  auto c = ParseKubeConfig(R"(apiVersion: v1
kind: Config
clusters:
  - name: other
    cluster: {server: https://10.0.0.1:6443, certificate-authority: /x}
  - name: podmeter
    cluster:
      server: https://198.18.0.1:6443
      certificate-authority: /pki/ca.crt
users:
  - name: admin
    user:
      client-certificate: /pki/admin.crt
      client-key: /pki/admin.key
contexts:
  - name: admin@podmeter
    context: {cluster: podmeter, user: admin}
current-context: admin@podmeter
)");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "https://198.18.0.1:6443");
  EXPECT_EQ(c->ca_file, "/pki/ca.crt");
  EXPECT_EQ(c->cert_file, "/pki/admin.crt");
  EXPECT_EQ(c->key_file, "/pki/admin.key");
}

TEST(ParseKubeConfig, EmbeddedCertificatesAreRefusedByName) {
  auto c = ParseKubeConfig(
      R"(clusters: [{name: c, cluster: {server: https://a, certificate-authority: /ca}}]
users: [{name: u, user: {client-certificate-data: AAAA, client-key-data: BBBB}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
)");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("client-certificate"), std::string::npos);
  EXPECT_FALSE(ParseKubeConfig("current-context: nowhere\n").ok());
  EXPECT_FALSE(ParseKubeConfig("[").ok());
}

TEST(UrlEncode, LabelSelector) {
  EXPECT_EQ(UrlEncode("app.kubernetes.io/name=go-api"), "app.kubernetes.io%2Fname%3Dgo-api");
}

json Pod(const std::string& app, const std::string& name, const std::string& created, bool ready,
         int restarts) {
  return json::parse(R"({"metadata": {"name": ")" + name + R"(", "uid": "u-)" + name +
                     R"(", "creationTimestamp": ")" + created +
                     R"(", "labels": {"app.kubernetes.io/name": ")" + app + R"("}},
    "spec": {"containers": [{"name": "server", "ports": [{"containerPort": 8080}],
                             "resources": {"limits": {"cpu": "500m"}}}]},
    "status": {"podIP": "198.18.1.7", "containerStatuses": [{"name": "server",
      "containerID": "containerd://abc123", "restartCount": )" +
                     std::to_string(restarts) + R"(, "ready": )" + (ready ? "true" : "false") +
                     R"(, "state": {"running": {"startedAt": "2026-12-06T07:00:01Z"}}}]}})");
}

TEST(ReplicasFromPodList, OrderedByAppThenAgeWithoutDeletedPods) {
  json deleted = Pod("go-api", "go-old", "2026-12-06T06:00:00Z", true, 0);
  deleted["metadata"]["deletionTimestamp"] = "2026-12-06T07:00:00Z";
  json list = {{"items",
                {Pod("go-api", "go-b", "2026-12-06T07:00:00Z", false, 0),
                 Pod("django-api", "dj", "2026-12-06T07:00:00Z", true, 2),
                 Pod("go-api", "go-a", "2026-12-06T06:59:00Z", true, 1), deleted,
                 Pod("flask-api", "other", "2026-12-06T07:00:00Z", true, 0)}}};
  auto r = ReplicasFromPodList(list, {"go-api", "django-api"});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].pod, "go-a");
  EXPECT_EQ(r[1].pod, "go-b");
  EXPECT_EQ(r[2].pod, "dj");
  EXPECT_EQ(r[0].app, "go-api");
  EXPECT_EQ(r[0].uid, "u-go-a");
  EXPECT_EQ(r[0].container, "server");
  EXPECT_EQ(r[0].container_id, "abc123");
  EXPECT_EQ(r[0].ip, "198.18.1.7");
  EXPECT_EQ(r[0].port, 8080);
  EXPECT_EQ(r[0].restarts, 1);
  EXPECT_TRUE(r[0].ready);
  EXPECT_FALSE(r[1].ready);
  EXPECT_EQ(r[0].cpu_limit_millis, 500);
  ASSERT_TRUE(r[0].started_at.has_value());
  EXPECT_DOUBLE_EQ(*r[0].started_at, 1796540401);  // 2026-12-06T07:00:01Z
  EXPECT_EQ(r[2].restarts, 2);
}

TEST(DeploymentsFromList, RolledOutOnlyWhenEveryReplicaIsNewAndReady) {
  json list = json::parse(R"({"items": [
    {"metadata": {"name": "go-api", "generation": 3}, "spec": {"replicas": 2},
     "status": {"observedGeneration": 3, "replicas": 2, "readyReplicas": 2, "updatedReplicas": 2,
                "availableReplicas": 2}},
    {"metadata": {"name": "rust-api", "generation": 4}, "spec": {"replicas": 2},
     "status": {"observedGeneration": 4, "replicas": 3, "readyReplicas": 3, "updatedReplicas": 2}},
    {"metadata": {"name": "django-api", "generation": 5}, "spec": {"replicas": 2},
     "status": {"observedGeneration": 4, "replicas": 2, "readyReplicas": 2, "updatedReplicas": 2}}
  ]})");
  auto d = DeploymentsFromList(list);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_TRUE(d[0].RolledOut());
  EXPECT_FALSE(d[1].RolledOut());  // an old pod is still there
  EXPECT_FALSE(d[2].RolledOut());  // the controller has not seen the last change
  EXPECT_EQ(d[0].available, 2);
}

TEST(HpasFromList, BoundsDesiredAndCpuAgainstTarget) {
  json list = json::parse(R"({"items": [{"spec": {"scaleTargetRef": {"name": "django-api"},
    "minReplicas": 2, "maxReplicas": 10, "metrics": [{"type": "Resource", "resource": {"name":
    "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]},
    "status": {"currentReplicas": 4, "desiredReplicas": 10, "currentMetrics": [{"type":
    "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 412}}}]}},
    {"spec": {"scaleTargetRef": {"name": "go-api"}, "minReplicas": 2, "maxReplicas": 10}}]})");
  auto h = HpasFromList(list);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].app, "django-api");
  EXPECT_EQ(h[0].min_replicas, 2);
  EXPECT_EQ(h[0].max_replicas, 10);
  EXPECT_EQ(h[0].current_replicas, 4);
  EXPECT_EQ(h[0].desired_replicas, 10);
  EXPECT_EQ(h[0].cpu_target, 50);
  EXPECT_EQ(h[0].cpu_utilization, 412);
  EXPECT_FALSE(h[1].cpu_utilization.has_value());  // metrics-server has no figure yet
}

TEST(PodTimesOf, ConditionsAndContainerStart) {
  json pod = json::parse(R"({"metadata": {"creationTimestamp": "2026-12-06T07:00:00Z"},
    "status": {"conditions": [
      {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-12-06T07:00:00Z"},
      {"type": "Ready", "status": "True", "lastTransitionTime": "2026-12-06T07:00:04Z"}],
      "containerStatuses": [{"state": {"running": {"startedAt": "2026-12-06T07:00:02Z"}}}]}})");
  PodTimes t = PodTimesOf(pod);
  ASSERT_TRUE(t.scheduled && t.ready && t.started && t.created);
  EXPECT_DOUBLE_EQ(*t.ready - *t.scheduled, 4);
  EXPECT_DOUBLE_EQ(*t.ready - *t.started, 2);
  pod["status"]["conditions"][1]["status"] = "False";
  EXPECT_FALSE(PodTimesOf(pod).ready.has_value());
}

TEST(LivenessKills, CountsTheKubeletsKillingEventsOfThePod) {
  json events = json::parse(R"({"items": [
    {"involvedObject": {"name": "dj-1"}, "reason": "Killing", "count": 2,
     "message": "Container server failed liveness probe, will be restarted"},
    {"involvedObject": {"name": "dj-1"}, "reason": "Unhealthy",
     "message": "Liveness probe failed: context deadline exceeded"},
    {"involvedObject": {"name": "dj-1"}, "reason": "Killing", "message": "Stopping container server"},
    {"involvedObject": {"name": "dj-2"}, "reason": "Killing",
     "message": "Container server failed liveness probe, will be restarted"}]})");
  EXPECT_EQ(LivenessKills(events, "dj-1"), 2);
  EXPECT_EQ(LivenessKills(events, "dj-2"), 1);
  EXPECT_EQ(LivenessKills(events, "go-1"), 0);
}

// As a v1.34 kubelet's /metrics/probes answers (its HELP and TYPE lines, label order).
constexpr const char* kProbeMetrics =
    R"(# HELP prober_probe_total [BETA] Cumulative number of a liveness, readiness or startup probe for a container by result.
# TYPE prober_probe_total counter
prober_probe_total{container="django-api",namespace="podmeter-lab",pod="dj-1",pod_uid="5a1",probe_type="Liveness",result="failed"} 4
prober_probe_total{container="django-api",namespace="podmeter-lab",pod="dj-1",pod_uid="5a1",probe_type="Liveness",result="successful"} 2
prober_probe_total{container="django-api",namespace="podmeter-lab",pod="dj-1",pod_uid="5a1",probe_type="Readiness",result="failed"} 31
prober_probe_total{container="django-api",namespace="other",pod="dj-1",pod_uid="7b2",probe_type="Liveness",result="failed"} 9
prober_probe_total{container="django-api",namespace="podmeter-lab",pod="dj-2",pod_uid="5a2",probe_type="Liveness",result="successful"} 6
)";

TEST(LivenessProbeFailures, SumsTheKubeletsFailedLivenessProbesOfThePod) {
  EXPECT_EQ(*LivenessProbeFailures(kProbeMetrics, "podmeter-lab", "dj-1"), 4);
  EXPECT_EQ(*LivenessProbeFailures(kProbeMetrics, "other", "dj-1"), 9);
  EXPECT_EQ(*LivenessProbeFailures(kProbeMetrics, "podmeter-lab", "dj-2"), 0);
  EXPECT_EQ(*LivenessProbeFailures(kProbeMetrics, "podmeter-lab", "gone"), 0);
}

TEST(LivenessProbeFailures, AMalformedAnswerIsAnError) {
  auto n = LivenessProbeFailures("prober_probe_total{pod=\"x\" 1\n", "ns", "x");
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.status().message().find("/metrics/probes"), std::string::npos);
}

TEST(TopFromPodMetrics, KubectlTopsFiguresPerPod) {
  json list = json::parse(R"({"items": [
    {"metadata": {"name": "rust-1"}, "window": "15.012s",
     "containers": [{"name": "server", "usage": {"cpu": "1234567n", "memory": "1024Ki"}}]},
    {"metadata": {"name": "dj-1"}, "window": "15s",
     "containers": [{"name": "server", "usage": {"cpu": "250m", "memory": "120Mi"}},
                    {"name": "side", "usage": {"cpu": "0", "memory": "0"}}]}]})");
  json top = TopFromPodMetrics(list);
  EXPECT_NEAR(top["rust-1"]["cpu_millicores"].get<double>(), 1.234567, 1e-9);
  EXPECT_EQ(top["rust-1"]["memory_bytes"], 1048576.0);
  EXPECT_NEAR(top["rust-1"]["window_seconds"].get<double>(), 15.012, 1e-9);
  EXPECT_EQ(top["dj-1"]["cpu_millicores"], 250.0);
  EXPECT_EQ(top["dj-1"]["memory_bytes"], 125829120.0);
}

TEST(HpaSummary, ScaleUpsPeakAndEnd) {
  json timeline = json::parse(R"({
    "django-api": [[1, 2, 2, null], [3, 2, 2, 380], [5, 4, 2, 410], [7, 4, 4, 190], [9, 6, 5, 120]],
    "go-api": [[1, 2, 2, 3], [3, 2, 2, 9]]})");
  std::map<std::string, HpaState> hpas;
  hpas["django-api"] = {"django-api", 2, 6, 6, 6, 120, 50};
  json rows = HpaSummary(timeline, hpas);
  ASSERT_EQ(rows.size(), 2u);
  const json& dj = rows[0];
  EXPECT_EQ(dj["app"], "django-api");
  EXPECT_EQ(dj["pods_at_start"], 2);
  EXPECT_EQ(dj["pods_at_end"], 6);
  EXPECT_EQ(dj["ready_at_end"], 5);
  EXPECT_EQ(dj["max_pods"], 6);
  EXPECT_EQ(dj["scale_ups"], 2);
  EXPECT_EQ(dj["cpu_utilization_peak_percent"], 410);
  EXPECT_EQ(dj["cpu_utilization_end_percent"], 120);
  EXPECT_EQ(dj["cpu_target_percent"], 50);
  EXPECT_EQ(dj["max_replicas"], 6);
  EXPECT_EQ(rows[1]["scale_ups"], 0);
  EXPECT_FALSE(rows[1].contains("max_replicas"));
}

TEST(SelectManifests, OnlyTheRunsServersBesidePodmeter) {
  auto m = SelectManifests(R"(apiVersion: v1
kind: Namespace
metadata: {name: podmeter-bench}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: go-api
  namespace: podmeter-bench
  labels: {app.kubernetes.io/name: go-api, app.kubernetes.io/component: reference-server}
spec:
  template:
    metadata:
      annotations: {podmeter.io/scrape: "true", podmeter.io/port: "8080"}
    spec:
      containers: [{name: server, image: go-api:dev}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: flask-api
  namespace: podmeter-bench
  labels: {app.kubernetes.io/name: flask-api, app.kubernetes.io/component: reference-server}
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: podmeter
  namespace: podmeter-bench
  labels: {app.kubernetes.io/name: podmeter, app.kubernetes.io/component: exporter}
spec:
  template:
    spec:
      containers: [{name: podmeter, image: podmeter:dev}]
)",
                           {"go-api", "rust-api"});
  ASSERT_TRUE(m.ok()) << m.status().message();
  ASSERT_EQ(m->objects.size(), 3u);
  EXPECT_EQ(m->objects[0].kind, "Namespace");
  EXPECT_EQ(m->objects[0].namespace_name, "");
  EXPECT_EQ(m->objects[1].name, "go-api");
  EXPECT_EQ(m->objects[1].images, std::vector<std::string>{"go-api:dev"});
  EXPECT_EQ(m->objects[2].kind, "DaemonSet");
  EXPECT_EQ(m->yaml.find("flask-api"), std::string::npos);
  EXPECT_NE(m->yaml.find("podmeter:dev"), std::string::npos);
  // As written: strings stay strings.
  EXPECT_NE(m->yaml.find(R"(podmeter.io/scrape: "true", podmeter.io/port: "8080")"),
            std::string::npos);
}

TEST(ObjectPath, NamespacedClusterScopedAndUnknown) {
  EXPECT_EQ(*ObjectPath({"Deployment", "ns", "go-api", {}}),
            "/apis/apps/v1/namespaces/ns/deployments/go-api");
  EXPECT_EQ(*ObjectPath({"HorizontalPodAutoscaler", "ns", "go-api", {}}),
            "/apis/autoscaling/v2/namespaces/ns/horizontalpodautoscalers/go-api");
  EXPECT_EQ(*ObjectPath({"Namespace", "", "ns", {}}), "/api/v1/namespaces/ns");
  EXPECT_EQ(*ObjectPath({"ClusterRole", "", "podmeter", {}}),
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/podmeter");
  EXPECT_FALSE(ObjectPath({"Ingress", "ns", "x", {}}).ok());
}

TEST(NormalizedImage, AsTheCriNamesIt) {
  EXPECT_EQ(NormalizedImage("rust-api:dev"), "docker.io/library/rust-api:dev");
  EXPECT_EQ(NormalizedImage("grafana/k6:1.8.1"), "docker.io/grafana/k6:1.8.1");
  EXPECT_EQ(NormalizedImage("podmeter.local/pause:3.10"), "podmeter.local/pause:3.10");
}

std::string EnvValue(const std::vector<std::pair<std::string, std::string>>& env,
                     const std::string& key) {
  for (const auto& [k, v] : env) {
    if (k == key) return v;
  }
  return "";
}

TEST(ScenarioEnv, TheNodeGetsLongerTinyScenariosAndBothModesParallelSqueezes) {
  // The squeeze is the same in the lab and on the node: every runtime at once, 45 s, so that
  // Django's liveness probe (5 s delay, 3 failures 10 s apart) can act.
  for (const char* mode : {"host", "cluster"}) {
    for (const char* profile : {"tiny", "quick"}) {
      auto squeeze = ScenarioEnv(profile, "squeeze", mode);
      EXPECT_EQ(EnvValue(squeeze, "DURATION"), "45s") << mode << " " << profile;
      EXPECT_EQ(EnvValue(squeeze, "PARALLEL"), "1") << mode << " " << profile;
    }
    EXPECT_EQ(EnvValue(ScenarioEnv("tiny", "squeeze", mode), "VU_SCALE"), "1");
    EXPECT_EQ(EnvValue(ScenarioEnv("full", "squeeze", mode), "DURATION"), "");
  }
  EXPECT_EQ(EnvValue(ScenarioEnv("tiny", "soak", "host"), "DURATION"), "10s");
  EXPECT_EQ(EnvValue(ScenarioEnv("tiny", "pod-kill", "host"), "DURATION"), "3s");
  EXPECT_EQ(EnvValue(ScenarioEnv("quick", "hpa", "cluster"), "PARALLEL"), "");
  EXPECT_EQ(EnvValue(ScenarioEnv("tiny", "pod-kill", "cluster"), "DURATION"), "12s");
  // The node's tiny hpa: the full 50-VU ramp over 60 s, enough for the HPA's lagging windows.
  auto hpa = ScenarioEnv("tiny", "hpa", "cluster");
  EXPECT_EQ(EnvValue(hpa, "DURATION"), "60s");
  EXPECT_EQ(EnvValue(hpa, "VU_SCALE"), "1");
  EXPECT_EQ(EnvValue(ScenarioEnv("tiny", "hpa", "host"), "VU_SCALE"), "0.3");
}

TEST(ParseBeforeRecord, WhatCleanClusterPutsBack) {
  // As Apply writes it: created objects without a state, existing ones with theirs.
  auto record = nlohmann::json::parse(R"([
    {"kind": "Namespace", "namespace": "", "name": "podmeter-bench", "existed": false},
    {"kind": "Deployment", "namespace": "podmeter-bench", "name": "go-api", "existed": true,
     "object": {"metadata": {"name": "go-api"}, "spec": {"replicas": 2}}},
    {"kind": "HorizontalPodAutoscaler", "namespace": "podmeter-bench", "name": "go-api",
     "existed": true}])");
  auto r = ParseBeforeRecord(record);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->restored);
  ASSERT_EQ(r->objects.size(), 2u);
  EXPECT_EQ(r->objects[0].kind, "Namespace");
  EXPECT_FALSE(r->before[0].has_value());  // created by the run: deleted
  EXPECT_EQ(r->objects[1].namespace_name, "podmeter-bench");
  ASSERT_TRUE(r->before[1].has_value());
  EXPECT_EQ((*r->before[1])["spec"]["replicas"], 2);
  // Existed, but its state was not recorded: left alone, and named.
  ASSERT_EQ(r->unknown.size(), 1u);
  EXPECT_EQ(r->unknown[0], "HorizontalPodAutoscaler go-api");
  // After a run that gave the cluster back itself.
  auto restored = ParseBeforeRecord({{"restored", true}, {"objects", record}});
  ASSERT_TRUE(restored.ok());
  EXPECT_TRUE(restored->restored);
  EXPECT_FALSE(ParseBeforeRecord(nlohmann::json::parse("[{\"name\": \"x\"}]")).ok());
  EXPECT_FALSE(ParseBeforeRecord(nlohmann::json::object()).ok());
}

}  // namespace
}  // namespace podmeter::lab
