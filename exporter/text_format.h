// The Prometheus text exposition format (0.0.4), written by podmeter itself so that every value
// round-trips exactly: prometheus-cpp's TextSerializer prints 16 significant digits, which loses
// the last digit of relayed sums. Thread-safe (pure).
#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace podmeter {

/// Families in the given order. Help text is written as given (already escaped where needed);
/// label values are escaped; values use the shortest text that reads back as the same double.
std::string SerializeText(const std::vector<prometheus::MetricFamily>& families);

/// gzip of `data` (for Accept-Encoding: gzip), at zlib's fastest level: made once per sample, it
/// costs a third of the default level's CPU for ~1.5× its size (docs/performance.md).
std::string Gzip(const std::string& data);

}  // namespace podmeter
