#include "lab/benchmark.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "collectors/base/file_util.h"
#include "lab/process.h"
#include "lab/suites.h"

namespace podmeter::lab {
namespace {

using nlohmann::json;

// "rust-api" → "rust": k6's runtime tag.
std::string RuntimeOfApp(const std::string& app) { return app.substr(0, app.find('-')); }

std::string LabelValue(std::string_view line, std::string_view label) {
  std::string key = std::string(label) + "=\"";
  size_t at = line.find(key);
  if (at == std::string_view::npos) return "";
  size_t start = at + key.size();
  return std::string(line.substr(start, line.find('"', start) - start));
}

// Quick profile durations (k6/README.md) for progress output; tiny ones for the test profile.
double ExpectedSeconds(const std::string& scenario, const std::string& profile) {
  static const std::map<std::string, double> quick = {{"load", 60},
                                                      {"spike", 66},
                                                      {"soak", 75},
                                                      {"squeeze", 60},
                                                      {"payload", 60},
                                                      {"pod-kill", 30},
                                                      {"compute-scaling", 40},
                                                      {"interference", 25},
                                                      {"hpa", 60},
                                                      {"rolling-update", 30},
                                                      {"fib", 260},
                                                      {"snowflake", 50},
                                                      {"sha256", 100}};
  auto it = quick.find(scenario);
  double q = it == quick.end() ? 30 : it->second;
  if (scenario == "squeeze" && profile != "full") return 50;  // 45 s, every runtime at once
  if (profile == "tiny") return q / 6;
  if (profile == "full") return q * 8;
  return q;
}

}  // namespace

const std::vector<std::string>& AllScenarios() {
  static const std::vector<std::string> all = {
      "cold-start", "compute-scaling", "load",           "payload",     "spike", "soak", "squeeze",
      "hpa",        "pod-kill",        "rolling-update", "interference"};
  return all;
}

std::vector<std::pair<std::string, std::string>> ProfileEnv(const std::string& profile) {
  if (profile != "tiny") return {{"PROFILE", profile}};
  return {{"PROFILE", "quick"}, {"DURATION", "3s"},
          {"VU_SCALE", "0.3"},  {"GRACE", "2s"},
          {"GAP", "1s"},        {"BASELINE", "1s"},
          {"RAMP", "1s"},       {"RAMP_DOWN", "1s"},
          {"ITERATIONS", "1"},  {"N_VALUES", "1000,10000,50000"}};
}

std::vector<std::pair<std::string, std::string>> ScenarioEnv(const std::string& profile,
                                                             const std::string& scenario,
                                                             const std::string& mode) {
  std::vector<std::pair<std::string, std::string>> env = ProfileEnv(profile);
  auto set = [&env](const std::string& key, const std::string& value) {
    for (auto& [k, v] : env) {
      if (k == key) {
        v = value;
        return;
      }
    }
    env.emplace_back(key, value);
  };
  bool tiny = profile == "tiny";
  // The leak check fits a line after a warm-up: it needs more than the tiny 3 s.
  if (tiny && scenario == "soak") set("DURATION", "10s");
  // Each pod is held to its own CPU limit (on the node and in the lab's cgroups): the runtimes'
  // squeezes at once, long enough for a liveness probe's three failures 10 s apart after its
  // 5 s initial delay (quick: the 3 × 15 s it took one after another).
  if (scenario == "squeeze") {
    set("PARALLEL", "1");
    if (profile != "full") set("DURATION", "45s");
    if (tiny) set("VU_SCALE", "1");
  }
  // A suite runs several tests per runtime, one k6 run each after its servers drained: each
  // stage shortened instead of DURATION and a tenth of the VUs, a short grace. fib keeps three
  // tenths (up to 30 VUs): Flask, about 4 fib(30) a second at 500m, is then left with a backlog
  // of seconds after its load and spike tests, as in the quick and full profiles, which the next
  // test's drain must wait for.
  if (tiny && FindSuite(scenario) != nullptr) {
    set("STAGE_SCALE", "0.15");
    set("VU_SCALE", scenario == "fib" ? "0.3" : "0.1");
    set("GRACE", "1s");
    set("GAP", "0s");
  }
  if (mode != "cluster" || !tiny) return env;
  // A node needs seconds where the lab needs none: a replacement pod, an HPA's 15 s sync on
  // metrics-server's 15 s resolution. The HPA sees a window that ended up to 30 s before its sync:
  // the ramp to the full 50 VUs (not the tiny 15, which left two Django pods near the 50 % target
  // for most of a 45 s run: the scale-up was a matter of chance) over 60 s.
  if (scenario == "pod-kill") set("DURATION", "12s");
  if (scenario == "rolling-update") set("DURATION", "20s");
  if (scenario == "hpa") {
    set("DURATION", "60s");
    set("VU_SCALE", "1");
    set("PARALLEL", "1");
  }
  return env;
}

std::map<std::string, PodFigures> ParsePodFigures(const std::string& text) {
  std::map<std::string, PodFigures> out;
  for (std::string_view line : SplitLines(text)) {
    if (line.substr(0, 19) != "podmeter_container_") continue;
    std::string pod = LabelValue(line, "pod");
    if (pod.empty()) continue;
    double v = std::strtod(std::string(line.substr(line.rfind(' ') + 1)).c_str(), nullptr);
    std::string_view name = line.substr(0, line.find('{'));
    PodFigures& f = out[pod];
    if (name == "podmeter_container_cpu_usage_seconds_total")
      f.cpu_seconds = v;
    else if (name == "podmeter_container_cpu_cfs_throttled_periods_total")
      f.throttled_periods = v;
    else if (name == "podmeter_container_cpu_cfs_periods_total")
      f.periods = v;
    else if (name == "podmeter_container_memory_working_set_bytes")
      f.working_set = v;
    else if (name == "podmeter_container_memory_rss_bytes")
      f.rss = v;
    else if (name == "podmeter_container_restarts_total")
      f.restarts = v;
    else if (name == "podmeter_container_startup_seconds")
      f.startup_seconds = v;
  }
  return out;
}

std::map<std::string, PodFigures> Benchmark::Scrape() const {
  return ParsePodFigures(HttpGetOrEmpty(o_.podmeter_url));
}

std::map<std::string, PodFigures> Benchmark::CatchUpRestarts(
    const std::map<std::string, PodFigures>& before, std::map<std::string, PodFigures> after,
    const json& kubelet, const std::string& scenario) const {
  constexpr double kRestartCatchUpSeconds = 15;  // metadata poll 5 s, a sample, a slow scrape
  auto restarts = [](const std::map<std::string, PodFigures>& figures, const std::string& pod) {
    auto it = figures.find(pod);
    return it == figures.end() ? 0.0 : it->second.restarts;
  };
  auto behind = [&]() -> std::string {
    for (const json& k : kubelet) {
      std::string pod = k.value("pod", "");
      if (restarts(after, pod) - restarts(before, pod) < k.value("restarts_during", 0.0)) {
        return pod;
      }
    }
    return "";
  };
  auto start = std::chrono::steady_clock::now();
  double waited = 0;
  for (std::string pod = behind(); !pod.empty(); pod = behind()) {
    if (waited > kRestartCatchUpSeconds || o_.interrupted()) {
      std::printf("  %s: podmeter has not counted %s's last restart after %.0f s\n",
                  scenario.c_str(), pod.c_str(), waited);
      return after;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    after = Scrape();
    waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  if (waited > 0) {
    std::printf("  %s: podmeter counted the kubelet's last restart %.1f s after the end\n",
                scenario.c_str(), waited);
  }
  return after;
}

std::string Benchmark::Targets(const std::vector<std::string>& apps) const {
  std::string out;
  std::vector<std::string> seen;
  for (const ReplicaState& r : pods_->Replicas()) {
    bool wanted = apps.empty();
    for (const auto& a : apps) wanted = wanted || a == r.app;
    if (!wanted || std::find(seen.begin(), seen.end(), r.app) != seen.end()) continue;
    seen.push_back(r.app);
    std::string url = pods_->TargetUrl(r.app);
    if (url.empty()) continue;
    if (!out.empty()) out += ',';
    out.append(RuntimeOfApp(r.app)).append("=").append(url);
  }
  return out;
}

int Benchmark::RunK6(const std::string& scenario, const std::string& targets,
                     const std::string& summary, double action_after,
                     const std::function<void()>& action, double expected_seconds,
                     const std::string& label_arg,
                     const std::vector<std::pair<std::string, std::string>>& extra_env) {
  const std::string label = label_arg.empty() ? scenario : label_arg;
  std::vector<std::pair<std::string, std::string>> env =
      ScenarioEnv(o_.profile, scenario, pods_->Mode());
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  env.emplace_back("TARGETS", targets);
  env.emplace_back("RUN_ID", o_.run_id);
  env.emplace_back("SUMMARY_FILE", summary);
  env.emplace_back("K6_PROMETHEUS_RW_SERVER_URL",
                   "http://127.0.0.1:" + std::to_string(o_.prometheus_port) + "/api/v1/write");
  env.emplace_back("K6_PROMETHEUS_RW_TREND_STATS", "p(50),p(95),p(99),avg,max");
  env.emplace_back("K6_PROMETHEUS_RW_PUSH_INTERVAL", "1s");
  env.emplace_back("K6_NO_USAGE_REPORT", "true");
  if (action) env.emplace_back("SPLIT_AT", std::to_string(action_after) + "s");
  std::vector<std::string> argv = {"taskset",
                                   "-c",
                                   o_.k6_cpus,
                                   o_.k6_bin,
                                   "run",
                                   "--quiet",
                                   "--out",
                                   "experimental-prometheus-rw",
                                   JoinPath(o_.repo, "k6/" + scenario + ".js")};
  std::string log = JoinPath(o_.results_dir, "logs/k6-" + label + ".log");
  auto pid = StartInCgroup(argv, env, {}, log, o_.repo);
  if (!pid.ok()) {
    std::cerr << "podmeter-lab: starting k6: " << pid.status().message() << "\n";
    return -1;
  }
  auto start = std::chrono::steady_clock::now();
  bool acted = !action;
  std::map<std::string, PodFigures> last = Scrape();
  auto last_t = start;
  int status = 0;
  while (::waitpid(*pid, &status, WNOHANG) == 0) {
    if (o_.interrupted()) {
      ::kill(-*pid, SIGTERM);
      ::waitpid(*pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
    auto now = std::chrono::steady_clock::now();
    double elapsed = std::chrono::duration<double>(now - start).count();
    if (!acted && elapsed >= action_after) {
      acted = true;
      action();
    }
    pods_->TickScenario(scenario, elapsed);
    auto figures = Scrape();
    double dt = std::chrono::duration<double>(now - last_t).count();
    std::printf("\r  %-15s %4.0f/~%.0f s ", label.c_str(), elapsed, expected_seconds);
    for (const ReplicaState& r : pods_->Replicas()) {
      const PodFigures& f = figures[r.pod];
      const PodFigures& p = last[r.pod];
      double cpu_m = dt > 0 && f.cpu_seconds >= p.cpu_seconds
                         ? (f.cpu_seconds - p.cpu_seconds) / dt * 1000
                         : 0;
      double periods = f.periods - p.periods;
      double thr = periods > 0 ? 100 * (f.throttled_periods - p.throttled_periods) / periods : 0;
      peak_working_set_[r.pod] = std::max(peak_working_set_[r.pod], f.working_set);
      std::printf(" %s %4.0fm thr%3.0f%% %5.1fMiB%s", RuntimeOfApp(r.app).c_str(), cpu_m, thr,
                  f.working_set / 1048576.0, r.ready ? "" : " DOWN");
    }
    std::printf("   ");
    std::fflush(stdout);
    last = std::move(figures);
    last_t = now;
  }
  std::printf("\n");
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

namespace {

// The rows of a k6 summary file (the per-app runs of pod-kill and rolling-update).
json RowsOf(const std::string& summary_file) {
  std::ifstream in(summary_file);
  json doc = json::parse(in, nullptr, false);
  if (doc.is_discarded() || !doc.contains("rows")) return json::array();
  return doc["rows"];
}

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

json Benchmark::PodKillRun(const std::string& app, const std::string& mode, double expected) {
  std::string per = JoinPath(o_.results_dir, "k6-pod-kill-" + app + "-" + mode + ".json");
  double killed_at = 0;
  bool killed = false;
  int rc = RunK6(
      "pod-kill", Targets({app}), per, expected / 3,
      [&] {
        killed_at = UnixNow();
        killed = pods_->Kill(app, 0, mode);
        std::printf("\n  pod-kill: %s of %s replica 0 (%s)\n",
                    mode == "delete" ? "delete, grace 0," : "SIGKILL", app.c_str(),
                    killed ? "done" : "FAILED");
      },
      expected);
  // Recovered: every replica of the app Ready again, one of them since after the kill.
  std::optional<double> recovered;
  for (int i = 0; i < 1200 && killed && !recovered && !o_.interrupted(); ++i) {
    bool all = true;
    std::optional<double> since;
    for (const ReplicaState& r : pods_->Replicas()) {
      if (r.app != app) continue;
      all = all && r.ready;
      if (r.ready && r.ready_since && *r.ready_since > killed_at) since = r.ready_since;
    }
    if (all && since) recovered = since;
    if (!recovered) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  json rows = RowsOf(per);
  for (auto& row : rows) {
    row["kill"] = mode;
    row["killed"] = killed;
    row["k6_exit_code"] = rc;
    row["recovery_seconds_ready"] = recovered ? json(*recovered - killed_at) : json(nullptr);
  }
  return rows;
}

json Benchmark::RollingUpdateRun(const std::string& app, double expected) {
  std::string per = JoinPath(o_.results_dir, "k6-rolling-update-" + app + ".json");
  Status started = Status::Ok();
  int rc = RunK6(
      "rolling-update", Targets({app}), per, expected / 4,
      [&] {
        started = pods_->StartRollout(app);
        std::printf("\n  rolling-update: %s v1 → v2 %s\n", app.c_str(),
                    started.ok() ? "started" : started.message().c_str());
      },
      expected);
  json rollout = pods_->RolloutResult(app, 120);
  json rows = RowsOf(per);
  for (auto& row : rows) {
    row["rollout"] = rollout;
    row["k6_exit_code"] = rc;
  }
  return rows;
}

json Benchmark::RunPerApp(const std::string& name, const std::vector<std::string>& apps,
                          double expected) {
  json rows = json::array();
  for (const auto& a : apps) {
    std::vector<std::string> modes = {""};
    if (name == "pod-kill") modes = pods_->KillModes();
    for (const std::string& mode : modes) {
      json got = name == "pod-kill" ? PodKillRun(a, mode, expected) : RollingUpdateRun(a, expected);
      for (auto& row : got) rows.push_back(row);
      if (o_.interrupted()) return rows;
      // The next run starts on a whole app again.
      Status settled = pods_->Settle();
      if (!settled.ok()) std::printf("  %s: %s\n", name.c_str(), settled.message().c_str());
    }
  }
  return rows;
}

json Benchmark::RunScenario(const std::string& name) {
  json result = {{"scenario", name}};
  auto before = Scrape();
  auto t0 = std::chrono::steady_clock::now();
  result["start"] = UnixNow();  // unix seconds: the scenario's window in Prometheus
  std::string summary = JoinPath(o_.results_dir, "k6-" + name + ".json");
  double expected = ExpectedSeconds(name, o_.profile);
  int rc = 0;
  std::vector<std::string> apps;
  for (const ReplicaState& r : pods_->Replicas()) {
    if (std::find(apps.begin(), apps.end(), r.app) == apps.end()) apps.push_back(r.app);
  }
  std::map<std::string, std::optional<int64_t>> limits;  // to restore after the squeeze
  for (const ReplicaState& r : pods_->Replicas()) limits[r.app] = r.cpu_limit_millis;
  if (name == "squeeze") {
    for (const auto& a : apps) {
      Status s = pods_->SetCpuLimit(a, 50);
      if (!s.ok()) std::printf("  squeeze: %s: %s\n", a.c_str(), s.message().c_str());
    }
  }
  pods_->BeginScenario(name);
  if (name == "pod-kill" || name == "rolling-update") {
    result["k6"] = {{"rows", RunPerApp(name, apps, expected)}};
  } else {
    // Interference: two runtimes spiked at once on the same CPU (the last two: go and django).
    std::vector<std::string> targets;
    if (name == "interference" && apps.size() >= 3) targets.assign(apps.end() - 2, apps.end());
    if (const Suite* suite = FindSuite(name)) {
      result["k6"] = RunSuite(*suite, expected, &rc);
    } else {
      rc = RunK6(name, Targets(targets), summary, 0, nullptr, expected);
      std::ifstream in(summary);
      json doc = json::parse(in, nullptr, false);
      if (!doc.is_discarded()) {
        doc.erase("k6");
        doc.erase("settings");
        result["k6"] = doc;
      }
    }
  }
  auto after = Scrape();
  std::vector<ReplicaState> replicas = pods_->Replicas();
  // Kept in a local: a range-for over a temporary's items() would dangle (before C++23).
  json ended = pods_->EndScenario(name);
  for (auto& [k, v] : ended.items()) result[k] = v;
  std::map<std::string, PodFigures> restarts =
      CatchUpRestarts(before, after, ended.value("kubelet", json::array()), name);
  if (name == "squeeze") {
    for (const auto& [app, limit] : limits) {
      Status s = pods_->SetCpuLimit(app, limit);
      if (!s.ok()) std::printf("  squeeze: restoring %s: %s\n", app.c_str(), s.message().c_str());
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  json pods = json::array();
  for (const ReplicaState& r : replicas) {
    const PodFigures& a = after[r.pod];
    const PodFigures& b = before[r.pod];
    // A restarted container starts its counters from 0 (Prometheus' increase() does the same).
    auto delta = [](double now, double then) { return now >= then ? now - then : now; };
    double periods = delta(a.periods, b.periods);
    pods.push_back({{"app", r.app},
                    {"pod", r.pod},
                    {"cpu_seconds", delta(a.cpu_seconds, b.cpu_seconds)},
                    {"throttled_ratio",
                     periods > 0 ? delta(a.throttled_periods, b.throttled_periods) / periods : 0.0},
                    {"working_set_bytes_end", a.working_set},
                    {"peak_working_set_bytes", peak_working_set_[r.pod]},
                    {"restarts", restarts[r.pod].restarts},
                    {"kubelet_restarts", r.restarts}});
  }
  result["podmeter"] = pods;
  result["seconds"] = seconds;
  result["end"] = UnixNow();
  result["k6_exit_code"] = rc;
  Status settled = pods_->Settle();
  if (!settled.ok()) std::printf("  after %s: %s\n", name.c_str(), settled.message().c_str());
  return result;
}

double DrainTimeout(const std::string& profile) {
  if (profile == "full") return 600;
  return profile == "tiny" ? 60 : 120;
}

namespace {

// One read of a server's requests in flight: its count, kNoAnswer (no /metrics answer within
// 10 s: a busy gunicorn answers only after its backlog) or kNoGauge; `said` what was seen.
constexpr double kNoAnswer = -1, kNoGauge = -2;
double InFlight(const std::string& url, std::string* said) {
  auto body = HttpGet(url, std::chrono::seconds(10));
  if (!body.ok()) {
    *said = "no /metrics answer in 10 s: " + body.status().message();
    return kNoAnswer;
  }
  std::optional<double> v = ParseActiveRequests(*body);
  double n = v.value_or(kNoGauge);
  *said = n >= 0 ? std::to_string(static_cast<long>(n)) + " in flight" : "no in-flight gauge";
  return n;
}

// Waits until the server behind `url` (its /metrics) has no request in flight: two reads of 0 in a
// row. A gunicorn answers /metrics only once it has accepted every connection queued before it,
// so a 0 there also means an empty backlog; the second read catches a worker between accepting
// a request and counting it. Prints the wait when the server was busy.
json DrainOne(const std::string& runtime, const std::string& url, const std::string& before,
              double timeout, const std::function<bool()>& interrupted) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto elapsed = [&start] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  json record = {{"runtime", runtime}, {"before", before}, {"in_flight_first", nullptr}};
  int zeros = 0, reads = 0;
  bool idle = false, waited = false;
  std::string said;
  while (!interrupted()) {
    double n = InFlight(url, &said);
    if (n == kNoGauge) {
      record["error"] = "no http_server_active_requests in " + url + "; not waited for";
      std::printf("  drain: %s: %s\n", runtime.c_str(), record["error"].get<std::string>().c_str());
      break;
    }
    if (reads++ == 0 && n >= 0) record["in_flight_first"] = n;
    if (n == 0) {
      idle = ++zeros == 2;
      if (idle) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    zeros = 0;
    if (!waited) {
      std::printf("  drain: %s busy before %s (%s)\n", runtime.c_str(), before.c_str(),
                  said.c_str());
    }
    waited = true;
    if (elapsed() >= timeout) break;
    std::printf("\r  drain: %s %s, %.0f/%.0f s   ", runtime.c_str(), said.c_str(), elapsed(),
                timeout);
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  record["idle"] = idle;
  record["waited"] = waited;
  record["seconds"] = elapsed();
  if (waited && idle) {
    std::printf("\r  drain: %s idle after %.1f s%20s\n", runtime.c_str(), elapsed(), "");
  } else if (!idle && !record.contains("error")) {
    std::printf(
        "\r  drain: %s still busy after %.0f s (%s): starting %s anyway; its figures "
        "include that backlog\n",
        runtime.c_str(), elapsed(), said.c_str(), before.c_str());
  }
  return record;
}

}  // namespace

json Benchmark::DrainSuite(const Suite& suite, const std::string& before) {
  json records = json::array();
  const double deadline = DrainTimeout(o_.profile);
  for (const std::string& app : suite.apps) {
    std::string url = pods_->TargetUrl(app);
    if (url.empty()) continue;
    records.push_back(
        DrainOne(RuntimeOfApp(app), url + "/metrics", before, deadline, o_.interrupted));
  }
  return records;
}

json Benchmark::RunSuite(const Suite& suite, double expected, int* rc) {
  json k6 = {{"rows", json::array()}, {"plan", json::array()},   {"tests", json::array()},
             {"runs", json::array()}, {"drains", json::array()}, {"duration_seconds", 0.0}};
  const double per_run = expected / static_cast<double>(suite.apps.size() * suite.tests.size());
  for (const std::string& app : suite.apps) {
    const std::string runtime = RuntimeOfApp(app);
    for (const std::string& test : suite.tests) {
      if (o_.interrupted()) return k6;
      const std::string label = suite.name + "-" + runtime + "-" + test;
      for (json& d : DrainSuite(suite, suite.name + " " + runtime + " " + test)) {
        k6["drains"].push_back(std::move(d));
      }
      std::string file = JoinPath(o_.results_dir, "k6-" + label + ".json");
      int code = RunK6(suite.name, Targets({app}), file, 0, nullptr, per_run, label,
                       {{"SUITE_TESTS", test}});
      if (*rc == 0) *rc = code;
      k6["runs"].push_back({{"runtime", runtime}, {"test", test}, {"k6_exit_code", code}});
      std::ifstream in(file);
      json doc = json::parse(in, nullptr, false);
      if (doc.is_discarded()) continue;
      for (const char* key : {"run_id", "suite", "report", "profile", "description"}) {
        if (!k6.contains(key) && doc.contains(key)) k6[key] = doc[key];
      }
      for (const char* key : {"rows", "plan"}) {
        for (json& item : doc.value(key, json::array())) k6[key].push_back(std::move(item));
      }
      for (const json& t : doc.value("tests", json::array())) {
        bool seen = false;
        for (const json& have : k6["tests"]) seen = seen || have.value("test", "") == t["test"];
        if (!seen) k6["tests"].push_back(t);
      }
      k6["duration_seconds"] =
          k6["duration_seconds"].get<double>() + doc.value("duration_seconds", 0.0);
    }
  }
  return k6;
}

json Benchmark::RunAll() {
  json out = json::array();
  for (const std::string& name : o_.scenarios) {
    if (o_.interrupted()) break;
    if (name == "cold-start") continue;  // run by the caller before the pods (lab/cold_start.h)
    if (!pods_->Supports(name)) {
      std::printf("scenario %s: needs a node (run --cluster); skipped\n", name.c_str());
      continue;
    }
    std::printf("scenario %s\n", name.c_str());
    out.push_back(RunScenario(name));
  }
  return out;
}

}  // namespace podmeter::lab
