// Turns the pod tracker's state into the info, restart, OOM, start-up and readiness series.
#pragma once

#include "exporter/family_builder.h"
#include "tracking/pod_tracker.h"

namespace podmeter {

/// Adds the series of every pod the tracker knows (seen within stale-after) to `out`.
void AddTrackerMetrics(const PodTracker& tracker, FamilyBuilder* out);

}  // namespace podmeter
