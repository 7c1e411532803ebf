// Turns pod and container samples into the podmeter_pod_* and podmeter_container_* families, one
// per row the readers declare (collectors/readers/metric_row.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "collectors/readers/collector.h"
#include "collectors/readers/metric_row.h"
#include "collectors/readers/samples.h"
#include "exporter/family_builder.h"
#include "exporter/text_format.h"
#include "tracking/pod_tracker.h"

namespace podmeter {

/// The rows of `collectors`, in their order.
std::vector<const MetricRow*> ResourceRows(
    const std::vector<std::unique_ptr<Collector>>& collectors);

/// Adds every resource series of `pods` to `out`, one per row with a value, labelled with the
/// names of `names` (the join's output: one per pod, in the same order).
void AddResourceMetrics(const std::vector<PodSample>& pods, const std::vector<PodNames>& names,
                        const std::vector<const MetricRow*>& rows, FamilyBuilder* out);

/// The same series as families written straight into the text (text_format.h), one per row with
/// a value, sorted by name: the sampler's way (no MetricFamily, no label vector per series; each
/// pod's and container's labels escaped once). They refer to `pods`: write them before it goes.
std::vector<DirectFamily> ResourceFamilies(const std::vector<PodSample>& pods,
                                           const std::vector<PodNames>& names,
                                           const std::vector<const MetricRow*>& rows);

/// docs/metrics.md's table of the resource series (metric, type, unit, v1 and v2 source), one
/// line per row of `collectors`; rows of collectors that skip pod cgroups say "(container only)".
std::string ResourceMetricsTable(const std::vector<std::unique_ptr<Collector>>& collectors);

}  // namespace podmeter
