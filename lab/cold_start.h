// The cold-start scenario: each server started N times from nothing — a fresh pod (new pod and
// container cgroup) with nothing else of its runtime running — timed three ways: exec → listen
// as podmeter reports it (podmeter_container_startup_seconds), exec → ready (the first
// successful readiness probe, as the lab's kubelet saw it) and the server's own
// refserver_startup_seconds. Runs on the caller's thread; uses the PodManager's loop.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lab/manifest.h"
#include "lab/pod_manager.h"

namespace podmeter::lab {

struct ColdStartApp {
  AppSpec app;
  std::vector<std::string> argv;
  int port = 0;
};

struct ColdStartOptions {
  int starts = 5;
  int podmeter_port = 10101;
  double ready_timeout_seconds = 60;
  std::function<bool()> interrupted = [] { return false; };
};

/// The value of the sample of `name` in a Prometheus text exposition whose labels contain every
/// `name="value"` pair of `labels` (an unlabelled sample matches no labels); nullopt if none.
std::optional<double> FindSample(const std::string& text, const std::string& name,
                                 const std::vector<std::pair<std::string, std::string>>& labels);

/// Starts every app `starts` times, one pod at a time, each removed before the next. Returns the
/// scenario's summary entry: {"scenario": "cold-start", "start", "end", "seconds", "runtimes":
/// [{runtime, app, starts: [...], exec_to_listen_seconds, exec_to_ready_seconds,
/// self_reported_seconds}]} with each figure's {min, median, max, count} over the starts.
nlohmann::json RunColdStart(PodManager* pods, const std::vector<ColdStartApp>& apps,
                            const ColdStartOptions& options);

}  // namespace podmeter::lab
