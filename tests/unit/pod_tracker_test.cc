#include "tracking/pod_tracker.h"

#include <gtest/gtest.h>

#include <sstream>

#include "collectors/kube/pod_metadata.h"
#include "exporter/text_format.h"
#include "exporter/tracker_metrics.h"

namespace podmeter {
namespace {

const std::string kUid = "7d2e4b18-93a5-4f0c-b8d6-1e5c7a9f3b20";
const std::string kIdA(64, 'a');
const std::string kIdB(64, 'b');

PodMeta Meta(const std::string& container_id, int restarts) {
  PodMeta m;
  m.uid = kUid;
  m.name = "web-0";
  m.namespace_name = "bench";
  m.qos_class = "Burstable";
  m.app = "web";
  m.start_time = 100;
  m.scheduled_time = 99;
  m.ready_time = 103.5;
  ContainerMeta c;
  c.name = "web";
  c.container_id = container_id;
  c.image = "web:1";
  c.restart_count = restarts;
  m.containers.push_back(c);
  return m;
}

std::vector<PodSample> Samples(const std::string& container_id) {
  PodSample p;
  p.uid = kUid;
  p.qos = QosClass::kBurstable;
  ContainerSample c;
  c.id = container_id;
  p.containers.push_back(c);
  return {p};
}

std::string Text(const PodTracker& t, const std::map<std::string, uint64_t>& oom_kills = {}) {
  FamilyBuilder b;
  AddTrackerMetrics(t, oom_kills, &b);
  return SerializeText(b.Take());
}

// The value of the one sample line whose name and labels are exactly `series`, or "missing".
std::string SeriesValue(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(series + " ", 0) == 0) return line.substr(series.size() + 1);
  }
  return "missing";
}

const std::string kRestarts =
    "podmeter_container_restarts_total{namespace=\"bench\",pod=\"web-0\",container=\"web\"}";
const std::string kKubeletRestarts =
    "podmeter_container_kubelet_restarts{namespace=\"bench\",pod=\"web-0\",container=\"web\"}";

TEST(PodTracker, JoinsNamesAndCountsANewContainerIdAsARestart) {
  PodTracker t(300);
  std::vector<PodMeta> meta = {Meta(kIdA, 0)};
  const auto pods = Samples(kIdA);
  std::vector<PodNames> names = t.Join(pods, &meta, 1000);
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0].pod, "web-0");
  EXPECT_EQ(names[0].namespace_name, "bench");
  EXPECT_EQ(names[0].containers, std::vector<std::string>{"web"});
  EXPECT_EQ(pods[0].containers[0].id, kIdA);  // the read sample is left as it was
  EXPECT_EQ(SeriesValue(Text(t), kRestarts), "0");

  // The kubelet's count (5, restarts before podmeter started) and podmeter's own (1) differ, so
  // each assertion can only pass on its own series.
  meta = {Meta(kIdB, 5)};
  t.Join(Samples(kIdB), &meta, 1001);
  std::string text = Text(t);
  EXPECT_EQ(SeriesValue(text, kRestarts), "1") << text;
  EXPECT_EQ(SeriesValue(text, kKubeletRestarts), "5") << text;
  EXPECT_NE(text.find("container_id=\"" + kIdB + "\""), std::string::npos);
  EXPECT_EQ(text.find(kIdA), std::string::npos);
  EXPECT_NE(text.find("podmeter_pod_start_to_ready_seconds{namespace=\"bench\",pod=\"web-0\"} 3.5"),
            std::string::npos);
  EXPECT_NE(
      text.find("podmeter_pod_scheduled_to_ready_seconds{namespace=\"bench\",pod=\"web-0\"} 4.5"),
      std::string::npos);
}

TEST(PodTracker, KeepsLastGoodNamesWhenMetadataIsMissing) {
  PodTracker t(300);
  std::vector<PodMeta> meta = {Meta(kIdA, 0)};
  t.Join(Samples(kIdA), &meta, 1000);
  std::vector<PodNames> names = t.Join(Samples(kIdA), nullptr, 1001);
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0].pod, "web-0");
  EXPECT_EQ(names[0].containers, std::vector<std::string>{"web"});
}

TEST(PodTracker, UnknownContainersKeepTheirIdAndGetNoRestartSeries) {
  PodTracker t(300);
  std::vector<PodNames> names = t.Join(Samples(kIdA), nullptr, 1000);
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0].pod, kUid);
  EXPECT_EQ(names[0].namespace_name, "");
  EXPECT_EQ(names[0].containers, std::vector<std::string>{kIdA.substr(0, 12)});
  std::string text = Text(t);
  EXPECT_EQ(text.find("podmeter_container_restarts_total"), std::string::npos);
  EXPECT_NE(text.find("qos_class=\"Burstable\""), std::string::npos);
}

TEST(PodTracker, GonePodsDisappearAfterStaleAfter) {
  PodTracker t(300);
  t.Join(Samples(kIdA), nullptr, 1000);
  t.Join({}, nullptr, 1200);
  EXPECT_NE(Text(t, {{kUid, 2}})
                .find("podmeter_pod_oom_kills_total{namespace=\"\",pod=\"" + kUid + "\"} 2"),
            std::string::npos);
  EXPECT_TRUE(t.forgotten().empty());
  t.Join({}, nullptr, 1301);
  EXPECT_EQ(t.forgotten(), std::vector<std::string>{kUid});
  EXPECT_EQ(Text(t), "");
}

// OomAccounting keeps a pod's kills read by the OOM watcher after the whole pod was gone (no
// sample listed it); the tracker is what forgets pods. Such a pod used to be neither served nor
// ever forgotten (its OOM state stayed for ever): now it is tracked from its kill, served under
// its uid, and forgotten after stale-after like any other.
TEST(PodTracker, APodOnlyTheOomWatcherSawIsServedThenForgottenAfterStaleAfter) {
  PodTracker t(300);
  t.TrackUnseen(kUid, 1000);
  t.Join({}, nullptr, 1000);
  const std::string kills = "podmeter_pod_oom_kills_total{namespace=\"\",pod=\"" + kUid + "\"}";
  EXPECT_EQ(SeriesValue(Text(t, {{kUid, 1}}), kills), "1");
  t.TrackUnseen(kUid, 1200);  // still in OomAccounting: not seen again for all that
  t.Join({}, nullptr, 1200);
  EXPECT_TRUE(t.forgotten().empty());
  t.Join({}, nullptr, 1301);
  EXPECT_EQ(t.forgotten(), std::vector<std::string>{kUid});
  EXPECT_EQ(Text(t), "");
  // A tracked pod is not touched: its last sight stays what the samples said.
  t.Join(Samples(kIdA), nullptr, 2000);
  t.TrackUnseen(kUid, 2250);
  t.Join({}, nullptr, 2301);
  EXPECT_EQ(t.forgotten(), std::vector<std::string>{kUid});
}

TEST(PodTracker, StartupsBecomeGaugesAndAHistogramLabelledWithTheirClock) {
  PodTracker t(300);
  StartupRecord r;
  r.pod_uid = kUid;
  r.start_time = 1795000000.25;
  r.startup_seconds = 0.042;
  t.AddStartups({{kIdA, r}});
  std::vector<PodMeta> meta = {Meta(kIdA, 0)};
  t.Join(Samples(kIdA), &meta, 1000);
  std::string text = Text(t);
  const std::string labels = "{namespace=\"bench\",pod=\"web-0\",container=\"web\",clock=\"exec\"}";
  EXPECT_EQ(SeriesValue(text, "podmeter_container_startup_seconds" + labels), "0.042") << text;
  EXPECT_EQ(SeriesValue(text, "podmeter_container_start_time_seconds" + labels),
            "1.79500000025e+09");
  EXPECT_EQ(SeriesValue(text,
                        "podmeter_container_startup_duration_seconds_bucket{container=\"web\","
                        "clock=\"exec\",le=\"0.05\"}"),
            "1");
  EXPECT_EQ(SeriesValue(text,
                        "podmeter_container_startup_duration_seconds_bucket{container=\"web\","
                        "clock=\"exec\",le=\"0.025\"}"),
            "0");
  EXPECT_EQ(t.pending_startups(), 0u);

  // The restarted container, measured without the process connector: its own clock label, never
  // added to the exec clock's histogram.
  StartupRecord forked = r;
  forked.clock = "fork";
  forked.startup_seconds = 0.5;
  t.AddStartups({{kIdB, forked}});
  meta = {Meta(kIdB, 1)};
  t.Join(Samples(kIdB), &meta, 1001);
  text = Text(t);
  const std::string fork_labels =
      "{namespace=\"bench\",pod=\"web-0\",container=\"web\",clock=\"fork\"}";
  EXPECT_EQ(SeriesValue(text, "podmeter_container_startup_seconds" + fork_labels), "0.5") << text;
  EXPECT_EQ(SeriesValue(text, "podmeter_container_startup_seconds" + labels), "missing");
  EXPECT_EQ(SeriesValue(text,
                        "podmeter_container_startup_duration_seconds_count{container=\"web\","
                        "clock=\"exec\"}"),
            "1");
  EXPECT_EQ(SeriesValue(text,
                        "podmeter_container_startup_duration_seconds_count{container=\"web\","
                        "clock=\"fork\"}"),
            "1");
}

// A start-up joined while the container has no name yet (it listened before the pod list named
// it; with no pod source it never gets one) goes into the histogram under its name once the
// metadata gives one, never under its short id: a histogram per container id would be 16 series
// per container start, kept for ever after its pod is gone (issue 15's churn test found them).
TEST(PodTracker, AStartupJoinedBeforeTheContainersNameIsCountedUnderTheNameOnly) {
  PodTracker t(300);
  StartupRecord r;
  r.pod_uid = kUid;
  r.start_time = 1795000000.25;
  r.startup_seconds = 0.042;
  t.AddStartups({{kIdA, r}});
  t.Join(Samples(kIdA), nullptr, 1000);
  std::string text = Text(t);
  const std::string unnamed =
      "{namespace=\"\",pod=\"" + kUid + "\",container=\"aaaaaaaaaaaa\",clock=\"exec\"}";
  EXPECT_EQ(SeriesValue(text, "podmeter_container_startup_seconds" + unnamed), "0.042") << text;
  EXPECT_EQ(text.find("podmeter_container_startup_duration_seconds"), std::string::npos) << text;

  std::vector<PodMeta> meta = {Meta(kIdA, 0)};
  t.Join(Samples(kIdA), &meta, 1001);
  t.Join(Samples(kIdA), &meta, 1002);  // counted once
  text = Text(t);
  const std::string web =
      "podmeter_container_startup_duration_seconds_count{container=\"web\","
      "clock=\"exec\"}";
  EXPECT_EQ(SeriesValue(text, web), "1") << text;
  EXPECT_EQ(text.find("container=\"aaaaaaaaaaaa\""), std::string::npos) << text;

  // A pod never named (no pod source): gone after stale-after, leaving nothing behind.
  PodTracker nameless(300);
  nameless.AddStartups({{kIdB, r}});
  nameless.Join(Samples(kIdB), nullptr, 1000);
  nameless.Join({}, nullptr, 1301);
  EXPECT_EQ(Text(nameless), "");
}

TEST(PodTracker, AContainerThatNeverListenedHasAStartTimeButNoStartupFigure) {
  PodTracker t(300);
  StartupRecord r;
  r.pod_uid = kUid;
  r.start_time = 1795000000.25;  // no startup_seconds: it did not listen within the timeout
  t.AddStartups({{kIdA, r}});
  std::vector<PodMeta> meta = {Meta(kIdA, 0)};
  t.Join(Samples(kIdA), &meta, 1000);
  std::string text = Text(t);
  EXPECT_NE(text.find("podmeter_container_start_time_seconds{"), std::string::npos) << text;
  EXPECT_EQ(text.find("podmeter_container_startup_seconds{"), std::string::npos) << text;
  EXPECT_EQ(text.find("podmeter_container_startup_duration_seconds_count"), std::string::npos);
}

TEST(PodTracker, StartupRecordsThatJoinNoContainerArePrunedAfterStaleAfter) {
  PodTracker t(300);
  StartupRecord r;
  r.pod_uid = kUid;
  r.start_time = 1795000000.25;
  r.startup_seconds = 0.1;
  // One for a container the metadata never names, one for a pod never seen.
  StartupRecord other = r;
  other.pod_uid = "00000000-0000-0000-0000-000000000001";
  t.AddStartups({{kIdB, r}, {std::string(64, 'c'), other}});
  std::vector<PodMeta> meta = {Meta(kIdA, 0)};
  t.Join(Samples(kIdA), &meta, 1000);
  EXPECT_EQ(t.pending_startups(), 2u);
  t.Join(Samples(kIdA), &meta, 1300);
  EXPECT_EQ(t.pending_startups(), 2u);
  t.Join(Samples(kIdA), &meta, 1300.5);
  EXPECT_EQ(t.pending_startups(), 0u);
  EXPECT_EQ(Text(t).find("podmeter_container_startup_seconds{"), std::string::npos);
}

// A kubelet /pods answer for one pod whose Ready condition is `ready` since `ready_since`.
std::string ReadyPodList(const char* ready, const char* ready_since) {
  return std::string(R"({"kind":"PodList","apiVersion":"v1","items":[{
    "metadata":{"name":"web-0","namespace":"bench","uid":")") +
         kUid + R"("},
    "status":{"phase":"Running","startTime":"2026-12-06T07:00:00Z","conditions":[
      {"type":"PodScheduled","status":"True","lastTransitionTime":"2026-12-06T06:59:59Z"},
      {"type":"Ready","status":")" +
         ready + R"(","lastTransitionTime":")" + ready_since + R"("}]}}]})";
}

const std::string kStartToReady =
    "podmeter_pod_start_to_ready_seconds{namespace=\"bench\",pod=\"web-0\"}";
const std::string kScheduledToReady =
    "podmeter_pod_scheduled_to_ready_seconds{namespace=\"bench\",pod=\"web-0\"}";

TEST(PodTracker, ToReadyIsTheFirstReadyNotTheLatestTransition) {
  PodTracker t(300);
  double now = 1000;
  auto join = [&](const char* ready, const char* since) {
    auto meta = ParsePodList(ReadyPodList(ready, since));
    ASSERT_TRUE(meta.ok()) << meta.status().message();
    t.Join(Samples(kIdA), &meta.value(), now += 1);
  };
  join("False", "2026-12-06T07:00:00Z");  // starting: not Ready yet, no figure
  EXPECT_EQ(SeriesValue(Text(t), kStartToReady), "missing");
  join("True", "2026-12-06T07:00:03Z");  // first Ready 3 s after startTime
  EXPECT_EQ(SeriesValue(Text(t), kStartToReady), "3");
  EXPECT_EQ(SeriesValue(Text(t), kScheduledToReady), "4");
  join("False", "2026-12-06T07:05:00Z");  // a failing readiness probe
  EXPECT_EQ(SeriesValue(Text(t), kStartToReady), "3");
  join("True", "2026-12-06T07:05:20Z");  // Ready again: the latest transition is 320 s in
  EXPECT_EQ(SeriesValue(Text(t), kStartToReady), "3");
  EXPECT_EQ(SeriesValue(Text(t), kScheduledToReady), "4");
}

}  // namespace
}  // namespace podmeter
