#include "exporter/family_builder.h"

#include <algorithm>
#include <limits>

namespace podmeter {

void FamilyBuilder::Counter(const std::string& name, const std::string& help, Labels labels,
                            double value) {
  Add(name, help, prometheus::MetricType::Counter, std::move(labels), value);
}

void FamilyBuilder::Gauge(const std::string& name, const std::string& help, Labels labels,
                          double value) {
  Add(name, help, prometheus::MetricType::Gauge, std::move(labels), value);
}

prometheus::MetricFamily& FamilyBuilder::Family(const std::string& name, std::string_view help,
                                                prometheus::MetricType type) {
  prometheus::MetricFamily& family = families_[name];
  if (family.name.empty()) {
    family.name = name;
    family.help = help;
    family.type = type;
  }
  return family;
}

void FamilyBuilder::AddTo(prometheus::MetricFamily& family, Labels labels, double value) {
  prometheus::ClientMetric& metric = family.metric.emplace_back();
  metric.label = std::move(labels);
  if (family.type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
}

void FamilyBuilder::Add(const std::string& name, const std::string& help,
                        prometheus::MetricType type, Labels labels, double value) {
  AddTo(Family(name, help, type), std::move(labels), value);
}

void FamilyBuilder::Histogram(const std::string& name, const std::string& help, Labels labels,
                              const std::vector<double>& bounds,
                              const std::vector<uint64_t>& cumulative, uint64_t count, double sum) {
  prometheus::MetricFamily& family = families_[name];
  if (family.name.empty()) {
    family.name = name;
    family.help = help;
    family.type = prometheus::MetricType::Histogram;
  }
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  metric.histogram.sample_count = count;
  metric.histogram.sample_sum = sum;
  for (size_t i = 0; i < bounds.size() && i < cumulative.size(); ++i) {
    metric.histogram.bucket.push_back({cumulative[i], bounds[i]});
  }
  metric.histogram.bucket.push_back({count, std::numeric_limits<double>::infinity()});
  family.metric.push_back(std::move(metric));
}

std::vector<prometheus::MetricFamily> FamilyBuilder::Take() {
  std::vector<prometheus::MetricFamily> out;
  out.reserve(families_.size());
  const auto less = [](const prometheus::ClientMetric& a, const prometheus::ClientMetric& b) {
    return std::lexicographical_compare(a.label.begin(), a.label.end(), b.label.begin(),
                                        b.label.end(), [](const auto& x, const auto& y) {
                                          return x.name != y.name ? x.name < y.name
                                                                  : x.value < y.value;
                                        });
  };
  for (auto& [name, family] : families_) {
    // Families added in label order (AddResourceMetrics, the tests' and benchmarks' way to the
    // resource families; the sampler writes those directly) are only checked, not sorted.
    if (!std::is_sorted(family.metric.begin(), family.metric.end(), less)) {
      std::sort(family.metric.begin(), family.metric.end(), less);
    }
    out.push_back(std::move(family));
  }
  families_.clear();
  return out;
}

}  // namespace podmeter
