#include "lab/report.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "collectors/base/file_util.h"
#include "collectors/http/http_client.h"
#include "lab/analysis.h"
#include "lab/process.h"

namespace podmeter::lab {
namespace {

using nlohmann::json;

constexpr int64_t kMaxPoints = 1000;
constexpr int64_t kPadSeconds = 5;  // shown around each scenario's window

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + " is missing");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> TableCells(std::string_view line) {
  std::string_view inner = line.substr(1);
  if (!inner.empty() && inner.back() == '|') inner.remove_suffix(1);
  std::vector<std::string> cells;
  size_t at = 0;
  while (at <= inner.size()) {
    size_t bar = inner.find('|', at);
    if (bar == std::string_view::npos) bar = inner.size();
    cells.push_back(Trim(inner.substr(at, bar - at)));
    at = bar + 1;
  }
  return cells;
}

int RuntimeRank(const std::string& runtime) {
  static const std::vector<std::string> order = {"rust",  "go",       "django", "actix",
                                                 "hyper", "fasthttp", "flask"};
  auto it = std::find(order.begin(), order.end(), runtime);
  return static_cast<int>(it - order.begin());
}

// A value of a query_range answer ("1.5", "NaN", "+Inf") as a plottable number.
std::optional<double> SampleValue(const json& v) {
  if (!v.is_string()) return std::nullopt;
  double d = std::strtod(v.get<std::string>().c_str(), nullptr);
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

std::string Legend(const std::string& format, const json& metric) {
  std::string out;
  size_t at = 0;
  while (at < format.size()) {
    size_t open = format.find("{{", at);
    if (open == std::string::npos) break;
    size_t close = format.find("}}", open);
    if (close == std::string::npos) break;
    out += format.substr(at, open - at);
    std::string label = Trim(std::string_view(format).substr(open + 2, close - open - 2));
    if (metric.contains(label) && metric[label].is_string()) {
      out += metric[label].get<std::string>();
    }
    at = close + 2;
  }
  return out + format.substr(at);
}

StatusOr<std::string> QueryRange(const std::string& prometheus, const std::string& expr,
                                 int64_t start, int64_t end, int64_t step) {
  auto body = QueryPrometheusRange(prometheus, expr, static_cast<double>(start),
                                   static_cast<double>(end), static_cast<double>(step));
  if (!body.ok() && body.status().code() == Status::Code::kInvalidData) {
    return Status::InvalidData(body.status().message() + " (query: " + expr + ")");
  }
  return body;
}

json PodList(const std::string& run_dir) {
  auto text = ReadFile(JoinPath(run_dir, "pods.json"));
  if (!text.ok()) return json::object();
  json pods = json::parse(*text, nullptr, false);
  return pods.is_discarded() ? json::object() : pods;
}

std::string PodsNamespace(const json& pods) {
  if (pods.contains("items") && pods["items"].is_array() && !pods["items"].empty()) {
    return pods["items"][0].value("metadata", json::object()).value("namespace", "podmeter-bench");
  }
  return "podmeter-bench";
}

int FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

void StopProcessGroup(int pid) {
  ::kill(-pid, SIGTERM);
  for (int i = 0; i < 100 && ::waitpid(pid, nullptr, WNOHANG) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(-pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

}  // namespace

StatusOr<std::vector<ReportChartRef>> ParseReportPanelList(const std::string& json_text) {
  json doc = json::parse(json_text, nullptr, false);
  if (doc.is_discarded() || !doc.contains("charts") || !doc["charts"].is_array()) {
    return Status::InvalidData("report panels: not JSON with a \"charts\" array");
  }
  std::vector<ReportChartRef> refs;
  for (const json& c : doc["charts"]) {
    ReportChartRef ref;
    if (c.is_object()) {
      ref.id = c.value("id", "");
      ref.dashboard = c.value("dashboard", "");
      ref.panel = c.value("panel", "");
      ref.needs_k6 = c.value("needs_k6", false);
    }
    if (ref.id.empty() || ref.dashboard.empty() || ref.panel.empty() ||
        ref.dashboard.find('/') != std::string::npos) {
      return Status::InvalidData("report panels: every chart needs an id, a dashboard file name " +
                                 std::string("and a panel title: ") + c.dump());
    }
    refs.push_back(std::move(ref));
  }
  return refs;
}

std::string DisplayUnit(const std::string& grafana_unit) {
  static const std::map<std::string, std::string> units = {
      {"reqps", "req/s"}, {"percent", "%"}, {"mbytes", "MiB"}, {"short", ""}, {"none", ""}};
  if (grafana_unit.rfind("suffix:", 0) == 0) return Trim(grafana_unit.substr(7));
  auto it = units.find(grafana_unit);
  return it != units.end() ? it->second : grafana_unit;
}

namespace {

// PanelFromDashboard on the parsed document; a value of the wrong JSON type throws.
StatusOr<ReportPanel> PanelOf(const json& d, const ReportChartRef& ref) {
  const std::string where = "dashboards/" + ref.dashboard;
  const json* found = nullptr;
  auto title_of = [](const json& p) { return p.is_object() ? p.value("title", "") : ""; };
  for (const json& p : d["panels"]) {  // and a collapsed row's panels (by reference: kept)
    if (title_of(p) == ref.panel) found = &p;
    if (!p.is_object() || !p.contains("panels") || !p["panels"].is_array()) continue;
    for (const json& nested : p["panels"]) {
      if (title_of(nested) == ref.panel) found = &nested;
    }
  }
  if (found == nullptr) return Status::NotFound(where + " has no panel \"" + ref.panel + "\"");
  const json& p = *found;
  ReportPanel panel;
  panel.id = ref.id;
  panel.title = ref.panel;
  panel.needs_k6 = ref.needs_k6;
  const json fc = p.value("fieldConfig", json::object());
  const json defaults = fc.value("defaults", json::object());
  panel.unit = DisplayUnit(defaults.value("unit", ""));
  std::set<std::string> dashed;
  for (const json& o : fc.value("overrides", json::array())) {
    const json m = o.value("matcher", json::object());
    if (m.value("id", "") != "byFrameRefID" || !m.contains("options") ||
        !m["options"].is_string()) {
      continue;
    }
    for (const json& prop : o.value("properties", json::array())) {
      if (prop.value("id", "") == "custom.lineStyle" && prop.contains("value") &&
          prop["value"].is_object() && prop["value"].value("fill", "") == "dash") {
        dashed.insert(m["options"].get<std::string>());
      }
    }
  }
  for (const json& t : p.value("targets", json::array())) {
    ReportTarget target;
    target.expr = t.value("expr", "");
    target.legend_format = t.value("legendFormat", "{{runtime}}");
    target.dash = dashed.count(t.value("refId", "")) > 0;
    if (target.expr.empty()) {
      return Status::InvalidData(where + " panel \"" + ref.panel + "\" has a target without expr");
    }
    panel.targets.push_back(std::move(target));
  }
  if (panel.targets.empty()) {
    return Status::InvalidData(where + " panel \"" + ref.panel + "\" has no targets");
  }
  const json templating = d.value("templating", json::object());
  for (const json& v : templating.value("list", json::array())) {
    const std::string name = v.value("name", "");
    if (name.empty()) continue;
    if (v.value("includeAll", false) && v.contains("allValue") && v["allValue"].is_string()) {
      panel.variables[name] = v["allValue"].get<std::string>();
      continue;
    }
    const json current = v.value("current", json::object());
    const json value = current.value("value", json());
    if (value.is_string()) {
      panel.variables[name] = value.get<std::string>();
    } else if (value.is_array() && !value.empty() && value[0].is_string()) {
      panel.variables[name] = value[0].get<std::string>();
    }
  }
  return panel;
}

}  // namespace

StatusOr<ReportPanel> PanelFromDashboard(const std::string& dashboard_json,
                                         const ReportChartRef& ref) {
  json d = json::parse(dashboard_json, nullptr, false);
  if (d.is_discarded() || !d.is_object() || !d.contains("panels") || !d["panels"].is_array()) {
    return Status::InvalidData("dashboards/" + ref.dashboard + ": not a dashboard (no panels)");
  }
  try {
    return PanelOf(d, ref);
  } catch (const json::exception& e) {
    return Status::InvalidData("dashboards/" + ref.dashboard + " panel \"" + ref.panel +
                               "\": " + e.what());
  }
}

StatusOr<std::vector<ReportPanel>> LoadReportPanels(const std::string& repo) {
  auto list_text = ReadFile(JoinPath(repo, "lab/report_panels.json"));
  if (!list_text.ok()) return list_text.status();
  auto refs = ParseReportPanelList(*list_text);
  if (!refs.ok()) return refs.status();
  std::map<std::string, std::string> dashboards;
  std::vector<ReportPanel> panels;
  for (const ReportChartRef& ref : *refs) {
    if (!dashboards.count(ref.dashboard)) {
      auto text = ReadFile(JoinPath(repo, "dashboards/" + ref.dashboard));
      if (!text.ok()) return text.status();
      dashboards[ref.dashboard] = *text;
    }
    auto panel = PanelFromDashboard(dashboards[ref.dashboard], ref);
    if (!panel.ok()) return panel.status();
    panels.push_back(std::move(*panel));
  }
  return panels;
}

std::string ExpandQuery(const std::string& expr, const std::map<std::string, std::string>& vars) {
  auto is_name = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  std::string out;
  size_t at = 0;
  while (at < expr.size()) {
    size_t dollar = expr.find('$', at);
    if (dollar == std::string::npos) break;
    out += expr.substr(at, dollar - at);
    size_t name_begin = dollar + 1, end;
    std::string name;
    if (name_begin < expr.size() && expr[name_begin] == '{') {  // ${name} or ${name:format}
      size_t close = expr.find('}', name_begin);
      if (close == std::string::npos) {
        out += expr.substr(dollar);
        return out;
      }
      name = expr.substr(name_begin + 1, close - name_begin - 1);
      name = name.substr(0, name.find(':'));
      end = close + 1;
    } else {
      end = name_begin;
      while (end < expr.size() && is_name(expr[end])) ++end;
      name = expr.substr(name_begin, end - name_begin);
    }
    auto it = vars.find(name);
    out += it != vars.end() ? it->second : expr.substr(dollar, end - dollar);
    at = end;
  }
  return out + expr.substr(std::min(at, expr.size()));
}

std::string AppsRegex(const json& pod_list) {
  std::set<std::string> apps;
  if (pod_list.is_object() && pod_list.contains("items") && pod_list["items"].is_array()) {
    for (const json& pod : pod_list["items"]) {
      const json labels = pod.value("metadata", json::object()).value("labels", json::object());
      std::string app = labels.value("app.kubernetes.io/name", labels.value("app", ""));
      if (app.empty()) continue;
      std::string escaped;
      for (char c : app) {
        if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos) escaped += '\\';
        escaped += c;
      }
      apps.insert(escaped);
    }
  }
  if (apps.empty()) return ".*";
  std::string out;
  for (const auto& a : apps) out += (out.empty() ? "" : "|") + a;
  return out;
}

int64_t QueryStep(int64_t start, int64_t end) {
  int64_t span = std::max<int64_t>(end - start, 0);
  return std::max<int64_t>(1, (span + kMaxPoints - 1) / kMaxPoints);
}

ChartData EmptyChart(int64_t start, int64_t end, int64_t step) {
  ChartData chart;
  for (int64_t t = start; t <= end; t += step) chart.x.push_back(t);
  return chart;
}

Status AddQueryRangeAnswer(const std::string& answer, const ReportTarget& target,
                           ChartData* chart) {
  json doc = json::parse(answer, nullptr, false);
  if (doc.is_discarded() || doc.value("status", "") != "success" || !doc.contains("data") ||
      !doc["data"].contains("result") || !doc["data"]["result"].is_array()) {
    return Status::InvalidData("not a successful query_range answer: " + answer.substr(0, 200));
  }
  if (chart->x.empty()) return Status::Ok();
  const int64_t start = chart->x.front();
  const int64_t step = chart->x.size() > 1 ? chart->x[1] - chart->x[0] : 1;
  std::vector<ChartData::Series> added;
  for (const json& r : doc["data"]["result"]) {
    ChartData::Series s;
    const json& metric = r.contains("metric") ? r["metric"] : json::object();
    s.label = Legend(target.legend_format, metric);
    s.runtime = metric.value("runtime", s.label);
    s.dash = target.dash;
    s.values.assign(chart->x.size(), std::nullopt);
    bool any = false;
    for (const json& v : r.value("values", json::array())) {
      if (!v.is_array() || v.size() != 2 || !v[0].is_number()) continue;
      double t = v[0].get<double>();
      int64_t i = std::llround((t - static_cast<double>(start)) / static_cast<double>(step));
      if (i < 0 || i >= static_cast<int64_t>(s.values.size())) continue;
      s.values[static_cast<size_t>(i)] = SampleValue(v[1]);
      any = any || s.values[static_cast<size_t>(i)].has_value();
    }
    if (any) added.push_back(std::move(s));
  }
  std::stable_sort(added.begin(), added.end(), [](const auto& a, const auto& b) {
    int ra = RuntimeRank(a.runtime), rb = RuntimeRank(b.runtime);
    return ra != rb ? ra < rb : a.label < b.label;
  });
  for (auto& s : added) chart->series.push_back(std::move(s));
  return Status::Ok();
}

json ChartJson(const ReportPanel& panel, const ChartData& chart) {
  json series = json::array();
  for (const auto& s : chart.series) {
    json values = json::array();
    for (const auto& v : s.values) values.push_back(v ? json(*v) : json(nullptr));
    series.push_back(
        {{"label", s.label}, {"runtime", s.runtime}, {"dash", s.dash}, {"values", values}});
  }
  return {{"id", panel.id},
          {"title", panel.title},
          {"unit", panel.unit},
          {"x", chart.x},
          {"series", series}};
}

std::string MarkdownToHtml(const std::string& markdown) {
  std::ostringstream html;
  bool in_table = false, header_done = false;
  for (std::string_view line : SplitLines(markdown)) {
    std::string t = Trim(line);
    bool is_row = !t.empty() && t.front() == '|';
    if (!is_row && in_table) {
      html << "</tbody></table>\n";
      in_table = false;
    }
    if (is_row) {
      auto cells = TableCells(t);
      bool separator = std::all_of(cells.begin(), cells.end(), [](const std::string& c) {
        return !c.empty() && c.find_first_not_of("-:") == std::string::npos;
      });
      if (separator) continue;
      if (!in_table) {
        html << "<table>";
        in_table = true;
        header_done = false;
      }
      if (!header_done) {
        html << "<thead><tr>";
        for (const auto& c : cells) html << "<th>" << HtmlEscape(c) << "</th>";
        html << "</tr></thead><tbody>\n";
        header_done = true;
      } else {
        html << "<tr>";
        for (const auto& c : cells) html << "<td>" << HtmlEscape(c) << "</td>";
        html << "</tr>\n";
      }
    } else if (t.rfind("## ", 0) == 0) {
      html << "<h2>" << HtmlEscape(t.substr(3)) << "</h2>\n";
    } else if (t.rfind("# ", 0) == 0) {
      html << "<h1>" << HtmlEscape(t.substr(2)) << "</h1>\n";
    } else if (!t.empty()) {
      html << "<p>" << HtmlEscape(t) << "</p>\n";
    }
  }
  if (in_table) html << "</tbody></table>\n";
  return html.str();
}

std::string RenderReport(const std::string& tmpl, const std::string& title,
                         const std::string& summary_html, const json& sections,
                         const std::string& uplot_css, const std::string& uplot_js) {
  // "</" would end the <script> the data sits in; "<\/" is the same string to JSON.parse.
  std::string data = sections.dump();
  std::string safe_data;
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i] == '<' && i + 1 < data.size() && data[i + 1] == '/') {
      safe_data += "<\\";
    } else {
      safe_data += data[i];
    }
  }
  std::string safe_js = uplot_js;
  for (size_t at = 0; (at = safe_js.find("</script", at)) != std::string::npos; at += 2) {
    safe_js.replace(at, 2, "<\\/");
  }
  const std::map<std::string, std::string> fills = {{"TITLE", HtmlEscape(title)},
                                                    {"SUMMARY", summary_html},
                                                    {"DATA", safe_data},
                                                    {"UPLOT_CSS", uplot_css},
                                                    {"UPLOT_JS", safe_js}};
  // One pass over the template only: nothing inside a filled-in value is expanded again.
  std::string out;
  size_t at = 0;
  while (at < tmpl.size()) {
    size_t open = tmpl.find('@', at);
    if (open == std::string::npos) break;
    size_t close = tmpl.find('@', open + 1);
    if (close == std::string::npos) break;
    auto it = fills.find(tmpl.substr(open + 1, close - open - 1));
    if (it == fills.end()) {
      out += tmpl.substr(at, open + 1 - at);
      at = open + 1;
      continue;
    }
    out += tmpl.substr(at, open - at) + it->second;
    at = close + 1;
  }
  return out + tmpl.substr(std::min(at, tmpl.size()));
}

StatusOr<int> WriteReport(const ReportOptions& o) {
  const std::string report_dir = JoinPath(o.repo, "lab/report");
  const std::string dist = JoinPath(report_dir, "node_modules/uplot/dist");
  auto uplot_js = ReadFile(JoinPath(dist, "uPlot.iife.min.js"));
  auto uplot_css = ReadFile(JoinPath(dist, "uPlot.min.css"));
  if (!uplot_js.ok() || !uplot_css.ok()) {
    return Status::NotFound("the charting library is not installed in " + dist +
                            ": run scripts/setup");
  }
  auto tmpl = ReadFile(JoinPath(report_dir, "report.html.tmpl"));
  if (!tmpl.ok()) return tmpl.status();
  auto panels = LoadReportPanels(o.repo);
  if (!panels.ok()) return panels.status();
  auto summary_text = ReadFile(JoinPath(o.run_dir, "summary.json"));
  if (!summary_text.ok()) return summary_text.status();
  json summary = json::parse(*summary_text, nullptr, false);
  if (summary.is_discarded()) return Status::InvalidData(o.run_dir + "/summary.json is not JSON");
  auto summary_md = ReadFile(JoinPath(o.run_dir, "summary.md"));

  const std::string run_id = summary.value("run_id", "");
  const json pods = PodList(o.run_dir);
  std::map<std::string, std::string> run_vars = {
      {"run_id", run_id}, {"namespace", PodsNamespace(pods)}, {"app", AppsRegex(pods)}};
  json sections = json::array();
  int with_data = 0;
  for (const json& sc : summary.value("scenarios", json::array())) {
    if (!sc.contains("start") || !sc.contains("end")) continue;  // a run from before the report
    const std::string name = sc.value("scenario", "");
    const int64_t start = static_cast<int64_t>(std::floor(sc["start"].get<double>())) - kPadSeconds;
    const int64_t end = static_cast<int64_t>(std::ceil(sc["end"].get<double>())) + kPadSeconds;
    const int64_t step = QueryStep(start, end);
    run_vars["scenario"] = name;
    run_vars["__rate_interval"] = std::to_string(std::max<int64_t>(5, 4 * step)) + "s";
    json charts = json::array();
    const bool ran_k6 = sc.contains("k6");  // cold-start starts pods and sends no load
    for (const ReportPanel& panel : *panels) {
      if (panel.needs_k6 && !ran_k6) continue;
      ChartData chart = EmptyChart(start, end, step);
      std::map<std::string, std::string> vars = panel.variables;
      for (const auto& [k, v] : run_vars) vars[k] = v;
      for (const ReportTarget& target : panel.targets) {
        auto answer = QueryRange(o.prometheus, ExpandQuery(target.expr, vars), start, end, step);
        if (!answer.ok()) return answer.status();
        Status s = AddQueryRangeAnswer(*answer, target, &chart);
        if (!s.ok()) return s;
      }
      if (!chart.series.empty()) ++with_data;
      charts.push_back(ChartJson(panel, chart));
    }
    sections.push_back({{"scenario", name},
                        {"start", sc["start"]},
                        {"end", sc["end"]},
                        {"step", step},
                        {"charts", charts}});
  }
  std::string html =
      RenderReport(*tmpl, "podmeter lab run " + run_id + " (" + summary.value("profile", "") + ")",
                   summary_md.ok() ? MarkdownToHtml(*summary_md) : "<p>no summary.md</p>", sections,
                   *uplot_css, *uplot_js);
  const std::string path = JoinPath(o.run_dir, "report.html");
  std::ofstream out(path, std::ios::binary);
  out << html;
  if (!out.flush()) return Status::IoError("could not write " + path);
  return with_data;
}

std::string ScrapelessPrometheusConfig() {
  return "# podmeter-lab report: queries a finished run's TSDB, scrapes nothing.\n"
         "global:\n  scrape_interval: 1m\n  evaluation_interval: 1m\n";
}

StatusOr<int> RegenerateReport(const std::string& repo, const std::string& run_dir) {
  for (const char* f : {"summary.json", "prometheus"}) {
    if (::access(JoinPath(run_dir, f).c_str(), R_OK) != 0) {
      return Status::NotFound(run_dir + " is not a finished lab run (no " + f + ")");
    }
  }
  int port = FreeLoopbackPort();
  if (port <= 0) return Status::IoError("no free loopback port for Prometheus");
  std::error_code ec;
  std::filesystem::create_directories(JoinPath(run_dir, "logs"), ec);
  std::string log = JoinPath(run_dir, "logs/prometheus-report.log");
  std::string config = JoinPath(run_dir, "logs/prometheus-report.yml");
  std::ofstream(config) << ScrapelessPrometheusConfig();
  auto pid = StartInCgroup({"prometheus", "--config.file=" + config,
                            "--storage.tsdb.path=" + JoinPath(run_dir, "prometheus"),
                            "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                           {}, {}, log, repo);
  if (!pid.ok()) return Status::IoError("starting prometheus: " + pid.status().message());
  if (!WaitHttpReady(*pid, port, "/-/ready", 60)) {
    StopProcessGroup(*pid);
    return Status::Unavailable("prometheus on " + run_dir +
                               "/prometheus did not become ready; see " + log);
  }
  auto n = WriteReport({repo, run_dir, "http://127.0.0.1:" + std::to_string(port)});
  StopProcessGroup(*pid);
  return n;
}

}  // namespace podmeter::lab
