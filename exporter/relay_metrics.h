// The metrics relay's part of /metrics: its own series and the relayed families beside
// podmeter's.
#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <vector>

#include "collectors/relay/relay.h"
#include "exporter/family_builder.h"

namespace podmeter {

/// podmeter_relay_up / _series per pod, _duration_seconds and _errors_total by reason.
void AddRelayMetrics(const RelaySnapshot& snapshot, FamilyBuilder* out);

/// Puts the relayed families beside `families` (sorted by name). One that shares a name with a
/// family there is dropped: a pod never writes into a family podmeter serves (the relay already
/// refuses podmeter_* and podmeter's process_*; this holds for any other). Returns the families
/// dropped. Keeps `families` sorted.
uint64_t MergeRelayed(std::vector<prometheus::MetricFamily> relayed,
                      std::vector<prometheus::MetricFamily>* families);

}  // namespace podmeter
