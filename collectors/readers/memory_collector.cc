// memory: usage, working set, RSS, page cache, the memory limit and OOM kills.
// v1: memory.usage_in_bytes, memory.stat (total_*) each sample; memory.limit_in_bytes on the
// limits' timer. v1's OOM kills (memory.oom_control) are the OOM watcher's to read
// (collectors/watchers/oom_watcher.h): at the notification, not each sample.
// v2: memory.current, memory.stat (also anon/file/shmem as they are), memory.events (high, max,
// oom_kill, oom_group_kill) each sample; memory.max, memory.oom.group on the limits' timer.
#include "collectors/readers/memory_collector.h"

#include "collectors/base/file_util.h"
#include "collectors/base/open_file_cache.h"
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
    Status s = files_.Read(dir, v2 ? "memory.current" : "memory.usage_in_bytes", &usage_);
    if (s.ok()) s = files_.Read(dir, "memory.stat", &text_);
    MemorySample mem;
    if (s.ok()) s = v2 ? ParseMemoryV2(usage_, text_, &mem) : ParseMemoryV1(usage_, text_, &mem);
    if (s.ok()) {
      s = limits_.Read(dir, v2 ? "memory.max" : "memory.limit_in_bytes", /*optional=*/false,
                       &text_);
    }
    if (!s.ok()) return s;
    auto limit = v2 ? ParseMemoryMax(text_) : ParseMemoryLimitV1(text_);
    if (!limit.ok()) return limit.status();
    mem.limit_bytes = *limit;
    if (v2) {
      s = CollectEventsV2(dir, &mem);
      if (!s.ok()) return s;
    }
    out->memory = mem;
    return Status::Ok();
  }

  void EndSample() override {
    files_.Sweep();
    limits_.Sweep();
  }

 private:
  Status CollectEventsV2(const std::string& dir, MemorySample* mem) {
    Status s = files_.ReadOptional(dir, "memory.events", &text_);
    if (!s.ok()) return s;
    if (!text_.empty()) {
      auto events = ParseMemoryEvents(text_);
      if (!events.ok()) return events.status();
      mem->events = *events;
      mem->oom_kills = events->oom_kill;
    }
    s = limits_.Read(dir, "memory.oom.group", /*optional=*/true, &text_);
    if (!s.ok()) return s;
    mem->oom_group = !text_.empty() && text_[0] == '1';
    return Status::Ok();
  }

  OpenFileCache files_;
  RarelyChangingFiles limits_{kLimitRefresh};
  std::string usage_, text_;  // reused between reads
};

}  // namespace

std::unique_ptr<Collector> NewMemoryCollector() { return std::make_unique<MemoryCollector>(); }

}  // namespace podmeter
