// Turns the pod tracker's state and the OOM totals into the info, restart, OOM, start-up and
// readiness series.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "exporter/family_builder.h"
#include "tracking/pod_tracker.h"

namespace podmeter {

/// Adds the series of every pod the tracker knows (seen within stale-after) to `out`; a pod's
/// podmeter_pod_oom_kills_total is its entry in `oom_kills` (by uid), else 0.
void AddTrackerMetrics(const PodTracker& tracker, const std::map<std::string, uint64_t>& oom_kills,
                       FamilyBuilder* out);

}  // namespace podmeter
