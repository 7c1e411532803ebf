// processes: process and thread counts (cgroup.procs; v1 tasks, v2 cgroup.threads) and the sum of
// the processes' resident memory, read through a ProcessTable (libproc2 on the real /proc).
#include "collectors/readers/process_collector.h"

#include "collectors/base/file_util.h"
#include "collectors/readers/process_table.h"

namespace podmeter {
namespace {

const std::vector<MetricRow>& ProcessRows() {
  static const std::vector<MetricRow> rows = {
      {"processes", MetricType::kGauge, "processes", "Processes in the cgroup.", "",
       "pids (else cpu, else memory): `cgroup.procs` line count", "`cgroup.procs` line count",
       FieldOf(&CgroupSample::processes, &ProcessSample::processes)},
      {"threads", MetricType::kGauge, "threads", "Threads in the cgroup.", "",
       "same hierarchy: `tasks` line count", "`cgroup.threads` line count",
       FieldOf(&CgroupSample::processes, &ProcessSample::threads)},
      {"process_resident_bytes", MetricType::kGauge, "bytes",
       "Sum of the resident memory of the cgroup's processes, in bytes.", "",
       "Σ over `cgroup.procs` of `/proc/<pid>/statm` resident × page size (libproc2 "
       "`PIDS_MEM_RES` on the real /proc)",
       "same", FieldOf(&CgroupSample::processes, &ProcessSample::resident_bytes)},
  };
  return rows;
}

size_t CountLines(std::string_view text) {
  size_t n = 0;
  for (std::string_view line : SplitLines(text)) n += line.empty() ? 0 : 1;
  return n;
}

class ProcessCollector : public Collector {
 public:
  explicit ProcessCollector(ProcessTable* table) : table_(table) {}
  std::string_view name() const override { return "processes"; }
  bool reads_pods() const override { return false; }
  const std::vector<MetricRow>& rows() const override { return ProcessRows(); }

  Status Collect(const CgroupDirs& dirs, CgroupSample* out) override {
    const bool v2 = dirs.version == CgroupMounts::Version::kV2;
    const std::string& dir =
        v2 ? dirs.unified
           : (!dirs.pids.empty() ? dirs.pids : (!dirs.cpu.empty() ? dirs.cpu : dirs.memory));
    auto procs = ReadFileToString(JoinPath(dir, "cgroup.procs"));
    if (!procs.ok()) return procs.status();
    auto threads = ReadFileToString(JoinPath(dir, v2 ? "cgroup.threads" : "tasks"));
    if (!threads.ok()) return threads.status();
    pids_.clear();
    for (std::string_view line : SplitLines(*procs)) {
      uint64_t pid = 0;
      if (line.empty()) continue;
      if (!ParseUint64(line, &pid) || pid == 0 || pid > (1u << 22)) {
        return Status::InvalidData(JoinPath(dir, "cgroup.procs") + ": bad pid");
      }
      pids_.push_back(static_cast<int>(pid));
    }
    Status s = table_->Read(pids_, &infos_);
    if (!s.ok()) return s;
    ProcessSample sample;
    sample.processes = pids_.size();
    sample.threads = CountLines(*threads);
    for (const ProcessInfo& p : infos_) sample.resident_bytes += p.resident_bytes;
    sample.is_pause = infos_.size() == 1 && infos_[0].comm == "pause";
    out->processes = sample;
    return Status::Ok();
  }

 private:
  ProcessTable* table_;
  std::vector<int> pids_;           // reused between calls
  std::vector<ProcessInfo> infos_;  // reused between calls
};

}  // namespace

std::unique_ptr<Collector> NewProcessCollector(ProcessTable* table) {
  return std::make_unique<ProcessCollector>(table);
}

}  // namespace podmeter
