// cpu: usage, user/system split, CFS throttling and the CPU limit.
// v1: cpuacct.usage, cpuacct.stat, cpu.stat each sample; cpu.cfs_quota_us, cpu.cfs_period_us on
// the limits' timer. v2: cpu.stat each sample; cpu.max on the limits' timer.
#include "collectors/readers/cpu_collector.h"

#include <unistd.h>

#include "collectors/base/file_util.h"
#include "collectors/base/open_file_cache.h"
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

  void EndSample() override {
    files_.Sweep();
    limits_.Sweep();
  }

 private:
  Status CollectV1(const CgroupDirs& dirs, CpuSample* cpu) {
    if (dirs.cpuacct.empty()) return Status::Unavailable("cpuacct controller is not mounted");
    Status s = files_.Read(dirs.cpuacct, "cpuacct.usage", &text_);
    if (s.ok()) s = ParseCpuacctUsage(text_, cpu);
    if (s.ok()) s = files_.Read(dirs.cpuacct, "cpuacct.stat", &text_);
    if (s.ok()) s = ParseCpuacctStat(text_, ticks_per_second_, cpu);
    if (!s.ok() || dirs.cpu.empty()) return s;
    s = files_.Read(dirs.cpu, "cpu.stat", &text_);
    if (s.ok()) s = ParseCpuStatV1(text_, cpu);
    if (s.ok()) s = limits_.Read(dirs.cpu, "cpu.cfs_quota_us", /*optional=*/false, &text_);
    if (s.ok()) s = limits_.Read(dirs.cpu, "cpu.cfs_period_us", /*optional=*/false, &period_);
    if (!s.ok()) return s;
    auto limit = ParseCfsQuota(text_, period_);
    if (!limit.ok()) return limit.status();
    cpu->limit_cores = *limit;
    return Status::Ok();
  }

  Status CollectV2(const CgroupDirs& dirs, CpuSample* cpu) {
    Status s = files_.Read(dirs.unified, "cpu.stat", &text_);
    if (s.ok()) s = ParseCpuStatV2(text_, cpu);
    if (s.ok()) s = limits_.Read(dirs.unified, "cpu.max", /*optional=*/true, &text_);
    if (!s.ok()) return s;
    if (text_.empty()) return Status::Ok();  // cpu controller not enabled here: no limit
    auto limit = ParseCpuMax(text_);
    if (!limit.ok()) return limit.status();
    cpu->limit_cores = *limit;
    return Status::Ok();
  }

  long ticks_per_second_ = ::sysconf(_SC_CLK_TCK);
  OpenFileCache files_;
  RarelyChangingFiles limits_{kLimitRefresh};
  std::string text_, period_;  // reused between reads
};

}  // namespace

std::unique_ptr<Collector> NewCpuCollector() { return std::make_unique<CpuCollector>(); }

}  // namespace podmeter
