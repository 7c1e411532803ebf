// processes: process and thread counts (cgroup.procs; v1 tasks, v2 cgroup.threads) and the sum of
// the processes' resident memory, read through a ProcessTable (each /proc/<pid>/statm; the
// daemon's table re-reads a process every --process-interval, process_table.h).
#include "collectors/readers/process_collector.h"

#include "collectors/base/file_util.h"
#include "collectors/base/open_file_cache.h"
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
       "Σ over `cgroup.procs` of `/proc/<pid>/statm` resident × page size (a process read when "
       "it appears, then every `--process-interval`)",
       "same", FieldOf(&CgroupSample::processes, &ProcessSample::resident_bytes)},
  };
  return rows;
}

// Non-empty lines.
size_t CountLines(std::string_view text) {
  size_t n = 0;
  bool in_line = false;
  for (char c : text) {
    if (c == '\n') {
      n += in_line ? 1 : 0;
      in_line = false;
    } else {
      in_line = true;
    }
  }
  return n + (in_line ? 1 : 0);
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
    // v1's lists are read afresh each time by the cache itself (open_file_cache.h).
    Status s = files_.Read(dir, "cgroup.procs", &procs_);
    if (s.ok()) s = files_.Read(dir, v2 ? "cgroup.threads" : "tasks", &threads_);
    if (!s.ok()) return s;
    pids_.clear();
    for (std::string_view line : SplitLines(procs_)) {
      uint64_t pid = 0;
      if (line.empty()) continue;
      if (!ParseUint64(line, &pid) || pid == 0 || pid > (1u << 22)) {
        return Status::InvalidData(JoinPath(dir, "cgroup.procs") + ": bad pid");
      }
      pids_.push_back(static_cast<int>(pid));
    }
    // The names only where they matter: a single process may be the pod sandbox's `pause`.
    s = table_->Read(pids_, /*names=*/pids_.size() == 1, &infos_);
    if (!s.ok()) return s;
    ProcessSample sample;
    sample.processes = pids_.size();
    sample.threads = CountLines(threads_);
    for (const ProcessInfo& p : infos_) sample.resident_bytes += p.resident_bytes;
    sample.is_pause = infos_.size() == 1 && infos_[0].comm == "pause";
    out->processes = sample;
    return Status::Ok();
  }

  void EndSample() override {
    files_.Sweep();
    table_->EndSample();
  }

 private:
  ProcessTable* table_;
  OpenFileCache files_;
  std::string procs_, threads_;     // reused between calls
  std::vector<int> pids_;           // reused between calls
  std::vector<ProcessInfo> infos_;  // reused between calls
};

}  // namespace

std::unique_ptr<Collector> NewProcessCollector(ProcessTable* table) {
  return std::make_unique<ProcessCollector>(table);
}

}  // namespace podmeter
