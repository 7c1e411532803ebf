// Accumulates samples into prometheus-cpp MetricFamily structs in a stable order (families by
// name, series by label values) so that /metrics output is deterministic. Thread-compatible.
#pragma once

#include <prometheus/metric_family.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace podmeter {

using Labels = std::vector<prometheus::ClientMetric::Label>;

class FamilyBuilder {
 public:
  void Counter(const std::string& name, const std::string& help, Labels labels, double value);
  void Gauge(const std::string& name, const std::string& help, Labels labels, double value);
  /// A histogram series from cumulative bucket counts (`bounds[i]` ↔ `cumulative[i]`, +Inf =
  /// count).
  void Histogram(const std::string& name, const std::string& help, Labels labels,
                 const std::vector<double>& bounds, const std::vector<uint64_t>& cumulative,
                 uint64_t count, double sum);
  /// The family `name`, made (empty) if new: to add many series to one family without a lookup
  /// each (AddResourceMetrics).
  prometheus::MetricFamily& Family(const std::string& name, std::string_view help,
                                   prometheus::MetricType type);
  /// One counter or gauge series of `family` (the type says which).
  static void AddTo(prometheus::MetricFamily& family, Labels labels, double value);
  /// Families sorted by name, each family's series sorted by label values. Empties the builder.
  std::vector<prometheus::MetricFamily> Take();

 private:
  void Add(const std::string& name, const std::string& help, prometheus::MetricType type,
           Labels labels, double value);
  std::map<std::string, prometheus::MetricFamily> families_;
};

}  // namespace podmeter
