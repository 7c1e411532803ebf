// pressure: cgroup v2 pressure stall information, `cpu.pressure`, `memory.pressure`,
// `io.pressure` (the `some` and `full` totals). A file that is absent (PSI disabled) leaves its
// part of the sample empty; nothing is read on v1.
#include "collectors/readers/pressure_collector.h"

#include "collectors/base/file_util.h"
#include "collectors/base/open_file_cache.h"
#include "collectors/cgroupfs/cgroup_dirs.h"
#include "collectors/readers/pressure_stat.h"

namespace podmeter {
namespace {

// A pressure file's some (waiting) or full (stalled) total.
MetricGetter TotalOf(std::optional<PressureTotals> PressureSample::*resource,
                     double PressureTotals::*kind) {
  return [resource, kind](const CgroupSample& s) -> std::optional<double> {
    if (!s.pressure || !((*s.pressure).*resource)) return std::nullopt;
    return *((*s.pressure).*resource).*kind;
  };
}

const std::vector<MetricRow>& PressureRows() {
  static const std::vector<MetricRow> rows = {
      {"pressure_cpu_waiting_seconds_total", MetricType::kCounter, "seconds",
       "cpu.pressure some: time some task waited for CPU, in seconds (v2).",
       "on cgroup v1 or PSI off", "—",
       "`cpu.pressure` `some` `total=` (µs): some task runnable but not running (CFS throttling "
       "included)",
       TotalOf(&PressureSample::cpu, &PressureTotals::some_seconds)},
      {"pressure_cpu_stalled_seconds_total", MetricType::kCounter, "seconds",
       "cpu.pressure full: time every non-idle task waited for CPU at once, in seconds (v2).",
       "on cgroup v1 or PSI off", "—", "`cpu.pressure` `full` `total=` (µs)",
       TotalOf(&PressureSample::cpu, &PressureTotals::full_seconds)},
      {"pressure_memory_waiting_seconds_total", MetricType::kCounter, "seconds",
       "memory.pressure some: time some task stalled on memory, in seconds (v2).",
       "on cgroup v1 or PSI off", "—",
       "`memory.pressure` `some` `total=` (µs): reclaim, refaults, `memory.high` throttling",
       TotalOf(&PressureSample::memory, &PressureTotals::some_seconds)},
      {"pressure_memory_stalled_seconds_total", MetricType::kCounter, "seconds",
       "memory.pressure full: time every non-idle task stalled on memory at once, in seconds (v2).",
       "on cgroup v1 or PSI off", "—", "`memory.pressure` `full` `total=` (µs)",
       TotalOf(&PressureSample::memory, &PressureTotals::full_seconds)},
      {"pressure_io_waiting_seconds_total", MetricType::kCounter, "seconds",
       "io.pressure some: time some task stalled on I/O, in seconds (v2).",
       "on cgroup v1 or PSI off", "—", "`io.pressure` `some` `total=` (µs)",
       TotalOf(&PressureSample::io, &PressureTotals::some_seconds)},
      {"pressure_io_stalled_seconds_total", MetricType::kCounter, "seconds",
       "io.pressure full: time every non-idle task stalled on I/O at once, in seconds (v2).",
       "on cgroup v1 or PSI off", "—", "`io.pressure` `full` `total=` (µs)",
       TotalOf(&PressureSample::io, &PressureTotals::full_seconds)},
  };
  return rows;
}

class PressureCollector : public Collector {
 public:
  std::string_view name() const override { return "pressure"; }
  bool reads_pods() const override { return true; }
  const std::vector<MetricRow>& rows() const override { return PressureRows(); }

  Status Collect(const CgroupDirs& dirs, CgroupSample* out) override {
    if (dirs.version != CgroupMounts::Version::kV2) return Status::Ok();
    PressureSample sample;
    for (auto [file, part] :
         {std::pair{"cpu.pressure", &sample.cpu}, std::pair{"memory.pressure", &sample.memory},
          std::pair{"io.pressure", &sample.io}}) {
      Status s = files_.ReadOptional(dirs.unified, file, &text_);
      if (!s.ok()) return s;
      if (text_.empty()) continue;
      auto totals = ParsePressure(text_);
      if (!totals.ok()) {
        return Status::InvalidData(std::string(file) + ": " + totals.status().message());
      }
      *part = *totals;
    }
    out->pressure = sample;
    return Status::Ok();
  }

  void EndSample() override { files_.Sweep(); }

 private:
  OpenFileCache files_;
  std::string text_;  // reused between reads
};

}  // namespace

std::unique_ptr<Collector> NewPressureCollector() { return std::make_unique<PressureCollector>(); }

}  // namespace podmeter
