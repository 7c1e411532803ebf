// The suites' scoreboards (lab/suites.h) and their resource monitor (lab/analysis.h) on
// hand-made summary pieces and query_range answers whose figures are worked out here.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "lab/analysis.h"
#include "lab/benchmark.h"
#include "lab/image_sizes.h"
#include "lab/suites.h"
#include "lab/summary_markdown.h"

namespace podmeter::lab {
namespace {

using nlohmann::json;

TEST(Suites, EachNamesItsReportAndApps) {
  ASSERT_EQ(Suites().size(), 3u);
  EXPECT_EQ(FindSuite("fib")->apps, (std::vector<std::string>{"actix-api", "go-api", "flask-api"}));
  EXPECT_EQ(FindSuite("snowflake")->apps, (std::vector<std::string>{"rust-api", "fasthttp-api"}));
  EXPECT_EQ(FindSuite("sha256")->apps, (std::vector<std::string>{"hyper-api", "go-api"}));
  EXPECT_EQ(FindSuite("load"), nullptr);
  // Every ratio compares two runtimes of its own suite.
  for (const Suite& s : Suites()) {
    for (const ReportRatio& r : s.ratios) {
      bool num = false, den = false;
      for (const auto& app : s.apps) {
        num = num || app.rfind(r.numerator + "-", 0) == 0;
        den = den || app.rfind(r.denominator + "-", 0) == 0;
      }
      EXPECT_TRUE(num && den) << s.name << ": " << r.what;
    }
  }
}

TEST(Suites, ServerBinaryOfEachLocalCommand) {
  EXPECT_EQ(ServerBinary({"servers/run", "actix"}), "servers/rust/target/release/refserver-actix");
  EXPECT_EQ(ServerBinary({"servers/run", "fasthttp"}), "servers/go/bin/refserver-fasthttp");
  EXPECT_EQ(ServerBinary({"servers/run", "flask"}), "servers/flask/.venv/bin/python");
  EXPECT_EQ(ServerBinary({"servers/run", "nginx"}), "");
  EXPECT_EQ(ServerBinary({"/bin/sleep", "1"}), "");
}

TEST(Suites, EachNamesItsTestsInK6sOrder) {
  EXPECT_EQ(FindSuite("fib")->tests, (std::vector<std::string>{"single", "load", "spike", "soak"}));
  EXPECT_EQ(FindSuite("snowflake")->tests, (std::vector<std::string>{"ids"}));
  EXPECT_EQ(FindSuite("sha256")->tests, (std::vector<std::string>{"main"}));
}

TEST(Suites, ActiveRequestsOfEachServersExposition) {
  // Rust and Go: a plain gauge; gunicorn's multiprocess livesum prints a float.
  EXPECT_EQ(ParseActiveRequests("# HELP http_server_active_requests In flight.\n"
                                "# TYPE http_server_active_requests gauge\n"
                                "http_server_active_requests 3\n"
                                "refserver_startup_seconds 0.01\n"),
            3);
  EXPECT_EQ(ParseActiveRequests("http_server_active_requests 0.0\n"), 0);
  // Labelled series are summed; a timestamp is not the value; other metrics with the same
  // prefix are not the gauge.
  EXPECT_EQ(ParseActiveRequests("http_server_active_requests{worker=\"1\"} 2 1700000000000\n"
                                "http_server_active_requests{worker=\"2\"} 5\n"
                                "http_server_active_requests_total 99\n"),
            7);
  EXPECT_EQ(ParseActiveRequests("http_server_active_requests_total 99\n# http_server_active_"
                                "requests 1\n"),
            std::nullopt);
  EXPECT_EQ(ParseActiveRequests(""), std::nullopt);
  EXPECT_EQ(ParseActiveRequests("http_server_active_requests\n"), std::nullopt);
}

TEST(Suites, DrainTimeoutPerProfile) {
  EXPECT_EQ(DrainTimeout("tiny"), 60);
  EXPECT_EQ(DrainTimeout("quick"), 120);
  EXPECT_EQ(DrainTimeout("full"), 600);
}

TEST(ImageSizes, ImagesWithoutASizeAndTheirArchiveNames) {
  json sizes = {{"rust-api:dev", {{"unpacked_bytes", 1}}}};
  EXPECT_EQ(
      ImagesWithoutSize(sizes, {"rust-api:dev", "flask-api:dev", "go-api:dev", "flask-api:dev"}),
      (std::vector<std::string>{"flask-api:dev", "go-api:dev"}));
  EXPECT_EQ(ImagesWithoutSize(nullptr, {"rust-api:dev"}),
            (std::vector<std::string>{"rust-api:dev"}));
  EXPECT_TRUE(ImagesWithoutSize(sizes, {"rust-api:dev"}).empty());
  EXPECT_EQ(ImageArchiveName("flask-api:dev"), "flask-api");
  EXPECT_EQ(ImageArchiveName("docker.io/library/go-api:dev"), "go-api");
  EXPECT_EQ(ImageArchiveName("registry:5000/x/actix-api"), "actix-api");
}

TEST(SuiteBoard, SaysWhyASizeIsMissing) {
  json binaries = {{"actix-api", {{"bytes", 2e6}, {"kind", "binary"}, {"path", "/x/a"}}},
                   {"go-api", {{"bytes", 12e6}, {"kind", "binary"}, {"path", "/x/g"}}},
                   {"flask-api", {{"bytes", 60e6}, {"kind", "image"}, {"path", "sizes.json"}}}};
  json sizes = {{"flask-api:dev", {{"archive_bytes", 20e6}, {"unpacked_bytes", 60e6}}}};
  json b = SuiteBoard(
      *FindSuite("fib"), {{"scenario", "fib"}}, json::array(), json::object(), sizes, binaries,
      {{"actix-api", "actix-api:dev"}, {"go-api", "go-api:dev"}, {"flask-api", "flask-api:dev"}});
  b["runtimes"][1]["size_note"] = "no size for go-api:dev: scripts/images build exited 1: boom";
  std::string md = SuiteMarkdown(b);
  EXPECT_NE(md.find(std::string("| ") + kBinaryRow + " | 2.00 MB | 12.00 MB | 60.00 MB |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| image unpacked | - | - | 60.00 MB |"), std::string::npos) << md;
  EXPECT_NE(md.find("\n- go: no size for go-api:dev: scripts/images build exited 1: boom (its "
                    "image rows show -)"),
            std::string::npos)
      << md;
  EXPECT_EQ(md.find("- actix:"), std::string::npos) << md;
}

TEST(Suites, StatsAreMinMaxMeanAndSampleStdDev) {
  json s = Stats({2, 4, 4, 4, 5, 5, 7, 9});
  EXPECT_EQ(s["min"], 2);
  EXPECT_EQ(s["max"], 9);
  EXPECT_DOUBLE_EQ(s["avg"].get<double>(), 5);
  EXPECT_NEAR(s["std"].get<double>(), std::sqrt(32.0 / 7), 1e-12);
  EXPECT_EQ(s["samples"], 8);
  EXPECT_EQ(Stats({3})["std"], 0);
  EXPECT_TRUE(Stats({}).is_null());
}

json Row(const std::string& runtime, const std::string& test, double requests, double failed,
         double rps, double p95) {
  return {{"runtime", runtime},         {"test", test},  {"requests", requests}, {"failed", failed},
          {"requests_per_second", rps}, {"p95_ms", p95}, {"avg_ms", p95 / 2}};
}

TEST(SuiteBoard, FiguresSizesAndTheReportsRatios) {
  json scenario = {
      {"scenario", "snowflake"},
      {"k6",
       {{"description", "ids"},
        {"rows", {Row("rust", "ids", 200, 0, 10, 4), Row("fasthttp", "ids", 100, 25, 5, 6)}}}},
      {"podmeter",
       {{{"app", "rust-api"}, {"cpu_seconds", 1.5}, {"peak_working_set_bytes", 3 * 1048576.0}},
        {{"app", "fasthttp-api"},
         {"cpu_seconds", 2},
         {"peak_working_set_bytes", 12 * 1048576.0}}}}};
  json pods = {{{"app", "rust-api"}, {"idle_working_set_bytes", 1048576.0}},
               {{"app", "fasthttp-api"}, {"idle_working_set_bytes", 8 * 1048576.0}}};
  json resources = {{"rust", {{"cpu_percent", Stats({2, 4})}, {"ram_mib", Stats({1, 3})}}},
                    {"fasthttp", {{"cpu_percent", Stats({6, 6})}, {"ram_mib", Stats({8, 8})}}}};
  json sizes = {{"rust-api:dev", {{"archive_bytes", 2e6}, {"unpacked_bytes", 4e6}}}};
  json binaries = {{"rust-api", {{"bytes", 1e6}, {"kind", "binary"}, {"path", "/x/refserver"}}},
                   {"fasthttp-api", {{"bytes", 9e6}, {"kind", "binary"}, {"path", "/x/f"}}}};
  std::map<std::string, std::string> images = {{"rust-api", "rust-api:dev"},
                                               {"fasthttp-api", "fasthttp-api:dev"}};
  json b = SuiteBoard(*FindSuite("snowflake"), scenario, pods, resources, sizes, binaries, images);
  ASSERT_EQ(b["runtimes"].size(), 2u);
  const json& rust = b["runtimes"][0]["figures"];
  const json& fast = b["runtimes"][1]["figures"];
  EXPECT_EQ(rust["ids_requests"], 200);
  EXPECT_DOUBLE_EQ(fast["ids_success_percent"].get<double>(), 75);
  EXPECT_DOUBLE_EQ(fast["ids_error_percent"].get<double>(), 25);
  EXPECT_DOUBLE_EQ(rust["image_mb"].get<double>(), 4);
  EXPECT_DOUBLE_EQ(rust["image_archive_mb"].get<double>(), 2);
  EXPECT_FALSE(fast.contains("image_mb"));  // no size recorded for its image
  EXPECT_DOUBLE_EQ(rust["idle_mib"].get<double>(), 1);
  EXPECT_DOUBLE_EQ(fast["load_mib"].get<double>(), 12);
  EXPECT_DOUBLE_EQ(rust["cpu_avg_percent"].get<double>(), 3);
  EXPECT_DOUBLE_EQ(rust["ram_max_mib"].get<double>(), 3);
  std::map<std::string, json> here;
  for (const json& c : b["comparisons"]) here[c["figure"]] = c;
  EXPECT_DOUBLE_EQ(here["binary_bytes"]["here"].get<double>(), 9);        // 9e6 / 1e6
  EXPECT_DOUBLE_EQ(here["binary_bytes"]["report"].get<double>(), 8.770);  // 7.64 MB / 0.87 MB
  EXPECT_DOUBLE_EQ(here["ids_avg_ms"]["here"].get<double>(), 1.5);        // 3 ms / 2 ms
  EXPECT_DOUBLE_EQ(here["cpu_avg_percent"]["here"].get<double>(), 2);     // 6 % / 3 %
  EXPECT_TRUE(here["ids_std_ms"]["here"].is_null());                      // no std in the rows

  std::string md = SuiteMarkdown(b);
  EXPECT_NE(md.find("## Suite snowflake: snowflake-axum-fasthttp.md"), std::string::npos) << md;
  EXPECT_NE(md.find("| Response time std dev | - | - |"), std::string::npos) << md;
  EXPECT_NE(md.find("| Success rate | 100.00 % | 75.00 % |"), std::string::npos) << md;
  EXPECT_NE(md.find("| Binary size (bytes) | 1000000 | 9000000 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| binary size: fasthttp / rust | 8.77× | 9.00× |"), std::string::npos) << md;
}

TEST(SuiteBoard, SummaryOfSuitesOnlyHasTheirBoardsNotTheMainScoreboard) {
  json board = SuiteBoard(*FindSuite("sha256"), {{"scenario", "sha256"}}, json::array(),
                          json::object(), nullptr, json::object(), {});
  json summary = {{"run_id", "r"},
                  {"profile", "tiny"},
                  {"pods", json::array()},
                  {"scenarios", {{{"scenario", "sha256"}}}},
                  {"suites", {{"sha256", board}}}};
  std::string md = SummaryMarkdown(summary);
  EXPECT_EQ(md.find("## Scoreboard"), std::string::npos) << md;
  EXPECT_NE(md.find("## Suite sha256"), std::string::npos) << md;
  EXPECT_NE(md.find("| P99 |"), std::string::npos) << md;
  EXPECT_EQ(md.find("\n## sha256\n"), std::string::npos) << md;  // no generic scenario table
}

TEST(SummaryMarkdown, MainScoreboardHasImageAndBinarySizes) {
  json summary = {
      {"run_id", "r"},
      {"profile", "tiny"},
      {"pods", {{{"app", "rust-api"}}, {{"app", "django-api"}}}},
      {"scenarios", json::array()},
      {"servers",
       {{{"runtime", "rust"},
         {"image_unpacked_bytes", 4577280},
         {"image_archive_bytes", 2170880},
         {"binary_bytes", 1379880}},
        {{"runtime", "django"}, {"binary_bytes", 6831736}}}},
      {"images",
       {{{"runtime", "rust"}, {"unpacked_bytes", 4577280}, {"layer_gzip_bytes", 2162306}}}}};
  std::string md = SummaryMarkdown(summary);
  EXPECT_NE(md.find("| image size (unpacked; gzip layer) | 4.6 MB (2.2 MB) | - | "),
            std::string::npos)
      << md;
  EXPECT_NE(md.find(std::string("| ") + kBinaryRow + " | 1.38 MB | 6.83 MB | "), std::string::npos)
      << md;
}

std::string Matrix(const json& result) {
  return json({{"status", "success"}, {"data", {{"resultType", "matrix"}, {"result", result}}}})
      .dump();
}

json Series(const json& labels, double t0, const std::vector<double>& values) {
  json v = json::array();
  for (size_t i = 0; i < values.size(); ++i) {
    v.push_back({t0 + static_cast<double>(i), std::to_string(values[i])});
  }
  return {{"metric", labels}, {"values", v}};
}

TEST(ResourceStats, OnlyTheRuntimesOwnWindow) {
  // rust's requests rise over t = 100..103, fasthttp's over 110..113 (k6 pushes a runtime's
  // counter from its first request on; flat after its run).
  std::string k6 = Matrix({Series({{"runtime", "rust"}}, 100, {1, 5, 9, 12, 12, 12, 12, 12}),
                           Series({{"runtime", "fasthttp"}}, 110, {1, 4, 8, 9, 9})});
  // CPU in cores each second; rust busy in its window, idle in fasthttp's.
  std::string cpu = Matrix({Series({{"app", "rust-api"}, {"pod", "r"}}, 100,
                                   {0.02, 0.04, 0.06, 0.08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
                            Series({{"app", "fasthttp-api"}, {"pod", "f"}}, 100,
                                   {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.1, 0.1, 0.3, 0.1})});
  std::string ws = Matrix(
      {Series({{"app", "rust-api"}, {"pod", "r"}}, 100,
              {1048576, 2097152, 2097152, 3145728, 0, 0, 0}),
       Series({{"app", "fasthttp-api"}, {"pod", "f"}}, 110, {8388608, 8388608, 8388608, 8388608})});
  json r = ResourceStatsFromAnswers(k6, cpu, ws);
  ASSERT_TRUE(r.contains("rust") && r.contains("fasthttp")) << r.dump();
  EXPECT_EQ(r["rust"]["window"], json({100.0, 103.0}));
  EXPECT_DOUBLE_EQ(r["rust"]["cpu_percent"]["avg"].get<double>(), 5);  // 2, 4, 6, 8 %
  EXPECT_DOUBLE_EQ(r["rust"]["cpu_percent"]["max"].get<double>(), 8);
  EXPECT_DOUBLE_EQ(r["rust"]["ram_mib"]["avg"].get<double>(), 2);  // 1, 2, 2, 3 MiB
  EXPECT_EQ(r["fasthttp"]["window"], json({110.0, 113.0}));
  EXPECT_DOUBLE_EQ(r["fasthttp"]["cpu_percent"]["avg"].get<double>(), 15);  // 10, 10, 30, 10
  EXPECT_DOUBLE_EQ(r["fasthttp"]["ram_mib"]["std"].get<double>(), 0);
  EXPECT_TRUE(ResourceStatsFromAnswers("nope", cpu, ws).contains("error"));
}

}  // namespace
}  // namespace podmeter::lab
