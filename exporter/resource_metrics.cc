#include "exporter/resource_metrics.h"

#include <functional>
#include <optional>
#include <string>

namespace podmeter {
namespace {

enum class Kind { kCounter, kGauge };

// One row per metric: the name after "podmeter_pod_" / "podmeter_container_", its help text and
// how to read it from a sample (nullopt: the collector was off, or the value is absent).
struct MetricRow {
  const char* suffix;
  Kind kind;
  const char* help;
  std::function<std::optional<double>(const CgroupSample&)> get;
};

template <typename F>
std::function<std::optional<double>(const CgroupSample&)> Cpu(F f) {
  return [f](const CgroupSample& s) -> std::optional<double> {
    if (!s.cpu) return std::nullopt;
    return f(*s.cpu);
  };
}
template <typename F>
std::function<std::optional<double>(const CgroupSample&)> Mem(F f) {
  return [f](const CgroupSample& s) -> std::optional<double> {
    if (!s.memory) return std::nullopt;
    return f(*s.memory);
  };
}
template <typename F>
std::function<std::optional<double>(const CgroupSample&)> Proc(F f) {
  return [f](const CgroupSample& s) -> std::optional<double> {
    if (!s.processes) return std::nullopt;
    return static_cast<double>(f(*s.processes));
  };
}

std::optional<double> OptionalBytes(const std::optional<uint64_t>& v) {
  if (!v) return std::nullopt;
  return static_cast<double>(*v);
}

const std::vector<MetricRow>& Rows() {
  static const std::vector<MetricRow> rows = {
      {"cpu_usage_seconds_total", Kind::kCounter, "CPU time consumed, in seconds.",
       Cpu([](const CpuSample& c) { return c.usage_seconds; })},
      {"cpu_user_seconds_total", Kind::kCounter, "CPU time consumed in user mode, in seconds.",
       Cpu([](const CpuSample& c) { return c.user_seconds; })},
      {"cpu_system_seconds_total", Kind::kCounter, "CPU time consumed in kernel mode, in seconds.",
       Cpu([](const CpuSample& c) { return c.system_seconds; })},
      {"cpu_cfs_periods_total", Kind::kCounter, "CFS enforcement periods that have elapsed.",
       Cpu([](const CpuSample& c) { return static_cast<double>(c.cfs_periods); })},
      {"cpu_cfs_throttled_periods_total", Kind::kCounter,
       "CFS enforcement periods in which the cgroup was throttled.",
       Cpu([](const CpuSample& c) { return static_cast<double>(c.cfs_throttled_periods); })},
      {"cpu_cfs_throttled_seconds_total", Kind::kCounter,
       "Total time the cgroup's tasks were throttled, in seconds.",
       Cpu([](const CpuSample& c) { return c.cfs_throttled_seconds; })},
      {"cpu_limit_cores", Kind::kGauge, "CPU limit (CFS quota / period), in cores.",
       [](const CgroupSample& s) -> std::optional<double> {
         return s.cpu ? s.cpu->limit_cores : std::nullopt;
       }},
      {"memory_usage_bytes", Kind::kGauge, "Memory charged to the cgroup, in bytes.",
       Mem([](const MemorySample& m) { return static_cast<double>(m.usage_bytes); })},
      {"memory_working_set_bytes", Kind::kGauge,
       "Memory usage minus inactive file cache (what the kubelet evicts on), in bytes.",
       Mem([](const MemorySample& m) { return static_cast<double>(m.working_set_bytes); })},
      {"memory_rss_bytes", Kind::kGauge, "Anonymous memory (RSS) of the cgroup, in bytes.",
       Mem([](const MemorySample& m) { return static_cast<double>(m.rss_bytes); })},
      {"memory_cache_bytes", Kind::kGauge, "Page cache charged to the cgroup, in bytes.",
       Mem([](const MemorySample& m) { return static_cast<double>(m.cache_bytes); })},
      {"memory_limit_bytes", Kind::kGauge, "Memory limit of the cgroup, in bytes.",
       [](const CgroupSample& s) -> std::optional<double> {
         return s.memory ? OptionalBytes(s.memory->limit_bytes) : std::nullopt;
       }},
      {"processes", Kind::kGauge, "Processes in the cgroup.",
       Proc([](const ProcessSample& p) { return p.processes; })},
      {"threads", Kind::kGauge, "Threads in the cgroup.",
       Proc([](const ProcessSample& p) { return p.threads; })},
      {"process_resident_bytes", Kind::kGauge,
       "Sum of the resident memory of the cgroup's processes, in bytes.",
       Proc([](const ProcessSample& p) { return p.resident_bytes; })},
  };
  return rows;
}

void AddRows(const std::string& prefix, const Labels& labels, const CgroupSample& sample,
             FamilyBuilder* out) {
  for (const MetricRow& row : Rows()) {
    std::optional<double> v = row.get(sample);
    if (!v) continue;
    std::string name = prefix + row.suffix;
    if (row.kind == Kind::kCounter) {
      out->Counter(name, row.help, labels, *v);
    } else {
      out->Gauge(name, row.help, labels, *v);
    }
  }
}

}  // namespace

void AddResourceMetrics(const std::vector<PodSample>& pods, FamilyBuilder* out) {
  for (const PodSample& pod : pods) {
    AddRows("podmeter_pod_", {{"namespace", pod.namespace_name}, {"pod", pod.name}}, pod.data, out);
    for (const ContainerSample& c : pod.containers) {
      Labels labels = {{"namespace", pod.namespace_name}, {"pod", pod.name}, {"container", c.name}};
      AddRows("podmeter_container_", labels, c.data, out);
    }
  }
}

}  // namespace podmeter
