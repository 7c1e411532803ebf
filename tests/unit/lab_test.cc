// The lab's pure parts: the Deployment reader (on the manifests k8s/ ships), the PodList writer
// (read back with podmeter's own kubelet-format parser), the restart back-off and the probes'
// thresholds.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "collectors/kube/pod_metadata.h"
#include "lab/backoff.h"
#include "lab/manifest.h"
#include "lab/pod_list.h"
#include "lab/probe.h"

namespace podmeter::lab {
namespace {

std::string ReadRepoFile(const std::string& rel) {
  std::ifstream in(std::string(PODMETER_REPO_DIR) + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ParseDeployment, TheShippedReferenceDeployments) {
  for (const char* app : {"rust-api", "go-api", "django-api"}) {
    auto spec = ParseDeployment(ReadRepoFile(std::string("k8s/base/") + app + "-deployment.yaml"));
    ASSERT_TRUE(spec.ok()) << app << ": " << spec.status().message();
    EXPECT_EQ(spec->name, app);
    EXPECT_EQ(spec->replicas, 2);
    ASSERT_EQ(spec->containers.size(), 1u);
    const ContainerSpec& c = spec->containers[0];
    EXPECT_EQ(c.cpu_request_millis, 100);
    EXPECT_EQ(c.cpu_limit_millis, 500);
    EXPECT_EQ(c.port, 8080);
    ASSERT_TRUE(c.readiness.has_value());
    EXPECT_EQ(c.readiness->path, "/health");
    EXPECT_EQ(c.readiness->port, 8080);  // the named port "http" resolved
    EXPECT_EQ(c.readiness->period_seconds, 1);
    ASSERT_TRUE(c.liveness.has_value());
    EXPECT_EQ(c.liveness->path, "/health");
    EXPECT_EQ(c.liveness->initial_delay_seconds, 5);
    EXPECT_EQ(c.liveness->period_seconds, 10);
    EXPECT_EQ(c.liveness->timeout_seconds, 2);
    EXPECT_EQ(c.liveness->failure_threshold, 3);
    EXPECT_EQ(spec->termination_grace_seconds, 10);
    EXPECT_EQ(spec->QosClass(), "Burstable");
    EXPECT_EQ(spec->annotations.at("podmeter.io/scrape"), "true");
  }
}

TEST(ParseDeployment, Errors) {
  EXPECT_FALSE(ParseDeployment("kind: Service\n").ok());
  EXPECT_FALSE(ParseDeployment("{{{").ok());
  EXPECT_FALSE(ParseDeployment("kind: Deployment\nmetadata: {name: x}\nspec: {}\n").ok());
  auto bad_quantity = ParseDeployment(
      "kind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers:\n"
      "      - {name: a, image: b, resources: {limits: {cpu: lots}}}\n");
  ASSERT_FALSE(bad_quantity.ok());
  EXPECT_NE(bad_quantity.status().message().find("resources.limits.cpu"), std::string::npos);
}

TEST(ParseDeployment, QosClasses) {
  auto guaranteed = ParseDeployment(
      "kind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers:\n"
      "      - {name: a, image: b, resources: {limits: {cpu: 500m, memory: 128Mi}}}\n");
  ASSERT_TRUE(guaranteed.ok());
  EXPECT_EQ(guaranteed->QosClass(), "Guaranteed");
  EXPECT_EQ(guaranteed->containers[0].memory_request_bytes, 128 << 20);
  auto besteffort = ParseDeployment(
      "kind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers:\n"
      "      - {name: a, image: b}\n");
  ASSERT_TRUE(besteffort.ok());
  EXPECT_EQ(besteffort->QosClass(), "BestEffort");
}

TEST(Quantities, CpuAndMemory) {
  EXPECT_EQ(ParseCpuMillis("100m"), 100);
  EXPECT_EQ(ParseCpuMillis("0.5"), 500);
  EXPECT_EQ(ParseCpuMillis("2"), 2000);
  EXPECT_FALSE(ParseCpuMillis("m").has_value());
  EXPECT_EQ(ParseMemoryBytes("128Mi"), 134217728);
  EXPECT_EQ(ParseMemoryBytes("1G"), 1000000000);
  EXPECT_EQ(ParseMemoryBytes("512"), 512);
  EXPECT_FALSE(ParseMemoryBytes("12Qi").has_value());
}

TEST(PodListJson, ReadsBackAsAKubeletPodList) {
  LabPod p;
  p.uid = "0f6c9a52-4c7e-4d3b-9c1e-2b7a8e6d5f41";
  p.name = "go-api-abc-12345";
  p.namespace_name = "podmeter-bench";
  p.node = "lab";
  p.qos_class = "Burstable";
  p.app = "go-api";
  p.created = p.scheduled = 1795464000;
  p.started = 1795464000.5;
  p.ready_since = 1795464001.25;
  LabContainer c;
  c.name = "server";
  c.image = "go-api:dev";
  c.container_id = std::string(64, 'b');
  c.restart_count = 1;
  c.ready = true;
  c.started_at = 1795464001;
  c.last_termination =
      LabTermination{"Error", 137, 1795464000.5, 1795464000.9, std::string(64, 'a')};
  p.containers.push_back(c);
  auto pods = ParsePodList(PodListJson({p}));
  ASSERT_TRUE(pods.ok()) << pods.status().message();
  ASSERT_EQ(pods->size(), 1u);
  const PodMeta& m = (*pods)[0];
  EXPECT_EQ(m.uid, p.uid);
  EXPECT_EQ(m.name, p.name);
  EXPECT_EQ(m.namespace_name, "podmeter-bench");
  EXPECT_EQ(m.qos_class, "Burstable");
  EXPECT_EQ(m.app, "go-api");
  EXPECT_TRUE(m.ready);
  ASSERT_TRUE(m.start_time && m.ready_time && m.scheduled_time);
  // Whole seconds, as a kubelet writes them: 20:00:00.5 → :00, 20:00:01.25 → :01.
  EXPECT_DOUBLE_EQ(*m.ready_time - *m.start_time, 1.0);
  ASSERT_EQ(m.containers.size(), 1u);
  EXPECT_EQ(m.containers[0].container_id, c.container_id);
  EXPECT_EQ(m.containers[0].runtime, "containerd");
  EXPECT_EQ(m.containers[0].restart_count, 1);
  EXPECT_EQ(m.containers[0].last_termination_reason, "Error");
  EXPECT_EQ(m.containers[0].last_exit_code, 137);
}

TEST(FormatRfc3339, WholeSecondsTruncated) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(1795464001.25), "2026-11-23T20:00:01Z");
  EXPECT_EQ(FormatRfc3339(1795464001.999), "2026-11-23T20:00:01Z");  // not rounded up
}

TEST(RestartBackoff, KubeletSchedule) {
  RestartBackoff b(10, 300, 600);
  EXPECT_EQ(b.OnExit(0, 1), 0);  // the first restart is immediate
  EXPECT_EQ(b.OnExit(1, 2), 10);
  EXPECT_EQ(b.OnExit(12, 13), 20);
  EXPECT_EQ(b.OnExit(33, 34), 40);
  for (int i = 0; i < 10; ++i) b.OnExit(100, 101);
  EXPECT_EQ(b.OnExit(200, 201), 300);  // capped
  EXPECT_EQ(b.OnExit(300, 1000), 0);   // ran 10+ minutes: starts over
}

TEST(RestartBackoff, ResetOnlyAfterTenMinutesRunning) {
  RestartBackoff b;  // the kubelet's defaults: 10 s, 5 min, 10 min
  EXPECT_EQ(b.OnExit(0, 30), 0);
  EXPECT_EQ(b.OnExit(30, 599), 10);  // 9½ minutes is not enough
  EXPECT_EQ(b.OnExit(600, 1200), 0);
  EXPECT_EQ(b.OnExit(1200, 1201), 10);
}

// k8s/base's readiness probe: failureThreshold 3, a new container unready until one success.
TEST(ProbeResult, ReadinessNeedsThreeFailuresInARowToTurnUnready) {
  ProbeResult ready(false, 3);
  EXPECT_FALSE(ready.result());
  EXPECT_FALSE(ready.Record(false));
  EXPECT_TRUE(ready.Record(true));  // successThreshold 1
  EXPECT_TRUE(ready.Record(false));
  EXPECT_TRUE(ready.Record(false));
  EXPECT_TRUE(ready.Record(true));  // the run of failures broken
  EXPECT_TRUE(ready.Record(false));
  EXPECT_TRUE(ready.Record(false));
  EXPECT_FALSE(ready.Record(false));  // the third in a row
  EXPECT_FALSE(ready.Record(false));
  EXPECT_TRUE(ready.Record(true));
  ready.Reset();  // a new container
  EXPECT_FALSE(ready.result());
}

// k8s/base's liveness probe: a container is live until three failures in a row; then it is
// killed, and its replacement starts live again with the run forgotten.
TEST(ProbeResult, LivenessFailsAfterThresholdAndStartsOverForANewContainer) {
  ProbeResult live(true, 3);
  EXPECT_TRUE(live.Record(false));
  EXPECT_TRUE(live.Record(false));
  EXPECT_FALSE(live.Record(false));
  live.Reset();
  EXPECT_TRUE(live.result());
  EXPECT_TRUE(live.Record(false));  // one failure of the new container is not three
  EXPECT_TRUE(live.Record(false));
  EXPECT_FALSE(live.Record(false));
}

TEST(ProbeResult, SuccessThresholdAndHttpStatuses) {
  ProbeResult ready(false, 1, 2);
  EXPECT_FALSE(ready.Record(true));
  EXPECT_TRUE(ready.Record(true));
  EXPECT_FALSE(ready.Record(false));  // failureThreshold 1
  EXPECT_TRUE(ProbeSucceeded(200));
  EXPECT_TRUE(ProbeSucceeded(399));
  EXPECT_FALSE(ProbeSucceeded(400));
  EXPECT_FALSE(ProbeSucceeded(503));  // Django's /health while it shuts down
  EXPECT_FALSE(ProbeSucceeded(-1));   // timed out or refused
}

}  // namespace
}  // namespace podmeter::lab
