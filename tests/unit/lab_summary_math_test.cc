// The lab summary's arithmetic (lab/summary_math.h, lab/analysis.h): least squares, the leak
// verdict, the cost projection and cold-start spreads, on synthetic series and on Prometheus
// query_range answers recorded from a tiny lab run (tests/unit/lab_prometheus/: the soak's and
// the load's k6 request counters and podmeter's RSS / working set, 1 s steps). The expected
// figures of the recorded answers were computed separately (Python, from the same files).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lab/analysis.h"
#include "lab/cold_start.h"
#include "lab/summary_markdown.h"
#include "lab/summary_math.h"

namespace podmeter::lab {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

std::string Recorded(const std::string& name) {
  std::ifstream in(std::string(PODMETER_REPO_DIR) + "/tests/unit/lab_prometheus/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_FALSE(ss.str().empty()) << name;
  return ss.str();
}

RangeSeries Line(double t0, int n, double y0, double per_second, double noise = 0) {
  RangeSeries s;
  for (int i = 0; i < n; ++i) {
    double wobble = noise * ((i % 2 == 0) ? 1 : -1);
    s.samples.emplace_back(t0 + i, y0 + per_second * i + wobble);
  }
  return s;
}

TEST(FitLine, ExactLineAtUnixTimes) {
  // Unix seconds squared (~3e18) would swamp a 2 bytes/s slope without centring.
  auto f = FitLine(Line(1795477900, 600, 100e6, 2).samples);
  ASSERT_TRUE(f);
  EXPECT_NEAR(f->slope, 2, 1e-9);
  EXPECT_NEAR(f->intercept + f->slope * 1795477900, 100e6, 1e-3);
  EXPECT_NEAR(f->r2, 1, 1e-12);
  EXPECT_EQ(f->samples, 600);
}

TEST(FitLine, FlatAndDegenerate) {
  auto flat = FitLine(Line(0, 10, 5, 0).samples);
  ASSERT_TRUE(flat);
  EXPECT_EQ(flat->slope, 0);
  EXPECT_EQ(flat->r2, 0);  // nothing to explain
  EXPECT_FALSE(FitLine({{1, 2}}));
  EXPECT_FALSE(FitLine({{1, 2}, {1, 3}}));  // one instant: no slope
  // Alternating noise around a flat line: slope ~0, R² ~0.
  auto noisy = FitLine(Line(0, 100, 50, 0, 10).samples);
  ASSERT_TRUE(noisy);
  EXPECT_NEAR(noisy->slope, 0, 0.01);
  EXPECT_LT(noisy->r2, 0.01);
}

TEST(CheckLeak, GrowingFlatShortAndWarmup) {
  // 20 MiB/h for 10 min: growing (rise ~2.7 MiB after the 2.5 min warm-up).
  const double per_s = 20 * kMiB / 3600;
  LeakCheck g = CheckLeak(Line(1000, 601, 50 * kMiB, per_s), 1000, 1600);
  EXPECT_EQ(g.verdict, "growing (possible leak)");
  EXPECT_NEAR(g.slope_mib_per_hour, 20, 1e-6);
  EXPECT_NEAR(g.warmup_seconds, 120, 1e-9);  // 25 % of 600 s, capped at 2 min
  EXPECT_EQ(g.samples, 481);
  EXPECT_NEAR(g.rise_mib, 20.0 * 480 / 3600, 1e-6);
  // The same slope over 30 s rises 0.12 MiB: too little to call, "stable".
  EXPECT_EQ(CheckLeak(Line(1000, 31, 50 * kMiB, per_s), 1000, 1030).verdict, "stable");
  // Steep but noisy (R² < 0.5): stable.
  LeakCheck noisy = CheckLeak(Line(0, 601, 50 * kMiB, 15 * kMiB / 3600, 2 * kMiB), 0, 600);
  EXPECT_LT(noisy.r2, 0.5);
  EXPECT_EQ(noisy.verdict, "stable");
  // A warm-up climb of 8 MiB in the first 100 s, then flat: the warm-up is left out.
  RangeSeries warm;
  for (int i = 0; i <= 600; ++i) {
    warm.samples.emplace_back(i, (50 + 8.0 * std::min(i, 100) / 100) * kMiB);
  }
  LeakCheck w = CheckLeak(warm, 0, 600);
  EXPECT_EQ(w.verdict, "stable");
  EXPECT_NEAR(w.slope_mib_per_hour, 0, 1e-9);
  LeakThresholds no_warmup;
  no_warmup.warmup_fraction = 0;
  LeakCheck all = CheckLeak(warm, 0, 600, no_warmup);
  EXPECT_NEAR(all.slope_mib_per_hour, 21.466, 1e-3);  // the warm-up alone would make a slope
  EXPECT_NEAR(all.r2, 0.3396, 1e-4);
  // Four samples after the warm-up: insufficient data.
  EXPECT_EQ(CheckLeak(Line(0, 6, kMiB, 1e6), 0, 5).verdict, "insufficient data");
}

TEST(ActiveWindow, WhileTheCounterRises) {
  RangeSeries c;
  c.samples = {{10, 5}, {11, 9}, {12, 20}, {13, 20}, {14, 31}, {15, 31}, {16, 31}};
  auto w = ActiveWindow(c);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->first, 10);
  EXPECT_EQ(w->second, 14);
  c.samples = {{10, 5}, {11, 5}};
  EXPECT_FALSE(ActiveWindow(c));
}

TEST(ParseQueryRange, Errors) {
  EXPECT_FALSE(ParseQueryRange("nope").ok());
  EXPECT_FALSE(
      ParseQueryRange(R"({"status":"error","errorType":"bad_data","error":"parse error"})").ok());
  EXPECT_FALSE(
      ParseQueryRange(R"({"status":"success","data":{"resultType":"vector","result":[]}})").ok());
  auto nan = ParseQueryRange(
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{"pod":"a"},)"
      R"("values":[[1,"NaN"],[2,"3.5"],[3,"+Inf"]]}]}})");
  ASSERT_TRUE(nan.ok());
  ASSERT_EQ(nan->size(), 1u);
  EXPECT_EQ((*nan)[0].labels.at("pod"), "a");
  ASSERT_EQ((*nan)[0].samples.size(), 1u);  // NaN and +Inf dropped
  EXPECT_EQ((*nan)[0].samples[0].second, 3.5);
}

TEST(LeakChecks, APodThatDidNotRunThroughTheSoakIsLeftOut) {
  // The recorded answer plus a Django replica the HPA added 2 s before the end of Django's load
  // window (1795477928–1795477938), growing fast over its few samples.
  nlohmann::json rss = nlohmann::json::parse(Recorded("soak_rss.json"));
  nlohmann::json late = {{"metric", {{"app", "django-api"}, {"pod", "django-api-late"}}},
                         {"values", nlohmann::json::array()}};
  for (int t = 1795477936; t <= 1795477941; ++t) {
    late["values"].push_back({t, std::to_string(40000000 + (t - 1795477936) * 4000000)});
  }
  rss["data"]["result"].push_back(late);
  auto checks = LeakChecksFromAnswers(Recorded("soak_k6_requests.json"), rss.dump(),
                                      Recorded("soak_working_set.json"));
  ASSERT_EQ(checks.size(), 3u) << checks.dump();
  for (const auto& c : checks) EXPECT_NE(c["pod"], "django-api-late") << c.dump();
}

TEST(LeakChecks, RecordedSoakOfATinyRun) {
  auto checks = LeakChecksFromAnswers(Recorded("soak_k6_requests.json"), Recorded("soak_rss.json"),
                                      Recorded("soak_working_set.json"));
  ASSERT_EQ(checks.size(), 3u) << checks.dump();
  std::map<std::string, nlohmann::json> by;
  for (const auto& c : checks) by[c["runtime"].get<std::string>()] = c;
  // Each runtime's soak window is its own (k6 ran them one after another): 10 s, 9 s, 9 s.
  EXPECT_EQ(by["django"]["load_window"][0].get<double>(), 1795477928.0);
  EXPECT_EQ(by["django"]["load_window"][1].get<double>(), 1795477938.0);
  EXPECT_EQ(by["rust"]["load_window"][0].get<double>(), 1795477902.0);
  EXPECT_EQ(by["go"]["load_window"][1].get<double>(), 1795477924.0);
  EXPECT_DOUBLE_EQ(by["django"]["warmup_seconds"].get<double>(), 2.5);
  const auto& d = by["django"]["rss"];
  EXPECT_EQ(d["samples"].get<int>(), 8);
  EXPECT_NEAR(d["slope_bytes_per_second"].get<double>(), 22040.380952, 1e-5);
  EXPECT_NEAR(d["slope_mib_per_hour"].get<double>(), 75.669643, 1e-5);
  EXPECT_NEAR(d["r2"].get<double>(), 0.917116, 1e-6);
  EXPECT_NEAR(d["rise_mib"].get<double>(), 0.147135, 1e-6);
  // Steep per hour, but 0.15 MiB over 7 s is below the 1 MiB the verdict asks for.
  EXPECT_EQ(by["django"]["verdict"], "stable");
  EXPECT_NEAR(by["go"]["rss"]["slope_bytes_per_second"].get<double>(), 1462.857143, 1e-5);
  EXPECT_NEAR(by["go"]["rss"]["r2"].get<double>(), 0.625, 1e-9);
  EXPECT_NEAR(by["rust"]["rss"]["slope_mib_per_hour"].get<double>(), 7.533482, 1e-5);
  EXPECT_NEAR(by["rust"]["rss"]["r2"].get<double>(), 0.803571, 1e-6);
  EXPECT_TRUE(by["rust"].contains("working_set"));
  EXPECT_EQ(by["rust"]["pod"], "rust-api-11ed6a08b-ae1db");
}

TEST(CostProjections, RecordedLoadOfATinyRun) {
  auto load = nlohmann::json::parse(Recorded("load_scenario.json"));
  std::map<std::string, int64_t> limits = {{"rust-api", 500}, {"go-api", 500}, {"django-api", 500}};
  auto cost = CostProjectionsFromAnswers(load, limits, Recorded("load_k6_requests.json"),
                                         Recorded("load_working_set.json"));
  ASSERT_EQ(cost.size(), 3u) << cost.dump();
  std::map<std::string, nlohmann::json> by;
  for (const auto& c : cost) by[c["runtime"].get<std::string>()] = c;
  // django: 29 requests in 1.7669 CPU-s → 16.41 req/CPU-s → 8.21 req/s per 500m pod → 13 pods
  // of 60.33 MiB (the largest working set while django was under load).
  EXPECT_NEAR(by["django"]["requests_per_cpu_second"].get<double>(), 16.412979, 1e-5);
  EXPECT_NEAR(by["django"]["requests_per_second_per_pod"].get<double>(), 8.206489, 1e-5);
  EXPECT_EQ(by["django"]["pods"].get<int>(), 13);
  EXPECT_NEAR(by["django"]["mib_per_pod"].get<double>(), 60.33203125, 1e-9);
  EXPECT_NEAR(by["django"]["memory_mib"].get<double>(), 784.31640625, 1e-9);
  EXPECT_NEAR(by["django"]["cpu_millicores"].get<double>(), 6092.739, 1e-3);
  EXPECT_EQ(by["rust"]["pods"].get<int>(), 1);
  EXPECT_NEAR(by["rust"]["mib_per_pod"].get<double>(), 0.875, 1e-9);
  EXPECT_NEAR(by["go"]["requests_per_cpu_second"].get<double>(), 272.913791, 1e-5);
  EXPECT_NEAR(by["go"]["mib_per_pod"].get<double>(), 4.99609375, 1e-9);
  // Without a CPU limit there is nothing to project.
  auto unlimited = CostProjectionsFromAnswers(load, {}, Recorded("load_k6_requests.json"),
                                              Recorded("load_working_set.json"));
  EXPECT_TRUE(unlimited[0].contains("error"));
}

TEST(ProjectCost, Formula) {
  auto c = ProjectCost(1000, 4, 0.5, 64 * kMiB);  // 250 req/CPU-s, 125 req/s per pod
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pods, 1);
  EXPECT_DOUBLE_EQ(c->cpu_millicores, 400);
  c = ProjectCost(100, 10, 0.5, 128 * kMiB);  // 10 req/CPU-s, 5 req/s per pod: 20 pods
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pods, 20);
  EXPECT_DOUBLE_EQ(c->memory_mib, 20 * 128);
  EXPECT_FALSE(ProjectCost(100, 0, 0.5, kMiB));
  EXPECT_FALSE(ProjectCost(100, 1, 0, kMiB));
}

TEST(SpreadOf, MinMedianMax) {
  auto s = SpreadOf({5, 1, 3});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->min, 1);
  EXPECT_EQ(s->median, 3);
  EXPECT_EQ(s->max, 5);
  EXPECT_EQ(SpreadOf({4, 1, 3, 2})->median, 2.5);
  EXPECT_FALSE(SpreadOf({}));
}

TEST(FindSample, LabelsMatchWholeNames) {
  const std::string text =
      "# HELP refserver_startup_seconds x\nrefserver_startup_seconds 0.0125\n"
      "podmeter_container_startup_seconds{namespace=\"n\",exported_pod=\"a\",pod=\"b\"} 0.5\n"
      "podmeter_container_startup_seconds{namespace=\"n\",pod=\"a\",container=\"c\"} 0.25\n"
      "podmeter_container_startup_seconds_x{pod=\"a\"} 9\n";
  EXPECT_EQ(FindSample(text, "refserver_startup_seconds", {}), 0.0125);
  EXPECT_EQ(FindSample(text, "podmeter_container_startup_seconds", {{"pod", "a"}}), 0.25);
  EXPECT_EQ(FindSample(text, "podmeter_container_startup_seconds", {{"pod", "b"}}), 0.5);
  EXPECT_FALSE(FindSample(text, "podmeter_container_startup_seconds", {{"pod", "z"}}));
  EXPECT_FALSE(FindSample(text, "refserver_startup", {}));
}

TEST(SummaryMarkdown, ScoreboardOfARecordedTinyRun) {
  // summary.json of the tiny run (cold-start, load, soak) the answers above were recorded from.
  auto summary = nlohmann::json::parse(Recorded("summary_tiny.json"));
  std::string md = SummaryMarkdown(summary);
  EXPECT_NE(md.find("| | rust | go | django | \n"), std::string::npos) << md;
  EXPECT_NE(md.find("| cold start exec→listen (podmeter, median) | 3.75 ms (1.27–4.74) | 29.7 ms "
                    "(17.0–44.0) | 1017.3 ms (895.1–1181.8) | "),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| pods for 100 req/s | 1 | 1 | 13 | "), std::string::npos) << md;
  EXPECT_NE(md.find("| memory for 100 req/s | 0.9 MiB | 5.0 MiB | 784.3 MiB | "), std::string::npos)
      << md;
  EXPECT_NE(md.find("| soak RSS slope | 7.5 MiB/h, stable | 5.0 MiB/h, stable | 75.7 MiB/h, "
                    "stable | "),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("## Cold start (5 starts per runtime"), std::string::npos);
  EXPECT_NE(md.find("| django | 16 | 500m | 8.2 | 13 | 60.3 MiB | 784.3 MiB | 6093m |"),
            std::string::npos)
      << md;
  EXPECT_EQ(md.find("## cold-start"), std::string::npos);  // no k6 table for it
}

TEST(SummaryMarkdown, MissingFiguresAreDashes) {
  nlohmann::json bare = {{"run_id", "x"},
                         {"profile", "tiny"},
                         {"pods", nlohmann::json::array()},
                         {"scenarios", nlohmann::json::array()}};
  EXPECT_NE(SummaryMarkdown(bare).find("## Scoreboard"), std::string::npos);
  bare["pods"].push_back({{"app", "go-api"}});
  bare["leak_check"] = nlohmann::json::array({{{"error", "connection refused"}}});
  bare["cost_projection"] = nlohmann::json::array({{{"runtime", "go"}, {"error", "no limit"}}});
  bare["scenarios"].push_back({{"scenario", "cold-start"}, {"starts", 5}});
  std::string md = SummaryMarkdown(bare);
  EXPECT_NE(md.find("| pods for 100 req/s | - | "), std::string::npos) << md;
  EXPECT_NE(md.find("| connection refused | - |"), std::string::npos) << md;
}

TEST(SummaryMarkdown, ImageSizesCrashesAndTheMode) {
  nlohmann::json s = {{"run_id", "x"}, {"profile", "tiny"}, {"mode", "host"}};
  s["host"] = {{"note", "pods on CPU 0, k6 on CPU 1"}};
  s["pods"] = nlohmann::json::array({{{"app", "rust-api"}}, {{"app", "django-api"}}});
  s["images"] = nlohmann::json::array(
      {{{"runtime", "rust"}, {"unpacked_bytes", 4577280}, {"layer_gzip_bytes", 2162306}},
       {{"runtime", "django"}, {"error", "no size"}}});
  s["scenarios"] =
      nlohmann::json::array({{{"scenario", "squeeze"},
                              {"k6", {{"rows", nlohmann::json::array()}}},
                              {"kubelet",
                               {{{"app", "django-api"},
                                 {"pod", "d"},
                                 {"restarts", 1},
                                 {"restarts_during", 1},
                                 {"liveness_failures", 4},
                                 {"liveness_kills", 1}}}}},
                             {{"scenario", "pod-kill"},  // kills on purpose: not a crash
                              {"kubelet",
                               {{{"app", "django-api"},
                                 {"pod", "d"},
                                 {"restarts", 2},
                                 {"restarts_during", 1},
                                 {"liveness_kills", 0}}}}}});
  std::string md = SummaryMarkdown(s);
  EXPECT_NE(md.find("| image size (unpacked; gzip layer) | 4.6 MB (2.2 MB) | - | "),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| pod crashes across all tests (kubelet) | - | 1 | "), std::string::npos)
      << md;
  EXPECT_NE(md.find("**Mode: lab.**"), std::string::npos) << md;
  EXPECT_NE(md.find("pods on CPU 0, k6 on CPU 1."), std::string::npos) << md;
  // The squeeze's restarts: kubelet, liveness failures, by the liveness probe, podmeter.
  EXPECT_NE(md.find("| d | 1 | 4 | 1 | - |"), std::string::npos) << md;
  s["mode"] = "cluster";
  EXPECT_NE(SummaryMarkdown(s).find("**Mode: node.**"), std::string::npos);
}

}  // namespace
}  // namespace podmeter::lab
