// report.html's pure parts: the query templating, a recorded Prometheus query_range answer turned
// into the chart data the page embeds, the scoreboard's markdown and the page's filling-in.
#include "lab/report.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace podmeter::lab {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ExpandQuery, ReplacesOnlyTheKnownPlaceholders) {
  std::map<std::string, std::string> vars = {
      {"run_id", "20261123T220000Z"}, {"scenario", "load"}, {"namespace", "podmeter-bench"}};
  EXPECT_EQ(
      ExpandQuery("rate(k6_http_reqs_total{run_id=\"$run_id\",scenario=\"$scenario\"}[5s])", vars),
      "rate(k6_http_reqs_total{run_id=\"20261123T220000Z\",scenario=\"load\"}[5s])");
  EXPECT_EQ(ExpandQuery("rate(x[$__rate_interval])", {{"__rate_interval", "20s"}}), "rate(x[20s])");
  // label_replace's "$1" and an unknown variable stay as they are.
  EXPECT_EQ(ExpandQuery("label_replace(x{namespace=\"$namespace\"}, \"r\", \"$1\", \"a\", \"$x\")$",
                        vars),
            "label_replace(x{namespace=\"podmeter-bench\"}, \"r\", \"$1\", \"a\", \"$x\")$");
}

TEST(ExpandQuery, BracedVariablesAndFormats) {
  std::map<std::string, std::string> vars = {{"app", "rust-api|go-api"}, {"w", "5m"}};
  EXPECT_EQ(ExpandQuery("x{app=~\"${app}\"}[${w}] ${app:regex} ${nope} ${open", vars),
            "x{app=~\"rust-api|go-api\"}[5m] rust-api|go-api ${nope} ${open");
}

TEST(ParseReportPanelList, ChartsInOrderAndErrors) {
  auto refs = ParseReportPanelList(
      R"({"charts": [{"id": "a", "dashboard": "d.json", "panel": "P 1"},
                     {"id": "b", "dashboard": "e.json", "panel": "P 2", "needs_k6": true}]})");
  ASSERT_TRUE(refs.ok()) << refs.status().message();
  ASSERT_EQ(refs->size(), 2u);
  EXPECT_EQ((*refs)[1].id, "b");
  EXPECT_EQ((*refs)[1].dashboard, "e.json");
  EXPECT_EQ((*refs)[1].panel, "P 2");
  EXPECT_FALSE((*refs)[0].needs_k6);
  EXPECT_TRUE((*refs)[1].needs_k6);
  EXPECT_FALSE(ParseReportPanelList(R"({"charts": [{"id": "a", "dashboard": "d.json"}]})").ok());
  EXPECT_FALSE(
      ParseReportPanelList(R"({"charts": [{"id": "a", "dashboard": "../x", "panel": "p"}]})").ok());
  EXPECT_FALSE(ParseReportPanelList("not json").ok());
}

TEST(DisplayUnit, GrafanaUnitsAsThePageShowsThem) {
  EXPECT_EQ(DisplayUnit("reqps"), "req/s");
  EXPECT_EQ(DisplayUnit("percent"), "%");
  EXPECT_EQ(DisplayUnit("mbytes"), "MiB");
  EXPECT_EQ(DisplayUnit("suffix: millicores"), "millicores");
  EXPECT_EQ(DisplayUnit("short"), "");
  EXPECT_EQ(DisplayUnit("ms"), "ms");
}

TEST(PanelFromDashboard, TargetsDashesUnitAndVariables) {
  const std::string dashboard = R"({
    "panels": [
      {"type": "row", "title": "CPU", "panels": [
        {"title": "Nested", "fieldConfig": {"defaults": {"unit": "s"}},
         "targets": [{"refId": "A", "expr": "n"}]}]},
      {"title": "CPU against the limit",
       "fieldConfig": {"defaults": {"unit": "suffix: millicores"}, "overrides": [
         {"matcher": {"id": "byFrameRefID", "options": "B"},
          "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}}]},
         {"matcher": {"id": "byRegexp", "options": "^rust"},
          "properties": [{"id": "color", "value": {"fixedColor": "red"}}]}]},
       "targets": [{"refId": "A", "expr": "usage", "legendFormat": "{{runtime}}"},
                   {"refId": "B", "expr": "limit", "legendFormat": "{{runtime}} limit"}]}],
    "templating": {"list": [
      {"name": "route", "includeAll": true, "allValue": ".*", "current": {"value": ["$__all"]}},
      {"name": "w", "type": "interval", "current": {"text": "5m", "value": "5m"}},
      {"name": "scenario", "includeAll": false, "current": {"value": ["soak"]}}]}})";
  auto panel = PanelFromDashboard(dashboard, {"cpu", "d.json", "CPU against the limit"});
  ASSERT_TRUE(panel.ok()) << panel.status().message();
  EXPECT_EQ(panel->id, "cpu");
  EXPECT_EQ(panel->title, "CPU against the limit");
  EXPECT_EQ(panel->unit, "millicores");
  ASSERT_EQ(panel->targets.size(), 2u);
  EXPECT_EQ(panel->targets[0].expr, "usage");
  EXPECT_FALSE(panel->targets[0].dash);
  EXPECT_EQ(panel->targets[1].legend_format, "{{runtime}} limit");
  EXPECT_TRUE(panel->targets[1].dash);
  EXPECT_EQ(panel->variables, (std::map<std::string, std::string>{
                                  {"route", ".*"}, {"w", "5m"}, {"scenario", "soak"}}));
  auto nested = PanelFromDashboard(dashboard, {"n", "d.json", "Nested"});
  ASSERT_TRUE(nested.ok()) << nested.status().message();
  EXPECT_EQ(nested->targets[0].legend_format, "{{runtime}}");
  EXPECT_EQ(PanelFromDashboard(dashboard, {"x", "d.json", "Missing"}).status().code(),
            Status::Code::kNotFound);
  EXPECT_FALSE(PanelFromDashboard("[]", {"x", "d.json", "CPU"}).ok());
  // A field of the wrong type is an error, not an exception.
  EXPECT_EQ(
      PanelFromDashboard(R"({"panels": [{"title": "T", "fieldConfig": 3}]})", {"x", "d.json", "T"})
          .status()
          .code(),
      Status::Code::kInvalidData);
}

TEST(AppsRegex, EveryAppOfThePodList) {
  auto pods = nlohmann::json::parse(R"({"items": [
    {"metadata": {"namespace": "n", "labels": {"app.kubernetes.io/name": "rust-api"}}},
    {"metadata": {"namespace": "n", "labels": {"app": "go.api"}}},
    {"metadata": {"namespace": "n", "labels": {"app.kubernetes.io/name": "rust-api"}}},
    {"metadata": {"namespace": "n"}}]})");
  EXPECT_EQ(AppsRegex(pods), "go\\.api|rust-api");
  EXPECT_EQ(AppsRegex(nlohmann::json::object()), ".*");
}

TEST(ReportPanels, TheShippedChartsComeFromTheDashboardsAndExpandCompletely) {
  auto panels = LoadReportPanels(PODMETER_REPO_DIR);
  ASSERT_TRUE(panels.ok()) << panels.status().message();
  std::vector<std::string> ids;
  for (const ReportPanel& p : *panels) ids.push_back(p.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"throughput", "latency_p50", "latency_p95",
                                           "latency_p99", "errors", "cpu", "throttling",
                                           "working_set", "rss", "pods", "restarts"}));
  const ReportPanel& cpu = (*panels)[5];
  ASSERT_EQ(cpu.targets.size(), 2u);
  EXPECT_FALSE(cpu.targets[0].dash);
  EXPECT_TRUE(cpu.targets[1].dash);
  EXPECT_EQ(cpu.unit, "millicores");
  for (const ReportPanel& p : *panels) {
    EXPECT_FALSE(p.title.empty()) << p.id;
    std::map<std::string, std::string> vars = p.variables;
    for (const auto& [k, v] : std::map<std::string, std::string>{{"run_id", "r"},
                                                                 {"scenario", "s"},
                                                                 {"namespace", "n"},
                                                                 {"app", "a"},
                                                                 {"__rate_interval", "5s"}}) {
      vars[k] = v;
    }
    for (const ReportTarget& t : p.targets) {
      std::string q = ExpandQuery(t.expr, vars);
      for (size_t at = q.find('$'); at != std::string::npos; at = q.find('$', at + 1)) {
        EXPECT_EQ(q.substr(at, 2), "$1") << p.id << ": " << q;  // only label_replace's
      }
    }
  }
}

TEST(QueryStep, OneSecondUpToAThousandPoints) {
  EXPECT_EQ(QueryStep(100, 100), 1);
  EXPECT_EQ(QueryStep(0, 60), 1);
  EXPECT_EQ(QueryStep(0, 1000), 1);
  EXPECT_EQ(QueryStep(0, 1001), 2);
  EXPECT_EQ(QueryStep(0, 4800), 5);
  EXPECT_LE((86400 / QueryStep(0, 86400)), 1000);
}

TEST(AddQueryRangeAnswer, RecordedAnswerBecomesAlignedSeriesInRuntimeOrder) {
  ChartData chart = EmptyChart(1700000000, 1700000003, 1);
  ASSERT_EQ(chart.x, (std::vector<int64_t>{1700000000, 1700000001, 1700000002, 1700000003}));
  ReportTarget target{"unused", "{{runtime}}", false};
  Status s = AddQueryRangeAnswer(
      ReadFile(std::string(PODMETER_FIXTURES_DIR) + "/prometheus/query_range_cpu.json"), target,
      &chart);
  ASSERT_TRUE(s.ok()) << s.message();
  // "other" had only NaN: dropped, so the page shows "no data" rather than an empty line.
  ASSERT_EQ(chart.series.size(), 3u);
  EXPECT_EQ(chart.series[0].label, "rust");
  EXPECT_EQ(chart.series[1].label, "go");
  EXPECT_EQ(chart.series[2].label, "django");
  using V = std::vector<std::optional<double>>;
  EXPECT_EQ(chart.series[0].values, (V{10, 12.5, 11, 9}));
  EXPECT_EQ(chart.series[1].values, (V{std::nullopt, 40, std::nullopt, std::nullopt}));
  EXPECT_EQ(chart.series[2].values, (V{120.5, std::nullopt, 130, std::nullopt}));

  ReportTarget limit{"unused", "{{runtime}} limit", true};
  ASSERT_TRUE(AddQueryRangeAnswer(
                  ReadFile(std::string(PODMETER_FIXTURES_DIR) + "/prometheus/query_range_cpu.json"),
                  limit, &chart)
                  .ok());
  ASSERT_EQ(chart.series.size(), 6u);
  EXPECT_EQ(chart.series[3].label, "rust limit");
  EXPECT_TRUE(chart.series[3].dash);

  ReportPanel panel{"cpu", "CPU", "millicores", {target}, {}};
  nlohmann::json j = ChartJson(panel, chart);
  EXPECT_EQ(j["unit"], "millicores");
  EXPECT_EQ(j["x"].size(), 4u);
  EXPECT_EQ(j["series"][1]["values"].dump(), "[null,40.0,null,null]");
  EXPECT_EQ(j["series"][0]["runtime"], "rust");
}

TEST(AddQueryRangeAnswer, ErrorsAndEmptyResults) {
  ChartData chart = EmptyChart(0, 10, 5);
  EXPECT_EQ(chart.x, (std::vector<int64_t>{0, 5, 10}));
  ReportTarget t{"q", "{{runtime}}", false};
  EXPECT_FALSE(AddQueryRangeAnswer("{\"status\":\"error\",\"error\":\"parse\"}", t, &chart).ok());
  EXPECT_FALSE(AddQueryRangeAnswer("<html>", t, &chart).ok());
  ASSERT_TRUE(
      AddQueryRangeAnswer(
          "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}", t, &chart)
          .ok());
  EXPECT_TRUE(chart.series.empty());
}

TEST(MarkdownToHtml, HeadingsAndTables) {
  std::string html = MarkdownToHtml(
      "# run x (tiny)\n\n## load\n\n| runtime | p95 |\n|---|---|\n| rust | 1.2 ms |\n| "
      "go<script> | - |\n");
  EXPECT_NE(html.find("<h1>run x (tiny)</h1>"), std::string::npos) << html;
  EXPECT_NE(html.find("<h2>load</h2>"), std::string::npos) << html;
  EXPECT_NE(html.find("<thead><tr><th>runtime</th><th>p95</th></tr></thead>"), std::string::npos)
      << html;
  EXPECT_NE(html.find("<tr><td>rust</td><td>1.2 ms</td></tr>"), std::string::npos) << html;
  EXPECT_NE(html.find("go&lt;script&gt;"), std::string::npos) << html;
  EXPECT_EQ(html.find("---"), std::string::npos) << html;
}

TEST(RenderReport, FillsTheTemplateOnceAndKeepsTheDataInsideItsScript) {
  nlohmann::json sections = nlohmann::json::array({{{"scenario", "</script><b>"}}});
  std::string page = RenderReport(
      "<title>@TITLE@</title><style>@UPLOT_CSS@</style><script>@UPLOT_JS@</script>"
      "<script type=\"application/json\">@DATA@</script>@SUMMARY@ a@b@",
      "run <1>", "<table></table>", sections, ".u{}", "var a='@DATA@';");
  EXPECT_EQ(page,
            "<title>run &lt;1&gt;</title><style>.u{}</style><script>var a='@DATA@';</script>"
            "<script type=\"application/json\">[{\"scenario\":\"<\\/script><b>\"}]</script>"
            "<table></table> a@b@");
}

}  // namespace
}  // namespace podmeter::lab
