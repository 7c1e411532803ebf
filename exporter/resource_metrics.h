// Turns pod and container samples into the podmeter_pod_* and podmeter_container_* families.
#pragma once

#include <vector>

#include "collectors/readers/samples.h"
#include "exporter/family_builder.h"

namespace podmeter {

/// Adds every resource series of `pods` to `out`, labelled with the names the samples carry.
void AddResourceMetrics(const std::vector<PodSample>& pods, FamilyBuilder* out);

}  // namespace podmeter
