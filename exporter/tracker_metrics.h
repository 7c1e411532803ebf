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

/// podmeter_oom_kills_counted_total: the kills in the OOM totals by the path that saw them first
/// (OomAccounting::counted_by_source).
void AddOomSourceMetrics(const std::map<std::string, uint64_t>& by_source, FamilyBuilder* out);

}  // namespace podmeter
