// report.html: one self-contained page per lab run with each scenario plotted over time for the
// three runtimes (k6's and podmeter's series from the run's Prometheus, through the Grafana
// dashboard panels lab/report_panels.json names), the summary.md scoreboard on top and uPlot
// (lab/report/node_modules) inlined. Single-threaded; no global state but curl's global init.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "collectors/base/status.h"

namespace podmeter::lab {

/// One PromQL of a panel and how its series are named (Grafana's legendFormat, "{{runtime}}").
struct ReportTarget {
  std::string expr, legend_format;
  bool dash = false;
};

/// One chart: a Grafana dashboard panel's title, unit (as shown) and targets, plus the values
/// of the dashboard's variables the report does not set itself.
struct ReportPanel {
  std::string id, title, unit;
  std::vector<ReportTarget> targets;
  std::map<std::string, std::string> variables;
  bool needs_k6 = false;  // drawn only for scenarios that ran k6 (not cold-start)
};

/// One entry of lab/report_panels.json: the chart's id in the page and the dashboard panel it
/// shows (dashboards/<dashboard>, panel title).
struct ReportChartRef {
  std::string id, dashboard, panel;
  bool needs_k6 = false;
};

/// The charts of lab/report_panels.json, in order; an error names what is wrong.
StatusOr<std::vector<ReportChartRef>> ParseReportPanelList(const std::string& json_text);

/// The panel `ref.panel` (by title) of a Grafana dashboard's JSON as a chart: each target's expr
/// and legendFormat, dashed when a byFrameRefID override gives it a dashed custom.lineStyle, the
/// unit through DisplayUnit, and the dashboard's variables: an includeAll one's allValue, else
/// its current value.
StatusOr<ReportPanel> PanelFromDashboard(const std::string& dashboard_json,
                                         const ReportChartRef& ref);

/// A Grafana unit id as the page shows it: reqps → req/s, percent → %, mbytes → MiB,
/// "suffix: x" → x, short → "" (a plain number); others unchanged.
std::string DisplayUnit(const std::string& grafana_unit);

/// lab/report_panels.json with the panels it names read from `repo`/dashboards.
StatusOr<std::vector<ReportPanel>> LoadReportPanels(const std::string& repo);

/// `expr` with the variables in `vars` ($run_id or ${run_id}, $__rate_interval, …) replaced;
/// other `$` (a label_replace "$1", an unknown name) are left alone.
std::string ExpandQuery(const std::string& expr, const std::map<std::string, std::string>& vars);

/// Regex matching every app of a kubelet PodList (pods.json): the pods' app.kubernetes.io/name
/// label, else app, joined with "|" (".*" when none); the namespace of its first pod.
std::string AppsRegex(const nlohmann::json& pod_list);

/// The query_range step for a window: 1 s, or larger so a series has at most ~1,000 points.
int64_t QueryStep(int64_t start, int64_t end);

/// A chart's data as the page draws it: x = start, start + step, … end (unix seconds), one value
/// array per series (null where Prometheus had no sample or NaN/±Inf).
struct ChartData {
  std::vector<int64_t> x;
  struct Series {
    std::string label, runtime;
    bool dash = false;
    std::vector<std::optional<double>> values;
  };
  std::vector<Series> series;
};

/// An empty chart over the window (every x, no series yet).
ChartData EmptyChart(int64_t start, int64_t end, int64_t step);

/// Adds the series of one Prometheus /api/v1/query_range answer (the whole JSON document) to
/// `chart`, named by `target.legend_format`, in the order rust, go, django, then the rest.
Status AddQueryRangeAnswer(const std::string& answer, const ReportTarget& target, ChartData* chart);

/// The chart as the page's JSON: {title, unit, x, series: [{label, runtime, dash, values}]}.
nlohmann::json ChartJson(const ReportPanel& panel, const ChartData& chart);

/// summary.md's headings and tables as HTML (text escaped).
std::string MarkdownToHtml(const std::string& markdown);

/// The page: `tmpl` (lab/report/report.html.tmpl) with @TITLE@, @SUMMARY@, @DATA@ (the sections'
/// JSON, safe inside a <script>), @UPLOT_CSS@ and @UPLOT_JS@ filled in.
std::string RenderReport(const std::string& tmpl, const std::string& title,
                         const std::string& summary_html, const nlohmann::json& sections,
                         const std::string& uplot_css, const std::string& uplot_js);

struct ReportOptions {
  std::string repo;        // lab/report_panels.json, dashboards/, lab/report/ (template, uPlot)
  std::string run_dir;     // results/<run>: summary.json, summary.md, pods.json; report.html
  std::string prometheus;  // e.g. http://127.0.0.1:19090
};

/// Queries the run's Prometheus for every scenario of summary.json and writes report.html.
/// Returns the number of charts with data.
StatusOr<int> WriteReport(const ReportOptions& options);

/// The configuration the report's Prometheus runs with: no scrape targets (the run's
/// prometheus.yml scrapes 127.0.0.1:10101, where another run's podmeter may be listening).
std::string ScrapelessPrometheusConfig();

/// `podmeter-lab report`: starts a Prometheus on the run's TSDB (a free loopback port, the
/// scrape-less configuration in logs/prometheus-report.yml), writes report.html, stops it.
StatusOr<int> RegenerateReport(const std::string& repo, const std::string& run_dir);

}  // namespace podmeter::lab
