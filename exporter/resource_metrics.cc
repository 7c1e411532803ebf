#include "exporter/resource_metrics.h"

#include <optional>

namespace podmeter {
namespace {

void AddRows(const std::string& prefix, const Labels& labels, const CgroupSample& sample,
             const std::vector<const MetricRow*>& rows, FamilyBuilder* out) {
  for (const MetricRow* row : rows) {
    std::optional<double> v = row->get(sample);
    if (!v) continue;
    std::string name = prefix;
    name += row->suffix;
    if (row->type == MetricType::kCounter) {
      out->Counter(name, std::string(row->help), labels, *v);
    } else {
      out->Gauge(name, std::string(row->help), labels, *v);
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

void AddResourceMetrics(const std::vector<PodSample>& pods, const std::vector<PodNames>& names,
                        const std::vector<const MetricRow*>& rows, FamilyBuilder* out) {
  for (size_t i = 0; i < pods.size() && i < names.size(); ++i) {
    const PodSample& pod = pods[i];
    const PodNames& name = names[i];
    AddRows("podmeter_pod_", {{"namespace", name.namespace_name}, {"pod", name.pod}}, pod.data,
            rows, out);
    for (size_t c = 0; c < pod.containers.size() && c < name.containers.size(); ++c) {
      Labels labels = {
          {"namespace", name.namespace_name}, {"pod", name.pod}, {"container", name.containers[c]}};
      AddRows("podmeter_container_", labels, pod.containers[c].data, rows, out);
    }
  }
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
