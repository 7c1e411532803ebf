// memory: usage, working set, RSS, page cache, the memory limit and OOM kills.
// v1: memory.usage_in_bytes, memory.stat (total_*), memory.limit_in_bytes, memory.oom_control.
// v2: memory.current, memory.stat (also anon/file/shmem as they are), memory.max, memory.events
// (high, max, oom_kill, oom_group_kill), memory.oom.group.
#include "collectors/readers/memory_collector.h"

#include "collectors/base/file_util.h"
#include "collectors/cgroupfs/cgroup_dirs.h"
#include "collectors/readers/memory_stat.h"

namespace podmeter {
namespace {

// A memory.events counter (v2 only).
MetricGetter EventOf(uint64_t MemoryEvents::*field) {
  return [field](const CgroupSample& s) -> std::optional<double> {
    if (!s.memory || !s.memory->events) return std::nullopt;
    return static_cast<double>((*s.memory->events).*field);
  };
}

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
      {"memory_anon_bytes", MetricType::kGauge, "bytes",
       "memory.stat anon: anonymous memory, in bytes (v2).", "on cgroup v1", "—",
       "`memory.stat` `anon`", FieldOf(&CgroupSample::memory, &MemorySample::anon_bytes)},
      {"memory_file_bytes", MetricType::kGauge, "bytes",
       "memory.stat file: file-backed memory (page cache, tmpfs, shmem), in bytes (v2).",
       "on cgroup v1", "—", "`memory.stat` `file`",
       FieldOf(&CgroupSample::memory, &MemorySample::file_bytes)},
      {"memory_shmem_bytes", MetricType::kGauge, "bytes",
       "memory.stat shmem: swap-backed shared memory (tmpfs, shm), in bytes (v2).", "on cgroup v1",
       "—", "`memory.stat` `shmem`", FieldOf(&CgroupSample::memory, &MemorySample::shmem_bytes)},
      {"memory_high_events_total", MetricType::kCounter, "events",
       "memory.events high: times the cgroup was throttled and reclaimed above memory.high (v2).",
       "on cgroup v1", "—", "`memory.events` `high` (hierarchical)", EventOf(&MemoryEvents::high)},
      {"memory_max_events_total", MetricType::kCounter, "events",
       "memory.events max: times the cgroup's usage was about to go over memory.max (v2).",
       "on cgroup v1", "—", "`memory.events` `max` (hierarchical)", EventOf(&MemoryEvents::max)},
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
    s = v2 ? CollectEventsV2(dir, &mem) : CollectOomControlV1(dir, &mem);
    if (!s.ok()) return s;
    out->memory = mem;
    return Status::Ok();
  }

 private:
  static Status CollectOomControlV1(const std::string& dir, MemorySample* mem) {
    auto control = ReadOptionalCgroupFile(dir, "memory.oom_control");
    if (!control.ok()) return control.status();
    auto kills = ParseOomControl(*control);
    if (kills.ok()) mem->oom_kills = *kills;  // absent on kernels without the oom_kill line
    return Status::Ok();
  }

  static Status CollectEventsV2(const std::string& dir, MemorySample* mem) {
    auto text = ReadOptionalCgroupFile(dir, "memory.events");
    if (!text.ok()) return text.status();
    if (!text->empty()) {
      auto events = ParseMemoryEvents(*text);
      if (!events.ok()) return events.status();
      mem->events = *events;
      mem->oom_kills = events->oom_kill;
    }
    auto group = ReadOptionalCgroupFile(dir, "memory.oom.group");
    if (!group.ok()) return group.status();
    mem->oom_group = !group->empty() && (*group)[0] == '1';
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Collector> NewMemoryCollector() { return std::make_unique<MemoryCollector>(); }

}  // namespace podmeter
