#include "lab/analysis.h"

#include <curl/curl.h>

#include <cmath>
#include <cstdio>

#include "collectors/http/http_client.h"
#include "lab/process.h"
#include "lab/suites.h"
#include "lab/summary_math.h"

namespace podmeter::lab {
namespace {

using nlohmann::json;

constexpr double kMiB = 1024.0 * 1024.0;

std::string UrlEscape(const std::string& s) {
  InitCurlOnce();
  char* e = curl_easy_escape(nullptr, s.data(), static_cast<int>(s.size()));
  std::string out = e != nullptr ? e : "";
  curl_free(e);
  return out;
}

// Each runtime's load window in a scenario: while its k6 request counter rose.
std::map<std::string, std::pair<double, double>> Windows(
    const std::vector<RangeSeries>& k6_requests) {
  std::map<std::string, std::pair<double, double>> out;
  for (const RangeSeries& s : k6_requests) {
    auto it = s.labels.find("runtime");
    auto w = ActiveWindow(s);
    if (it != s.labels.end() && w) out[it->second] = *w;
  }
  return out;
}

std::string Label(const RangeSeries& s, const std::string& name) {
  auto it = s.labels.find(name);
  return it == s.labels.end() ? "" : it->second;
}

json FitJson(const LeakCheck& c) {
  return {{"slope_bytes_per_second", c.slope_bytes_per_second},
          {"slope_mib_per_hour", c.slope_mib_per_hour},
          {"r2", c.r2},
          {"rise_mib", c.rise_mib},
          {"mean_mib", c.mean_bytes / kMiB},
          {"samples", c.samples},
          {"verdict", c.verdict}};
}

std::string K6Query(const std::string& run_id, const std::string& scenario) {
  return "sum by (runtime) (k6_http_reqs_total{run_id=\"" + run_id + "\",scenario=\"" + scenario +
         "\",phase=\"main\"})";
}

std::string PodMemoryQuery(const std::string& metric, const std::string& ns) {
  return "max by (pod, app) (" + metric + "{namespace=\"" + ns +
         "\"} * on (namespace, pod) group_left (app) podmeter_pod_info{namespace=\"" + ns + "\"})";
}

std::string PodCpuQuery(const std::string& ns) {
  return "max by (pod, app) (irate(podmeter_container_cpu_usage_seconds_total{namespace=\"" + ns +
         "\"}[3s]) * on (namespace, pod) group_left (app) podmeter_pod_info{namespace=\"" + ns +
         "\"})";
}

// The samples of every series of `runtime`'s pods inside [start, end], times `scale`.
std::vector<double> SamplesIn(const std::vector<RangeSeries>& series, const std::string& runtime,
                              double start, double end, double scale) {
  std::vector<double> out;
  for (const RangeSeries& s : series) {
    if (RuntimeOf(Label(s, "app")) != runtime) continue;
    for (const auto& [t, v] : s.samples) {
      if (t >= start && t <= end) out.push_back(v * scale);
    }
  }
  return out;
}

struct Answers {
  std::string k6, first, second;
  std::string error;
};

Answers Query(const AnalysisOptions& o, const json& scenario, const std::string& first_metric,
              const std::string& second_metric) {
  Answers a;
  if (!scenario.contains("start") || !scenario.contains("end")) {
    a.error = "the scenario has no start/end";
    return a;
  }
  double start = std::floor(scenario["start"].get<double>()) - 2;
  double end = std::ceil(scenario["end"].get<double>()) + 2;
  double step = std::max(1.0, std::ceil((end - start) / 10000));
  auto get = [&](const std::string& q, std::string* out) {
    auto body = QueryPrometheusRange(o.prometheus, q, start, end, step);
    if (!body.ok() && a.error.empty()) a.error = body.status().message();
    if (body.ok()) *out = *body;
  };
  get(K6Query(o.run_id, scenario.value("scenario", "")), &a.k6);
  get(PodMemoryQuery(first_metric, o.namespace_name), &a.first);
  if (!second_metric.empty()) get(PodMemoryQuery(second_metric, o.namespace_name), &a.second);
  return a;
}

// A pod that ran through the fitted window (its samples from its start to its end, a tenth of
// it and 2 s of scrape interval allowed): not one the HPA added or removed meanwhile, nor a
// cold start's, whose few samples would make a line of anything.
bool RanThrough(const RangeSeries& r, double start, double end) {
  if (r.samples.empty() || end <= start) return false;
  double slack = 0.1 * (end - start) + 2;
  return r.samples.front().first <= start + slack && r.samples.back().first >= end - slack;
}

}  // namespace

StatusOr<std::string> QueryPrometheusRange(const std::string& prometheus, const std::string& query,
                                           double start, double end, double step) {
  char range[128];
  std::snprintf(range, sizeof(range), "&start=%.3f&end=%.3f&step=%.3f", start, end, step);
  return HttpGet(prometheus + "/api/v1/query_range?query=" + UrlEscape(query) + range,
                 std::chrono::seconds(30));
}

std::string RuntimeOf(const std::string& app) { return app.substr(0, app.find('-')); }

json LeakChecksFromAnswers(const std::string& k6_requests, const std::string& rss,
                           const std::string& working_set) {
  auto k6 = ParseQueryRange(k6_requests);
  auto rss_series = ParseQueryRange(rss);
  auto ws_series = ParseQueryRange(working_set);
  for (const auto* a : {&k6, &rss_series, &ws_series}) {
    if (!a->ok()) return json::array({{{"error", a->status().message()}}});
  }
  auto windows = Windows(*k6);
  json out = json::array();
  for (const RangeSeries& r : *rss_series) {
    std::string app = Label(r, "app"), pod = Label(r, "pod");
    json entry = {{"app", app}, {"runtime", RuntimeOf(app)}, {"pod", pod}};
    auto w = windows.find(RuntimeOf(app));
    if (w == windows.end()) continue;  // a pod without load in the soak (a replica k6 skipped)
    LeakCheck rc = CheckLeak(r, w->second.first, w->second.second);
    if (!RanThrough(r, rc.window_start, rc.window_end)) continue;  // an HPA's or a cold start's
    entry["load_window"] = {w->second.first, w->second.second};
    entry["fitted_window"] = {rc.window_start, rc.window_end};
    entry["warmup_seconds"] = rc.warmup_seconds;
    entry["rss"] = FitJson(rc);
    for (const RangeSeries& ws : *ws_series) {
      if (Label(ws, "pod") == pod) {
        entry["working_set"] = FitJson(CheckLeak(ws, w->second.first, w->second.second));
      }
    }
    entry["verdict"] = rc.verdict;
    out.push_back(entry);
  }
  return out;
}

json CostProjectionsFromAnswers(const json& load, const std::map<std::string, int64_t>& limits,
                                const std::string& k6_requests, const std::string& working_set) {
  auto k6 = ParseQueryRange(k6_requests);
  auto ws = ParseQueryRange(working_set);
  std::map<std::string, std::pair<double, double>> windows;
  if (k6.ok()) windows = Windows(*k6);
  json out = json::array();
  if (!load.contains("k6") || !load["k6"].contains("rows")) return out;
  for (const json& row : load["k6"]["rows"]) {
    const std::string runtime = row.value("runtime", "");
    double cpu = 0, peak = 0;
    std::string app;
    for (const json& p : load.value("podmeter", json::array())) {
      if (RuntimeOf(p.value("app", "")) != runtime) continue;
      app = p.value("app", "");
      cpu += p.value("cpu_seconds", 0.0);
      peak = std::max(peak, p.value("peak_working_set_bytes", 0.0));
    }
    // MiB per pod: the largest working set while this runtime was under load.
    std::optional<double> under_load;
    std::string memory_source = "podmeter peak over the scenario";
    auto w = windows.find(runtime);
    if (ws.ok() && w != windows.end()) {
      for (const RangeSeries& s : *ws) {
        if (RuntimeOf(Label(s, "app")) != runtime) continue;
        auto m = MaxInWindow(s, w->second.first, w->second.second);
        if (m && (!under_load || *m > *under_load)) under_load = m;
      }
    }
    if (under_load) memory_source = "Prometheus max over the runtime's load window";
    auto limit = limits.find(app);
    auto c = ProjectCost(row.value("requests", 0.0), cpu,
                         limit != limits.end() ? static_cast<double>(limit->second) / 1000.0 : 0,
                         under_load.value_or(peak));
    json entry = {{"runtime", runtime}, {"app", app}};
    if (!c) {
      entry["error"] = "missing requests, CPU seconds, CPU limit or working set";
    } else {
      entry.update({{"target_requests_per_second", c->target_rps},
                    {"requests_per_cpu_second", c->requests_per_cpu_second},
                    {"cpu_limit_cores", c->cpu_limit_cores},
                    {"requests_per_second_per_pod", c->requests_per_second_per_pod},
                    {"pods", c->pods},
                    {"mib_per_pod", c->mib_per_pod},
                    {"memory_mib", c->memory_mib},
                    {"cpu_millicores", c->cpu_millicores},
                    {"memory_source", memory_source}});
    }
    out.push_back(entry);
  }
  return out;
}

json ResourceStatsFromAnswers(const std::string& k6_requests, const std::string& cpu,
                              const std::string& working_set) {
  auto k6 = ParseQueryRange(k6_requests);
  auto cpu_series = ParseQueryRange(cpu);
  auto ws_series = ParseQueryRange(working_set);
  for (const auto* a : {&k6, &cpu_series, &ws_series}) {
    if (!a->ok()) return {{"error", a->status().message()}};
  }
  json out = json::object();
  for (const auto& [runtime, w] : Windows(*k6)) {
    out[runtime] = {
        {"window", {w.first, w.second}},
        {"cpu_percent", Stats(SamplesIn(*cpu_series, runtime, w.first, w.second, 100))},
        {"ram_mib", Stats(SamplesIn(*ws_series, runtime, w.first, w.second, 1 / kMiB))}};
  }
  return out;
}

json ResourceStats(const AnalysisOptions& o, const json& suite) {
  Answers a = Query(o, suite, "podmeter_container_memory_working_set_bytes", "");
  if (!a.error.empty()) return {{"error", a.error}};
  std::string cpu;
  double start = std::floor(suite["start"].get<double>()) - 2;
  double end = std::ceil(suite["end"].get<double>()) + 2;
  auto body = QueryPrometheusRange(o.prometheus, PodCpuQuery(o.namespace_name), start, end,
                                   std::max(1.0, std::ceil((end - start) / 10000)));
  if (!body.ok()) return {{"error", body.status().message()}};
  return ResourceStatsFromAnswers(a.k6, *body, a.first);
}

json LeakChecks(const AnalysisOptions& o, const json& soak) {
  Answers a = Query(o, soak, "podmeter_container_memory_rss_bytes",
                    "podmeter_container_memory_working_set_bytes");
  if (!a.error.empty()) return json::array({{{"error", a.error}}});
  return LeakChecksFromAnswers(a.k6, a.first, a.second);
}

json CostProjections(const AnalysisOptions& o, const json& load,
                     const std::map<std::string, int64_t>& cpu_limit_millis) {
  Answers a = Query(o, load, "podmeter_container_memory_working_set_bytes", "");
  return CostProjectionsFromAnswers(load, cpu_limit_millis, a.k6, a.first);
}

}  // namespace podmeter::lab
