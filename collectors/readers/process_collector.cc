// processes: process and thread counts (cgroup.procs; v1 tasks, v2 cgroup.threads) and the sum of
// the processes' resident memory, read through a ProcessTable (each /proc/<pid>/statm; the
// daemon's table re-reads a process every --process-interval, process_table.h). The lists are
// read again when the cgroup's pids.current (read just before by the pids collector) moved —
// the kernel charges every fork, every reaped exit and every task moved in or out — and at least
// every --process-interval: a process that exited and is not reaped yet has left the lists but
// not pids.current. Without the pids controller they are read every sample.
#include "collectors/readers/process_collector.h"

#include <optional>
#include <unordered_map>

#include "collectors/base/file_util.h"
#include "collectors/base/open_file_cache.h"
#include "collectors/readers/process_table.h"

namespace podmeter {
namespace {

const std::vector<MetricRow>& ProcessRows() {
  static const std::vector<MetricRow> rows = {
      {"processes", MetricType::kGauge, "processes", "Processes in the cgroup.", "",
       "pids (else cpu, else memory): `cgroup.procs` line count (read again when `pids.current` "
       "moved, else every `--process-interval`)",
       "`cgroup.procs` line count (the same)",
       FieldOf(&CgroupSample::processes, &ProcessSample::processes)},
      {"threads", MetricType::kGauge, "threads", "Threads in the cgroup.", "",
       "same hierarchy: `tasks` line count (the same)", "`cgroup.threads` line count (the same)",
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
    Lists& lists = lists_[dir];
    lists.used_in = sample_;
    // The pids collector ran first: this cgroup's pids.current, when it is in the same directory.
    std::optional<uint64_t> charged;
    if (out->pids && (v2 || dir == dirs.pids)) charged = out->pids->current;
    if (!lists.read || !charged || *charged != lists.charged ||
        sample_ - lists.read_in >= table_->every()) {
      Status s = ReadLists(dir, v2, &lists);
      if (!s.ok()) return s;
      lists.charged = charged.value_or(0);
      lists.read_in = sample_;
    }
    // The names only where they matter: a single process may be the pod sandbox's `pause`.
    Status s = table_->Read(lists.pids, /*names=*/lists.pids.size() == 1, &infos_);
    if (!s.ok()) return s;
    ProcessSample sample;
    sample.processes = lists.pids.size();
    sample.threads = lists.threads;
    for (const ProcessInfo& p : infos_) sample.resident_bytes += p.resident_bytes;
    sample.is_pause = infos_.size() == 1 && infos_[0].comm == "pause";
    out->processes = sample;
    return Status::Ok();
  }

  // The lists' descriptors (v2's files, v1's directories) are closed every `every` samples, by
  // when each living cgroup's lists have been read at least once: a cgroup read every few
  // samples keeps them, a removed one lets go of them within 2 × `every` samples.
  void EndSample() override {
    std::erase_if(lists_, [this](const auto& entry) { return entry.second.used_in != sample_; });
    ++sample_;
    if (sample_ % table_->every() == 0) files_.Sweep();
    table_->EndSample();
  }

 private:
  // One cgroup's lists as last read.
  struct Lists {
    std::vector<int> pids;
    uint64_t threads = 0;
    bool read = false;
    uint64_t charged = 0;               // pids.current when they were read
    uint64_t read_in = 0, used_in = 0;  // samples
  };

  // v1's lists are read afresh each time by the cache itself (open_file_cache.h).
  Status ReadLists(const std::string& dir, bool v2, Lists* lists) {
    Status s = files_.Read(dir, "cgroup.procs", &procs_);
    if (s.ok()) s = files_.Read(dir, v2 ? "cgroup.threads" : "tasks", &threads_);
    if (!s.ok()) return s;
    lists->pids.clear();
    for (std::string_view line : SplitLines(procs_)) {
      uint64_t pid = 0;
      if (line.empty()) continue;
      if (!ParseUint64(line, &pid) || pid == 0 || pid > (1u << 22)) {
        return Status::InvalidData(JoinPath(dir, "cgroup.procs") + ": bad pid");
      }
      lists->pids.push_back(static_cast<int>(pid));
    }
    lists->threads = CountLines(threads_);
    lists->read = true;
    return Status::Ok();
  }

  ProcessTable* table_;
  OpenFileCache files_;
  std::unordered_map<std::string, Lists> lists_;  // by the directory they are read from
  uint64_t sample_ = 0;
  std::string procs_, threads_;     // reused between calls
  std::vector<ProcessInfo> infos_;  // reused between calls
};

}  // namespace

std::unique_ptr<Collector> NewProcessCollector(ProcessTable* table) {
  return std::make_unique<ProcessCollector>(table);
}

}  // namespace podmeter
