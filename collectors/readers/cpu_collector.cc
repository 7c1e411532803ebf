// cpu: usage, user/system split, CFS throttling and the CPU limit.
// v1: cpuacct.usage, cpuacct.stat, cpu.stat, cpu.cfs_quota_us, cpu.cfs_period_us.
// v2: cpu.stat, cpu.max.
#include "collectors/readers/cpu_collector.h"

#include <unistd.h>

#include "collectors/base/file_util.h"
#include "collectors/cgroupfs/cgroup_dirs.h"
#include "collectors/readers/cpu_stat.h"

namespace podmeter {
namespace {

const std::vector<MetricRow>& CpuRows() {
  static const std::vector<MetricRow> rows = {
      {"cpu_usage_seconds_total", MetricType::kCounter, "seconds", "CPU time consumed, in seconds.",
       "", "cpuacct: `cpuacct.usage` (ns)", "`cpu.stat` `usage_usec`",
       FieldOf(&CgroupSample::cpu, &CpuSample::usage_seconds)},
      {"cpu_user_seconds_total", MetricType::kCounter, "seconds",
       "CPU time consumed in user mode, in seconds.", "",
       "cpuacct: `cpuacct.stat` `user` (USER_HZ ticks)", "`cpu.stat` `user_usec`",
       FieldOf(&CgroupSample::cpu, &CpuSample::user_seconds)},
      {"cpu_system_seconds_total", MetricType::kCounter, "seconds",
       "CPU time consumed in kernel mode, in seconds.", "",
       "cpuacct: `cpuacct.stat` `system` (USER_HZ ticks)", "`cpu.stat` `system_usec`",
       FieldOf(&CgroupSample::cpu, &CpuSample::system_seconds)},
      {"cpu_cfs_periods_total", MetricType::kCounter, "periods",
       "CFS enforcement periods that have elapsed.", "", "cpu: `cpu.stat` `nr_periods`",
       "`cpu.stat` `nr_periods`", FieldOf(&CgroupSample::cpu, &CpuSample::cfs_periods)},
      {"cpu_cfs_throttled_periods_total", MetricType::kCounter, "periods",
       "CFS enforcement periods in which the cgroup was throttled.", "",
       "cpu: `cpu.stat` `nr_throttled`", "`cpu.stat` `nr_throttled`",
       FieldOf(&CgroupSample::cpu, &CpuSample::cfs_throttled_periods)},
      {"cpu_cfs_throttled_seconds_total", MetricType::kCounter, "seconds",
       "Total time the cgroup's tasks were throttled, in seconds.", "",
       "cpu: `cpu.stat` `throttled_time` (ns)", "`cpu.stat` `throttled_usec`",
       FieldOf(&CgroupSample::cpu, &CpuSample::cfs_throttled_seconds)},
      {"cpu_limit_cores", MetricType::kGauge, "cores", "CPU limit (CFS quota / period), in cores.",
       "unlimited", "cpu: `cpu.cfs_quota_us` / `cpu.cfs_period_us` (quota -1 = unlimited)",
       "`cpu.max` (`max` = unlimited)", FieldOf(&CgroupSample::cpu, &CpuSample::limit_cores)},
  };
  return rows;
}

class CpuCollector : public Collector {
 public:
  std::string_view name() const override { return "cpu"; }
  bool reads_pods() const override { return true; }
  const std::vector<MetricRow>& rows() const override { return CpuRows(); }

  Status Collect(const CgroupDirs& dirs, CgroupSample* out) override {
    CpuSample cpu;
    Status s =
        dirs.version == CgroupMounts::Version::kV2 ? CollectV2(dirs, &cpu) : CollectV1(dirs, &cpu);
    if (s.ok()) out->cpu = cpu;
    return s;
  }

 private:
  Status CollectV1(const CgroupDirs& dirs, CpuSample* cpu) {
    if (dirs.cpuacct.empty()) return Status::Unavailable("cpuacct controller is not mounted");
    auto usage = ReadFileToString(JoinPath(dirs.cpuacct, "cpuacct.usage"));
    if (!usage.ok()) return usage.status();
    Status s = ParseCpuacctUsage(*usage, cpu);
    if (!s.ok()) return s;
    auto stat = ReadFileToString(JoinPath(dirs.cpuacct, "cpuacct.stat"));
    if (!stat.ok()) return stat.status();
    s = ParseCpuacctStat(*stat, ticks_per_second_, cpu);
    if (!s.ok() || dirs.cpu.empty()) return s;
    auto cpu_stat = ReadFileToString(JoinPath(dirs.cpu, "cpu.stat"));
    if (!cpu_stat.ok()) return cpu_stat.status();
    s = ParseCpuStatV1(*cpu_stat, cpu);
    if (!s.ok()) return s;
    auto quota = ReadFileToString(JoinPath(dirs.cpu, "cpu.cfs_quota_us"));
    if (!quota.ok()) return quota.status();
    auto period = ReadFileToString(JoinPath(dirs.cpu, "cpu.cfs_period_us"));
    if (!period.ok()) return period.status();
    auto limit = ParseCfsQuota(*quota, *period);
    if (!limit.ok()) return limit.status();
    cpu->limit_cores = *limit;
    return Status::Ok();
  }

  Status CollectV2(const CgroupDirs& dirs, CpuSample* cpu) {
    auto stat = ReadFileToString(JoinPath(dirs.unified, "cpu.stat"));
    if (!stat.ok()) return stat.status();
    Status s = ParseCpuStatV2(*stat, cpu);
    if (!s.ok()) return s;
    auto max = ReadOptionalCgroupFile(dirs.unified, "cpu.max");
    if (!max.ok()) return max.status();
    if (max->empty()) return Status::Ok();  // cpu controller not enabled here: no limit
    auto limit = ParseCpuMax(*max);
    if (!limit.ok()) return limit.status();
    cpu->limit_cores = *limit;
    return Status::Ok();
  }

  long ticks_per_second_ = ::sysconf(_SC_CLK_TCK);
};

}  // namespace

std::unique_ptr<Collector> NewCpuCollector() { return std::make_unique<CpuCollector>(); }

}  // namespace podmeter
