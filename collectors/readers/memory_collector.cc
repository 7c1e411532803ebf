// memory: usage, working set, RSS, page cache and the memory limit.
// v1: memory.usage_in_bytes, memory.stat (total_*), memory.limit_in_bytes, memory.oom_control.
// v2: memory.current, memory.stat, memory.max, memory.events.
#include "collectors/base/file_util.h"
#include "collectors/cgroupfs/cgroup_dirs.h"
#include "collectors/readers/collector.h"
#include "collectors/readers/memory_stat.h"

namespace podmeter {
namespace {

class MemoryCollector : public Collector {
 public:
  std::string_view name() const override { return "memory"; }
  bool reads_pods() const override { return true; }

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
