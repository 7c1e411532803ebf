// memory: usage, working set, RSS, page cache and the memory limit.
// v1: memory.usage_in_bytes, memory.stat (total_*), memory.limit_in_bytes, memory.oom_control.
// v2: memory.current, memory.stat, memory.max, memory.events.
#include "collectors/readers/memory_collector.h"

#include "collectors/base/file_util.h"
#include "collectors/cgroupfs/cgroup_dirs.h"
#include "collectors/readers/memory_stat.h"

namespace podmeter {
namespace {

const std::vector<MetricRow>& MemoryRows() {
  static const std::vector<MetricRow> rows = {
      {"memory_usage_bytes", MetricType::kGauge, "bytes", "Memory charged to the cgroup, in bytes.",
       "", "memory: `memory.usage_in_bytes`", "`memory.current`",
       FieldOf(&CgroupSample::memory, &MemorySample::usage_bytes)},
      {"memory_working_set_bytes", MetricType::kGauge, "bytes",
       "Memory usage minus inactive file cache (what the kubelet evicts on), in bytes.", "",
       "memory: `memory.usage_in_bytes` − `memory.stat` `total_inactive_file`, ≥ 0",
       "`memory.current` − `memory.stat` `inactive_file`, ≥ 0",
       FieldOf(&CgroupSample::memory, &MemorySample::working_set_bytes)},
      {"memory_rss_bytes", MetricType::kGauge, "bytes",
       "Anonymous memory (RSS) of the cgroup, in bytes.", "", "memory: `memory.stat` `total_rss`",
       "`memory.stat` `anon`", FieldOf(&CgroupSample::memory, &MemorySample::rss_bytes)},
      {"memory_cache_bytes", MetricType::kGauge, "bytes",
       "Page cache charged to the cgroup, in bytes.", "", "memory: `memory.stat` `total_cache`",
       "`memory.stat` `file`", FieldOf(&CgroupSample::memory, &MemorySample::cache_bytes)},
      {"memory_limit_bytes", MetricType::kGauge, "bytes", "Memory limit of the cgroup, in bytes.",
       "unlimited", "memory: `memory.limit_in_bytes` (≥ 2^62 = unlimited)",
       "`memory.max` (`max` = unlimited)",
       FieldOf(&CgroupSample::memory, &MemorySample::limit_bytes)},
  };
  return rows;
}

class MemoryCollector : public Collector {
 public:
  std::string_view name() const override { return "memory"; }
  bool reads_pods() const override { return true; }
  const std::vector<MetricRow>& rows() const override { return MemoryRows(); }

  Status Collect(const CgroupDirs& dirs, CgroupSample* out) override {
    const bool v2 = dirs.version == CgroupMounts::Version::kV2;
    const std::string& dir = v2 ? dirs.unified : dirs.memory;
    if (dir.empty()) return Status::Unavailable("memory controller is not mounted");
    auto usage = ReadFileToString(JoinPath(dir, v2 ? "memory.current" : "memory.usage_in_bytes"));
    if (!usage.ok()) return usage.status();
    auto stat = ReadFileToString(JoinPath(dir, "memory.stat"));
    if (!stat.ok()) return stat.status();
    MemorySample mem;
    Status s = v2 ? ParseMemoryV2(*usage, *stat, &mem) : ParseMemoryV1(*usage, *stat, &mem);
    if (!s.ok()) return s;
    auto limit_text = ReadFileToString(JoinPath(dir, v2 ? "memory.max" : "memory.limit_in_bytes"));
    if (!limit_text.ok()) return limit_text.status();
    auto limit = v2 ? ParseMemoryMax(*limit_text) : ParseMemoryLimitV1(*limit_text);
    if (!limit.ok()) return limit.status();
    mem.limit_bytes = *limit;
    auto events = ReadOptionalCgroupFile(dir, v2 ? "memory.events" : "memory.oom_control");
    if (!events.ok()) return events.status();
    auto kills = v2 ? ParseMemoryEventsOomKill(*events) : ParseOomControl(*events);
    if (kills.ok()) mem.oom_kills = *kills;  // absent on kernels without the oom_kill line
    out->memory = mem;
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Collector> NewMemoryCollector() { return std::make_unique<MemoryCollector>(); }

}  // namespace podmeter
