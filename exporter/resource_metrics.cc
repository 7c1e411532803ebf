#include "exporter/resource_metrics.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <tuple>
#include <utility>

namespace podmeter {
namespace {

// Each pod or container series' sample and labels, pods by namespace and name, a pod's
// containers by name: the order of each family's series (FamilyBuilder::Take then only checks
// it).
struct Series {
  const CgroupSample* sample;
  Labels labels;
};

std::vector<size_t> SortedOrder(size_t n, const std::function<bool(size_t, size_t)>& less) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), less);
  return order;
}

void SortedSeries(const std::vector<PodSample>& pods, const std::vector<PodNames>& names,
                  std::vector<Series>* pod_series, std::vector<Series>* container_series) {
  const size_t n = std::min(pods.size(), names.size());
  for (size_t i : SortedOrder(n, [&](size_t a, size_t b) {
         return std::tie(names[a].namespace_name, names[a].pod) <
                std::tie(names[b].namespace_name, names[b].pod);
       })) {
    const PodNames& name = names[i];
    pod_series->push_back({&pods[i].data, {{"namespace", name.namespace_name}, {"pod", name.pod}}});
    const size_t m = std::min(pods[i].containers.size(), name.containers.size());
    for (size_t c : SortedOrder(
             m, [&](size_t a, size_t b) { return name.containers[a] < name.containers[b]; })) {
      container_series->push_back({&pods[i].containers[c].data,
                                   {{"namespace", name.namespace_name},
                                    {"pod", name.pod},
                                    {"container", name.containers[c]}}});
    }
  }
}

// One family per row: its series in `series`' order, those with a value.
void AddRows(const std::string& prefix, const std::vector<Series>& series,
             const std::vector<const MetricRow*>& rows, FamilyBuilder* out) {
  std::string name;
  for (const MetricRow* row : rows) {
    prometheus::MetricFamily* family = nullptr;
    for (const Series& s : series) {
      std::optional<double> v = row->get(*s.sample);
      if (!v) continue;
      if (family == nullptr) {
        name = prefix;
        name += row->suffix;
        family = &out->Family(name, row->help,
                              row->type == MetricType::kCounter ? prometheus::MetricType::Counter
                                                                : prometheus::MetricType::Gauge);
        family->metric.reserve(family->metric.size() + series.size());
      }
      FamilyBuilder::AddTo(*family, s.labels, *v);
    }
  }
}

}  // namespace

std::vector<const MetricRow*> ResourceRows(
    const std::vector<std::unique_ptr<Collector>>& collectors) {
  std::vector<const MetricRow*> rows;
  for (const auto& c : collectors) {
    for (const MetricRow& row : c->rows()) rows.push_back(&row);
  }
  return rows;
}

std::vector<DirectFamily> ResourceFamilies(const std::vector<PodSample>& pods,
                                           const std::vector<PodNames>& names,
                                           const std::vector<const MetricRow*>& rows) {
  std::vector<Series> pod_series, container_series;
  SortedSeries(pods, names, &pod_series, &container_series);
  // Per series its sample and its labels' text, shared by the families' writers.
  using Lines = std::vector<std::pair<const CgroupSample*, std::string>>;
  auto lines = std::make_shared<std::pair<Lines, Lines>>();
  for (const Series& s : pod_series) lines->first.emplace_back(s.sample, LabelsText(s.labels));
  for (const Series& s : container_series) {
    lines->second.emplace_back(s.sample, LabelsText(s.labels));
  }
  std::vector<DirectFamily> out;
  for (const auto& [prefix, list] :
       {std::pair<std::string_view, const Lines*>{"podmeter_pod_", &lines->first},
        {"podmeter_container_", &lines->second}}) {
    for (const MetricRow* row : rows) {
      const bool any = std::any_of(list->begin(), list->end(),
                                   [row](const auto& l) { return row->get(*l.first).has_value(); });
      if (!any) continue;  // no family without a series, as FamilyBuilder
      std::string name(prefix);
      name += row->suffix;
      out.push_back({name, [lines, list, row, name](std::string& text) {
                       AppendHeader(text, name, row->help,
                                    row->type == MetricType::kCounter
                                        ? prometheus::MetricType::Counter
                                        : prometheus::MetricType::Gauge);
                       for (const auto& [sample, labels] : *list) {
                         if (std::optional<double> v = row->get(*sample)) {
                           AppendLine(text, name, labels, *v);
                         }
                       }
                     }});
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

void AddResourceMetrics(const std::vector<PodSample>& pods, const std::vector<PodNames>& names,
                        const std::vector<const MetricRow*>& rows, FamilyBuilder* out) {
  std::vector<Series> pod_series, container_series;
  SortedSeries(pods, names, &pod_series, &container_series);
  AddRows("podmeter_pod_", pod_series, rows, out);
  AddRows("podmeter_container_", container_series, rows, out);
}

std::string ResourceMetricsTable(const std::vector<std::unique_ptr<Collector>>& collectors) {
  std::string out =
      "| metric (after the prefix) | type | unit | cgroup v1 source | cgroup v2 source |\n"
      "|---|---|---|---|---|\n";
  for (const auto& c : collectors) {
    for (const MetricRow& row : c->rows()) {
      out += "| `";
      out += row.suffix;
      out += c->reads_pods() ? "`" : "` (container only)";
      out += row.type == MetricType::kCounter ? " | counter" : " | gauge";
      if (!row.absent_when.empty()) {
        out += ", absent when ";
        out += row.absent_when;
      }
      for (std::string_view cell : {row.unit, row.v1_source, row.v2_source}) {
        out += " | ";
        out += cell;
      }
      out += " |\n";
    }
  }
  return out;
}

}  // namespace podmeter
