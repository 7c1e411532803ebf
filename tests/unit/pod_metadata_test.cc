// ParsePodList on a real-shaped kubelet /pods document and on broken ones; ParseRfc3339.
#include "collectors/kube/pod_metadata.h"

#include <gtest/gtest.h>

#include <string>

#include "collectors/base/file_util.h"

namespace podmeter {
namespace {

const char kRustServerId[] = "da19f7e4fda25c492bdc690855da5c74e12b0dd29a28c9f7ffaff27a344b750d";
const char kGoShipperId[] = "b729768882258661c318e71c3a9bd20728c3a0e025fe6a761e40863abee1e079";
const char kGoServerId[] = "2537fb37938200372a36ed462b67a5b0651bf4b135772afbd5eec394abe9b108";
const char kGoMigrateId[] = "ce98d35bc8151179d6cdbe7ea3e3268519856b8398aef505164ce00636ac0d14";
const char kDjangoWebId[] = "07eb3f52a9f675a3afd5d310bd1a4a5fbf907875801a50d0cb4825798a334193";

std::string Fixture() {
  StatusOr<std::string> text =
      ReadFileToString(std::string(PODMETER_FIXTURES_DIR) + "/podlists/kubelet_pods.json");
  EXPECT_TRUE(text.ok()) << text.status().message();
  return text.ok() ? *text : std::string();
}

TEST(PodMetadataParse, KubeletPodsFixture) {
  size_t skipped = 99;
  StatusOr<std::vector<PodMeta>> parsed = ParsePodList(Fixture(), &skipped);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(skipped, 0u);
  const std::vector<PodMeta>& pods = *parsed;
  ASSERT_EQ(pods.size(), 3u);

  const PodMeta& rust = pods[0];
  EXPECT_EQ(rust.uid, "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f");
  EXPECT_EQ(rust.name, "rust-ref-7d9f8b6c5-x2kqp");
  EXPECT_EQ(rust.namespace_name, "podmeter-lab");
  EXPECT_EQ(rust.node, "lab-node-1");
  EXPECT_EQ(rust.qos_class, "Guaranteed");
  EXPECT_EQ(rust.app, "rust-ref");
  EXPECT_EQ(rust.phase, "Running");
  EXPECT_EQ(rust.pod_ip, "10.244.1.17");
  EXPECT_EQ(rust.labels.size(), 3u);
  EXPECT_EQ(rust.labels.at("app.kubernetes.io/part-of"), "podmeter-lab");
  EXPECT_EQ(rust.labels.at("pod-template-hash"), "7d9f8b6c5");
  EXPECT_EQ(rust.annotations.size(), 3u);  // only podmeter.io/* and prometheus.io/* are kept
  EXPECT_EQ(rust.annotations.at("podmeter.io/scrape"), "true");
  EXPECT_EQ(rust.annotations.at("podmeter.io/port"), "8080");
  EXPECT_EQ(rust.annotations.at("podmeter.io/path"), "/metrics");
  EXPECT_EQ(rust.creation_time, 1795464062.0);
  EXPECT_EQ(rust.start_time, 1795464062.0);
  EXPECT_EQ(rust.scheduled_time, 1795464062.0);
  EXPECT_EQ(rust.ready_time, 1795464065.0);
  EXPECT_TRUE(rust.ready);
  ASSERT_EQ(rust.containers.size(), 1u);
  const ContainerMeta& rs = rust.containers[0];
  EXPECT_EQ(rs.name, "server");
  EXPECT_EQ(rs.container_id, kRustServerId);
  EXPECT_EQ(rs.runtime, "containerd");
  EXPECT_EQ(rs.image, "docker.io/podmeter/rust-ref:0.1.0");
  EXPECT_EQ(rs.restart_count, 0);
  EXPECT_TRUE(rs.ready);
  EXPECT_EQ(rs.started_at, 1795464064.0);
  EXPECT_EQ(rs.last_termination_reason, "");
  EXPECT_FALSE(rs.last_exit_code.has_value());
  EXPECT_FALSE(rs.init);

  const PodMeta& go = pods[1];
  EXPECT_EQ(go.uid, "a7b8c9d0-1e2f-4a3b-9c4d-5e6f7a8b9c0d");
  EXPECT_EQ(go.name, "go-ref-5c8d7f9b4-m7tzn");
  EXPECT_EQ(go.qos_class, "Burstable");
  EXPECT_EQ(go.app, "go-ref");  // app.kubernetes.io/name wins over app
  EXPECT_EQ(go.pod_ip, "10.244.1.18");
  EXPECT_EQ(go.creation_time, 1795464130.0);
  EXPECT_EQ(go.scheduled_time, 1795464130.0);
  EXPECT_EQ(go.ready_time, 1795464881.0);
  EXPECT_TRUE(go.ready);
  ASSERT_EQ(go.containers.size(), 3u);
  const ContainerMeta& shipper = go.containers[0];
  EXPECT_EQ(shipper.name, "log-shipper");
  EXPECT_EQ(shipper.container_id, kGoShipperId);
  EXPECT_EQ(shipper.image, "docker.io/fluent/fluent-bit:2.2.0");
  EXPECT_EQ(shipper.restart_count, 0);
  EXPECT_EQ(shipper.started_at, 1795464134.0);
  EXPECT_FALSE(shipper.init);
  const ContainerMeta& server = go.containers[1];
  EXPECT_EQ(server.name, "server");
  EXPECT_EQ(server.container_id, kGoServerId);
  EXPECT_EQ(server.runtime, "containerd");
  EXPECT_EQ(server.restart_count, 2);
  EXPECT_TRUE(server.ready);
  EXPECT_EQ(server.started_at, 1795464880.0);
  EXPECT_EQ(server.last_termination_reason, "OOMKilled");
  EXPECT_EQ(server.last_exit_code, 137);
  EXPECT_FALSE(server.init);
  const ContainerMeta& migrate = go.containers[2];
  EXPECT_EQ(migrate.name, "migrate");
  EXPECT_EQ(migrate.container_id, kGoMigrateId);
  EXPECT_TRUE(migrate.init);
  EXPECT_FALSE(migrate.started_at.has_value());  // terminated, not running
  EXPECT_EQ(migrate.last_termination_reason, "");

  const PodMeta& django = pods[2];
  EXPECT_EQ(django.uid, "0d9c8b7a-6f5e-4d3c-8b2a-1f0e9d8c7b6a");
  EXPECT_EQ(django.qos_class, "BestEffort");
  EXPECT_EQ(django.app, "django-ref");  // falls back to the app label
  EXPECT_EQ(django.annotations.at("podmeter.io/multiprocess"), "gunicorn");
  EXPECT_FALSE(django.ready);
  EXPECT_FALSE(django.ready_time.has_value());
  EXPECT_EQ(django.scheduled_time, 1795464180.0);
  EXPECT_EQ(django.start_time, 1795464180.0);
  ASSERT_EQ(django.containers.size(), 1u);
  EXPECT_EQ(django.containers[0].container_id, kDjangoWebId);
  EXPECT_FALSE(django.containers[0].ready);
  EXPECT_EQ(django.containers[0].started_at, 1795464182.0);
}

TEST(PodListParser, ParsesATextOnceUntilItChangesAndKeepsNoFailure) {
  PodListParser parser;
  const std::string text = Fixture();
  auto first = parser.Parse(text);
  auto again = parser.Parse(std::string(text));  // the same bytes, another buffer
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(parser.parses(), 1u);
  ASSERT_EQ(again->size(), first->size());
  for (size_t i = 0; i < first->size(); ++i) {
    EXPECT_EQ((*again)[i].uid, (*first)[i].uid);
    EXPECT_EQ((*again)[i].name, (*first)[i].name);
  }
  // One pod renamed: parsed again, the new name seen.
  std::string renamed = text;
  const size_t at = renamed.find("\"name\": \"");
  ASSERT_NE(at, std::string::npos);
  renamed.insert(at + 9, "x");
  auto changed = parser.Parse(renamed);
  ASSERT_TRUE(changed.ok()) << changed.status().message();
  EXPECT_EQ(parser.parses(), 2u);
  bool seen = false;
  for (const PodMeta& p : *changed) seen = seen || p.name.rfind('x', 0) == 0;
  EXPECT_TRUE(seen);
  // A broken text is an error every time, and the good one after it is parsed anew.
  EXPECT_FALSE(parser.Parse("{").ok());
  EXPECT_FALSE(parser.Parse("{").ok());
  EXPECT_TRUE(parser.Parse(text).ok());
  EXPECT_EQ(parser.parses(), 5u);
}

TEST(PodMetadataParse, RuntimePrefixes) {
  const char* json = R"({"kind":"PodList","items":[{"metadata":{"uid":"u"},"status":{
    "containerStatuses":[
      {"name":"a","containerID":"cri-o://abc"},
      {"name":"b","containerID":"docker://def"},
      {"name":"c","containerID":"rkt://ghi"},
      {"name":"d","containerID":""},
      {"name":"e"},
      {"name":"f","containerID":"plain"}]}}]})";
  StatusOr<std::vector<PodMeta>> pods = ParsePodList(json);
  ASSERT_TRUE(pods.ok());
  const auto& c = (*pods)[0].containers;
  ASSERT_EQ(c.size(), 6u);
  EXPECT_EQ(c[0].runtime, "cri-o");
  EXPECT_EQ(c[0].container_id, "abc");
  EXPECT_EQ(c[1].runtime, "docker");
  EXPECT_EQ(c[1].container_id, "def");
  EXPECT_EQ(c[2].runtime, "");
  EXPECT_EQ(c[2].container_id, "ghi");
  EXPECT_EQ(c[3].runtime, "");
  EXPECT_EQ(c[3].container_id, "");
  EXPECT_EQ(c[4].container_id, "");
  EXPECT_EQ(c[5].container_id, "plain");
}

TEST(PodMetadataParse, EmptyLists) {
  // The kubelet encodes no pods as "items": null.
  for (const char* json : {R"({"kind":"PodList","apiVersion":"v1","metadata":{},"items":null})",
                           R"({"kind":"PodList","apiVersion":"v1","metadata":{},"items":[]})",
                           R"({"kind":"PodList"})", R"({"items":[]})"}) {
    StatusOr<std::vector<PodMeta>> pods = ParsePodList(json);
    ASSERT_TRUE(pods.ok()) << json;
    EXPECT_TRUE(pods->empty()) << json;
  }
}

TEST(PodMetadataParse, InvalidDocuments) {
  for (const char* json : {
           "", "   ", "{",
           R"({"kind":"PodList","items":[{"metadata":{"uid":"u"}})",  // truncated
           "<html><body>502 Bad Gateway</body></html>", "null", "42", R"("PodList")", "[]",
           R"([{"metadata":{"uid":"u"}}])", R"({"kind":"Pod","metadata":{"uid":"u"}})",
           R"({"kind":"Status","status":"Failure","code":401})", R"({"kind":7,"items":[]})",
           R"({"kind":"PodList","items":{"metadata":{"uid":"u"}}})",
           R"({"kind":"PodList","items":"none"})", R"({"apiVersion":"v1"})",
           "{\"kind\":\"PodList\",\"items\":[{\"metadata\":{\"uid\":\"\xff\xfe\"}}]}",  // bad UTF-8
       }) {
    StatusOr<std::vector<PodMeta>> pods = ParsePodList(json);
    EXPECT_FALSE(pods.ok()) << json;
    EXPECT_EQ(pods.status().code(), Status::Code::kInvalidData) << json;
  }
}

TEST(PodMetadataParse, SkipsBadItems) {
  const char* json = R"({"kind":"PodList","items":[
    1, "pod", null, [], {},
    {"metadata":null},
    {"metadata":{"name":"no-uid"}},
    {"metadata":{"uid":""}},
    {"metadata":{"uid":42}},
    {"metadata":{"uid":"good","name":"ok"}}]})";
  size_t skipped = 0;
  StatusOr<std::vector<PodMeta>> pods = ParsePodList(json, &skipped);
  ASSERT_TRUE(pods.ok());
  ASSERT_EQ(pods->size(), 1u);
  EXPECT_EQ((*pods)[0].uid, "good");
  EXPECT_EQ((*pods)[0].name, "ok");
  EXPECT_EQ(skipped, 9u);
  EXPECT_TRUE(ParsePodList(json).ok());  // null counter is fine
}

TEST(PodMetadataParse, WrongValueTypesLeaveDefaults) {
  const char* json = R"({"kind":"PodList","items":[{
    "metadata":{"uid":"u","name":5,"namespace":["x"],"creationTimestamp":"yesterday",
                "labels":{"app":3,"app.kubernetes.io/name":null,"tier":"web"},"annotations":"none"},
    "spec":"none",
    "status":{"phase":1,"podIP":false,"qosClass":{},"startTime":12345,
      "conditions":[3,{"type":"Ready","status":true},{"type":"PodScheduled","status":"True",
                    "lastTransitionTime":7},{"type":"Ready","status":"True"}],
      "containerStatuses":[
        {"name":"a","restartCount":"2","ready":"true","containerID":7,
         "state":{"running":"yes"},"lastState":{"terminated":{"reason":9,"exitCode":"137"}}},
        {"name":"b","restartCount":2.5,"state":[],"lastState":null},
        {"name":"c","restartCount":-3,"lastState":{"terminated":{"exitCode":-1}}},
        {"name":"d","restartCount":99999999999,"lastState":{"terminated":{"exitCode":1e300}}},
        {"name":"e","restartCount":18446744073709551615},
        "garbage", 5, null],
      "initContainerStatuses":{"name":"x"}}}]})";
  size_t skipped = 0;
  StatusOr<std::vector<PodMeta>> pods = ParsePodList(json, &skipped);
  ASSERT_TRUE(pods.ok()) << pods.status().message();
  EXPECT_EQ(skipped, 0u);
  ASSERT_EQ(pods->size(), 1u);
  const PodMeta& p = (*pods)[0];
  EXPECT_EQ(p.name, "");
  EXPECT_EQ(p.namespace_name, "");
  EXPECT_FALSE(p.creation_time.has_value());
  EXPECT_EQ(p.labels.size(), 1u);
  EXPECT_EQ(p.labels.at("tier"), "web");
  EXPECT_EQ(p.app, "");
  EXPECT_TRUE(p.annotations.empty());
  EXPECT_EQ(p.node, "");
  EXPECT_EQ(p.phase, "");
  EXPECT_EQ(p.pod_ip, "");
  EXPECT_EQ(p.qos_class, "");
  EXPECT_FALSE(p.start_time.has_value());
  EXPECT_TRUE(p.ready);  // the second Ready condition is well-formed
  EXPECT_FALSE(p.ready_time.has_value());
  EXPECT_FALSE(p.scheduled_time.has_value());
  ASSERT_EQ(p.containers.size(), 5u);
  EXPECT_EQ(p.containers[0].restart_count, 0);
  EXPECT_FALSE(p.containers[0].ready);
  EXPECT_EQ(p.containers[0].container_id, "");
  EXPECT_FALSE(p.containers[0].started_at.has_value());
  EXPECT_EQ(p.containers[0].last_termination_reason, "");
  EXPECT_FALSE(p.containers[0].last_exit_code.has_value());
  EXPECT_EQ(p.containers[1].restart_count, 0);
  EXPECT_EQ(p.containers[2].restart_count, -3);
  EXPECT_EQ(p.containers[2].last_exit_code, -1);
  EXPECT_EQ(p.containers[3].restart_count, 2147483647);
  EXPECT_FALSE(p.containers[3].last_exit_code.has_value());
  EXPECT_EQ(p.containers[4].restart_count, 2147483647);
}

TEST(PodMetadataParse, DeepNestingDoesNotCrash) {
  std::string deep = R"({"kind":"PodList","items":[{"metadata":{"uid":"u","labels":)";
  deep += std::string(100000, '[') + std::string(100000, ']') + "}}]}";
  StatusOr<std::vector<PodMeta>> pods = ParsePodList(deep);
  ASSERT_TRUE(pods.ok());
  EXPECT_TRUE((*pods)[0].labels.empty());
  EXPECT_FALSE(ParsePodList(std::string(100000, '[')).ok());
}

TEST(PodMetadataParse, TruncatedFixtureNeverCrashes) {
  std::string full = Fixture();
  for (size_t len = 0; len < full.size(); len += 97) {
    EXPECT_FALSE(ParsePodList(std::string_view(full).substr(0, len)).ok()) << len;
  }
}

TEST(Rfc3339, Valid) {
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:00Z"), 0.0);
  EXPECT_EQ(ParseRfc3339("2026-11-23T20:01:02Z"), 1795464062.0);
  EXPECT_EQ(ParseRfc3339("2026-11-23t20:01:02z"), 1795464062.0);
  EXPECT_EQ(ParseRfc3339("2026-11-23 20:01:02Z"), 1795464062.0);
  EXPECT_EQ(ParseRfc3339("2026-11-23T20:01:02.5Z"), 1795464062.5);
  EXPECT_DOUBLE_EQ(*ParseRfc3339("2026-11-23T20:01:02.123456789Z"), 1795464062.123456789);
  EXPECT_EQ(ParseRfc3339("2026-11-23T21:01:02+01:00"), 1795464062.0);
  EXPECT_EQ(ParseRfc3339("2026-11-23T14:31:02-05:30"), 1795464062.0);
  EXPECT_EQ(ParseRfc3339("2026-11-24T01:01:02.25+05:00"), 1795464062.25);
  EXPECT_EQ(ParseRfc3339("2026-11-23T20:01:02+00:00"), 1795464062.0);
  EXPECT_EQ(ParseRfc3339("2024-02-29T00:00:00Z"), 1709164800.0);  // leap day
  EXPECT_EQ(ParseRfc3339("2000-03-01T00:00:00Z"), 951868800.0);
  EXPECT_EQ(ParseRfc3339("1969-12-31T23:59:59Z"), -1.0);
  EXPECT_EQ(ParseRfc3339("2016-12-31T23:59:60Z"), 1483228800.0);  // leap second
}

TEST(Rfc3339, Invalid) {
  for (const char* text : {"",
                           "2026-11-23",
                           "2026-11-23T20:01:02",
                           "2026-11-23T20:01Z",
                           "2026-11-23T20:01:02.Z",
                           "2026-11-23T20:01:02ZZ",
                           "2026-13-01T00:00:00Z",
                           "2026-00-01T00:00:00Z",
                           "2026-11-31T00:00:00Z",
                           "2025-02-29T00:00:00Z",
                           "2026-11-23T24:00:00Z",
                           "2026-11-23T20:60:00Z",
                           "2026-11-23T20:01:61Z",
                           "2026-11-23T20:01:02+0100",
                           "2026-11-23T20:01:02+24:00",
                           "2026-11-23T20:01:02+01",
                           "26-11-23T20:01:02Z",
                           "2026/11/23T20:01:02Z",
                           "2026-11-23T20:01:02 Z",
                           " 2026-11-23T20:01:02Z",
                           "２026-11-23T20:01:02Z",
                           "2026-1a-23T20:01:02Z",
                           "-026-11-23T20:01:02Z"}) {
    EXPECT_FALSE(ParseRfc3339(text).has_value()) << text;
  }
}

}  // namespace
}  // namespace podmeter
