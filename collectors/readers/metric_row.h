// One exported figure of a reader: its name, type, unit, help, the files it comes from and how to
// get it from a sample. Each reader declares its rows beside its Collect(); the exporter turns them
// into podmeter_pod_* / podmeter_container_* series and docs/metrics.md's table is checked against
// them (tests/unit/metrics_doc_test.cc). Plain data; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "collectors/readers/samples.h"

namespace podmeter {

enum class MetricType { kCounter, kGauge };

/// Reads one figure from a sample; nullopt when the reader was off or the figure is absent.
using MetricGetter = std::function<std::optional<double>(const CgroupSample&)>;

struct MetricRow {
  std::string_view suffix;  ///< after "podmeter_pod_" / "podmeter_container_"
  MetricType type;
  std::string_view unit;         ///< as docs/metrics.md names it: "seconds", "bytes", ...
  std::string_view help;         ///< the HELP text
  std::string_view absent_when;  ///< "" or when the series is left out, e.g. "unlimited"
  std::string_view v1_source;    ///< the cgroup v1 file(s), "controller: `file` `key`"
  std::string_view v2_source;    ///< the cgroup v2 file(s)
  MetricGetter get;
};

inline std::optional<double> AsMetricValue(double v) { return v; }
inline std::optional<double> AsMetricValue(uint64_t v) { return static_cast<double>(v); }
inline std::optional<double> AsMetricValue(const std::optional<double>& v) { return v; }
inline std::optional<double> AsMetricValue(const std::optional<uint64_t>& v) {
  if (!v) return std::nullopt;
  return static_cast<double>(*v);
}

/// The getter of `field` of one part of the sample, e.g. FieldOf(&CgroupSample::cpu,
/// &CpuSample::usage_seconds).
template <typename Part, typename T>
MetricGetter FieldOf(std::optional<Part> CgroupSample::*part, T Part::*field) {
  return [part, field](const CgroupSample& s) -> std::optional<double> {
    const std::optional<Part>& p = s.*part;
    if (!p) return std::nullopt;
    return AsMetricValue((*p).*field);
  };
}

}  // namespace podmeter
