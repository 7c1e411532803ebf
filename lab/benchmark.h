// The benchmark scenarios of the lab: each one a k6 script from k6/ run against "the pods"
// (lab/pods.h: the lab's own on this host, or a node's Deployments), results remote-written to
// Prometheus, with what the scenario does to the pods around it (squeeze: a 50m CPU limit;
// pod-kill: a replica killed a third of the way in, each way the pods allow; rolling-update: a
// rollout a quarter of the way in; hpa: replicas recorded) and podmeter's figures taken before
// and after. Single-threaded.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lab/pods.h"
#include "lab/suites.h"

namespace podmeter::lab {

struct BenchmarkOptions {
  std::string repo, results_dir, run_id, profile = "quick", k6_bin, k6_cpus = "1";
  std::string podmeter_url = "http://127.0.0.1:10101/metrics";
  int prometheus_port = 19090;
  std::vector<std::string> scenarios;
  std::function<bool()> interrupted;
};

/// The scenario names the lab knows, in the order it runs them (a suite, lab/suites.h, is a
/// scenario too, run only when asked for).
const std::vector<std::string>& AllScenarios();

/// Extra k6 environment for a profile ("tiny" shrinks every scenario to seconds).
std::vector<std::pair<std::string, std::string>> ProfileEnv(const std::string& profile);

/// ProfileEnv plus what one scenario needs in a mode ("host" or "cluster"): the tiny soak's 10 s
/// for the leak fit; on a node the tiny pod-kill, squeeze, hpa and rolling-update long enough for
/// a replacement, a liveness restart and an HPA scale-up, and the squeeze's (and tiny hpa's)
/// runtimes at once (each pod capped by its own limit).
std::vector<std::pair<std::string, std::string>> ScenarioEnv(const std::string& profile,
                                                             const std::string& scenario,
                                                             const std::string& mode);

/// Seconds a suite waits at most for its servers to drain before a test (tiny 60, quick 120,
/// full 600: Flask serves a few fib(30) a second at 500m).
double DrainTimeout(const std::string& profile);

/// Per pod figures from one podmeter scrape (container series of the pod's one container).
struct PodFigures {
  double cpu_seconds = 0, throttled_periods = 0, periods = 0, working_set = 0, rss = 0;
  double restarts = 0;
  std::optional<double> startup_seconds;
};
std::map<std::string, PodFigures> ParsePodFigures(const std::string& metrics_text);

class Benchmark {
 public:
  Benchmark(BenchmarkOptions options, Pods* pods) : o_(std::move(options)), pods_(pods) {}
  /// Runs every scenario; returns the per-scenario results (k6 rows + podmeter deltas).
  nlohmann::json RunAll();

 private:
  nlohmann::json RunScenario(const std::string& name);
  /// k6 with `scenario`'s script; `action` (if any) runs once `action_after` seconds in.
  /// `label` names the log (logs/k6-<label>.log) and the progress line (default: scenario);
  /// `extra_env` is added to k6's environment.
  int RunK6(const std::string& scenario, const std::string& targets, const std::string& summary,
            double action_after, const std::function<void()>& action, double expected_seconds,
            const std::string& label = "",
            const std::vector<std::pair<std::string, std::string>>& extra_env = {});
  /// A suite (lab/suites.h): one k6 run per runtime and test, each after every server of the
  /// suite is idle (DrainSuite). The merged summary (rows, plan, runs, drains); `rc` the first
  /// non-zero k6 exit code.
  nlohmann::json RunSuite(const Suite& suite, double expected, int* rc);
  /// Waits until every server of `suite` has no request in flight (its
  /// http_server_active_requests at 0 in two reads in a row), at most DrainTimeout seconds;
  /// prints what it waits for. One record per server: in flight at the first read, seconds
  /// waited, idle or not.
  nlohmann::json DrainSuite(const Suite& suite, const std::string& before);
  /// pod-kill and rolling-update: one runtime at a time, something done to it during its run.
  nlohmann::json RunPerApp(const std::string& name, const std::vector<std::string>& apps,
                           double expected);
  nlohmann::json PodKillRun(const std::string& app, const std::string& mode, double expected);
  nlohmann::json RollingUpdateRun(const std::string& app, double expected);
  std::string Targets(const std::vector<std::string>& apps) const;
  std::map<std::string, PodFigures> Scrape() const;
  /// podmeter learns of a restart from the new container's cgroup and, on a node, from the
  /// kubelet's restartCount (its metadata poll, every 5 s): a restart made just before a
  /// scenario ended can still be on its way when `after` was scraped. Scrapes again until
  /// podmeter counts, for every pod of `kubelet` (EndScenario's rows), at least the restarts the
  /// kubelet made during the scenario, at most kRestartCatchUpSeconds; returns the last scrape.
  std::map<std::string, PodFigures> CatchUpRestarts(const std::map<std::string, PodFigures>& before,
                                                    std::map<std::string, PodFigures> after,
                                                    const nlohmann::json& kubelet,
                                                    const std::string& scenario) const;

  BenchmarkOptions o_;
  Pods* pods_;
  std::map<std::string, double> peak_working_set_;  // by pod, across the scenarios
};

}  // namespace podmeter::lab
