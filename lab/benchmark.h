// The benchmark scenarios of the lab: each one a k6 script from k6/ run against the lab's pods
// (k6 pinned to its own CPU, results remote-written to Prometheus), with what the scenario does
// to the pods around it (squeeze: a 50m CPU limit; pod-kill: SIGKILL a replica halfway), and
// podmeter's figures taken before and after. Single-threaded.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lab/pod_manager.h"

namespace podmeter::lab {

struct BenchmarkOptions {
  std::string repo, results_dir, run_id, profile = "quick", k6_bin, k6_cpus = "1";
  int podmeter_port = 10101, prometheus_port = 19090;
  std::vector<std::string> scenarios;
  std::function<bool()> interrupted;
};

/// The scenario names the lab knows, in the order it runs them.
const std::vector<std::string>& AllScenarios();

/// Extra k6 environment for a profile ("tiny" shrinks every scenario to seconds).
std::vector<std::pair<std::string, std::string>> ProfileEnv(const std::string& profile);

/// Per pod figures from one podmeter scrape (container series of the pod's one container).
struct PodFigures {
  double cpu_seconds = 0, throttled_periods = 0, periods = 0, working_set = 0, rss = 0;
  double restarts = 0;
  std::optional<double> startup_seconds;
};
std::map<std::string, PodFigures> ParsePodFigures(const std::string& metrics_text);

class Benchmark {
 public:
  Benchmark(BenchmarkOptions options, PodManager* pods) : o_(std::move(options)), pods_(pods) {}
  /// Runs every scenario; returns the per-scenario results (k6 rows + podmeter deltas).
  nlohmann::json RunAll();

 private:
  nlohmann::json RunScenario(const std::string& name);
  int RunK6(const std::string& scenario, const std::string& targets, const std::string& summary,
            double kill_after_seconds, const std::string& kill_app, double expected_seconds);
  std::string Targets(const std::vector<std::string>& apps) const;
  std::map<std::string, PodFigures> Scrape() const;

  BenchmarkOptions o_;
  PodManager* pods_;
  std::map<std::string, double> peak_working_set_;  // by pod, across the scenarios
};

}  // namespace podmeter::lab
