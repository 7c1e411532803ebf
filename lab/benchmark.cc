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

namespace podmeter::lab {
namespace {

using nlohmann::json;

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
                                                      {"interference", 25}};
  auto it = quick.find(scenario);
  double q = it == quick.end() ? 30 : it->second;
  if (profile == "tiny") return q / 6;
  if (profile == "full") return q * 8;
  return q;
}

}  // namespace

const std::vector<std::string>& AllScenarios() {
  static const std::vector<std::string> all = {"cold-start", "compute-scaling", "load",
                                               "payload",    "spike",           "soak",
                                               "squeeze",    "pod-kill",        "interference"};
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
  return ParsePodFigures(
      HttpGetOrEmpty("http://127.0.0.1:" + std::to_string(o_.podmeter_port) + "/metrics"));
}

std::string Benchmark::Targets(const std::vector<std::string>& apps) const {
  std::string out;
  for (const ReplicaState& r : pods_->Replicas()) {
    if (r.ready == false && r.pid == 0) continue;
    bool wanted = apps.empty();
    for (const auto& a : apps) wanted = wanted || a == r.app;
    if (!wanted || out.find(r.app + "=") != std::string::npos) continue;  // one replica each
    std::string runtime = r.app.substr(0, r.app.find('-'));
    out += (out.empty() ? "" : ",") + runtime + "=http://127.0.0.1:" + std::to_string(r.port);
  }
  return out;
}

int Benchmark::RunK6(const std::string& scenario, const std::string& targets,
                     const std::string& summary, double kill_after, const std::string& kill_app,
                     double expected_seconds) {
  std::vector<std::pair<std::string, std::string>> env = ProfileEnv(o_.profile);
  if (o_.profile == "tiny" && scenario == "soak") {
    // The leak check fits a line after a warm-up: it needs more than the tiny 3 s.
    for (auto& [k, v] : env) {
      if (k == "DURATION") v = "10s";
    }
  }
  env.emplace_back("TARGETS", targets);
  env.emplace_back("RUN_ID", o_.run_id);
  env.emplace_back("SUMMARY_FILE", summary);
  env.emplace_back("K6_PROMETHEUS_RW_SERVER_URL",
                   "http://127.0.0.1:" + std::to_string(o_.prometheus_port) + "/api/v1/write");
  env.emplace_back("K6_PROMETHEUS_RW_TREND_STATS", "p(50),p(95),p(99),avg,max");
  env.emplace_back("K6_PROMETHEUS_RW_PUSH_INTERVAL", "1s");
  env.emplace_back("K6_NO_USAGE_REPORT", "true");
  std::vector<std::string> argv = {"taskset",
                                   "-c",
                                   o_.k6_cpus,
                                   o_.k6_bin,
                                   "run",
                                   "--quiet",
                                   "--out",
                                   "experimental-prometheus-rw",
                                   JoinPath(o_.repo, "k6/" + scenario + ".js")};
  std::string log = JoinPath(o_.results_dir, "logs/k6-" + scenario + ".log");
  auto pid = StartInCgroup(argv, env, {}, log, o_.repo);
  if (!pid.ok()) {
    std::cerr << "podmeter-lab: starting k6: " << pid.status().message() << "\n";
    return -1;
  }
  auto start = std::chrono::steady_clock::now();
  bool killed = kill_app.empty();
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
    if (!killed && elapsed >= kill_after) {
      killed = pods_->Kill(kill_app, 0);
      std::printf("\n  pod-kill: SIGKILL to %s replica 0 at %.0f s\n", kill_app.c_str(), elapsed);
    }
    auto figures = Scrape();
    double dt = std::chrono::duration<double>(now - last_t).count();
    std::printf("\r  %-15s %4.0f/~%.0f s ", scenario.c_str(), elapsed, expected_seconds);
    for (const ReplicaState& r : pods_->Replicas()) {
      const PodFigures& f = figures[r.pod];
      const PodFigures& p = last[r.pod];
      double cpu_m = dt > 0 ? (f.cpu_seconds - p.cpu_seconds) / dt * 1000 : 0;
      double periods = f.periods - p.periods;
      double thr = periods > 0 ? 100 * (f.throttled_periods - p.throttled_periods) / periods : 0;
      peak_working_set_[r.pod] = std::max(peak_working_set_[r.pod], f.working_set);
      std::printf(" %s %4.0fm thr%3.0f%% %5.1fMiB%s", r.app.substr(0, r.app.find('-')).c_str(),
                  cpu_m, thr, f.working_set / 1048576.0, r.ready ? "" : " DOWN");
    }
    std::printf("   ");
    std::fflush(stdout);
    last = std::move(figures);
    last_t = now;
  }
  std::printf("\n");
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

json Benchmark::RunScenario(const std::string& name) {
  json result = {{"scenario", name}};
  auto before = Scrape();
  auto t0 = std::chrono::steady_clock::now();
  auto unix_now = [] {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  result["start"] = unix_now();  // unix seconds: the scenario's window in Prometheus
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
    for (const auto& a : apps) (void)pods_->SetCpuLimit(a, 50);
  }
  if (name == "pod-kill") {
    // One runtime at a time, its replica killed halfway through its run.
    json rows = json::array();
    for (const auto& a : apps) {
      std::string per = JoinPath(o_.results_dir, "k6-pod-kill-" + a + ".json");
      rc = RunK6(name, Targets({a}), per, expected / 3, a, expected / 3);
      std::ifstream in(per);
      json doc = json::parse(in, nullptr, false);
      if (!doc.is_discarded() && doc.contains("rows")) {
        for (auto& row : doc["rows"]) rows.push_back(row);
      }
      if (rc != 0 || o_.interrupted()) break;
      // Wait until the killed replica is back before the next runtime.
      for (int i = 0; i < 300 && !pods_->AllReady() && !o_.interrupted(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    result["k6"] = {{"rows", rows}};
  } else {
    // Interference: two runtimes spiked at once on the same CPU (the last two: go and django).
    std::vector<std::string> targets;
    if (name == "interference" && apps.size() >= 3) targets.assign(apps.end() - 2, apps.end());
    rc = RunK6(name, Targets(targets), summary, 0, "", expected);
    std::ifstream in(summary);
    json doc = json::parse(in, nullptr, false);
    if (!doc.is_discarded()) {
      doc.erase("k6");
      doc.erase("settings");
      result["k6"] = doc;
    }
  }
  if (name == "squeeze") {
    for (const auto& [app, limit] : limits) (void)pods_->SetCpuLimit(app, limit);
  }
  auto after = Scrape();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  json pods = json::array();
  for (const ReplicaState& r : pods_->Replicas()) {
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
                    {"restarts", a.restarts}});
  }
  result["podmeter"] = pods;
  result["seconds"] = seconds;
  result["end"] = unix_now();
  result["k6_exit_code"] = rc;
  return result;
}

json Benchmark::RunAll() {
  json out = json::array();
  for (const std::string& name : o_.scenarios) {
    if (o_.interrupted()) break;
    if (name == "cold-start") continue;  // run by the caller before the pods (lab/cold_start.h)
    std::printf("scenario %s\n", name.c_str());
    out.push_back(RunScenario(name));
  }
  return out;
}

}  // namespace podmeter::lab
