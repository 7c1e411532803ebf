// The cold-start scenario on a node: each app's Deployment scaled 0 → 1 N times (HPA off, every
// other pod of the app gone), timed from the API (Scheduled → Ready and container start → Ready,
// the conditions' second-resolution times; scale request → Ready seen, on the lab's clock),
// by podmeter (exec → listen) and by the server itself; then 1 → 0 with the pod deleted at
// once. The caller settles the apps afterwards (KubePods::Settle). Runs on the caller's thread.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lab/kube_pods.h"

namespace podmeter::lab {

struct ClusterColdStartOptions {
  int starts = 5;
  std::string podmeter_url;  ///< http://<podmeter pod IP>:10101/metrics
  double ready_timeout_seconds = 120;
  std::function<bool()> interrupted = [] { return false; };
};

/// The scenario's summary entry, shaped like the host's (lab/cold_start.h) plus
/// scheduled_to_ready_seconds and scale_to_ready_seconds per start and as spreads.
nlohmann::json RunClusterColdStart(KubePods* pods, const std::vector<std::string>& apps,
                                   const ClusterColdStartOptions& options);

}  // namespace podmeter::lab
