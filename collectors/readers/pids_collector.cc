// pids: the pids controller's `pids.current` (tasks: processes and threads; each sample) and
// `pids.max` (on the limits' timer), in the v1 pids hierarchy or the v2 cgroup. Absent files
// (controller not enabled or not mounted) leave the sample without pids.
#include "collectors/readers/pids_collector.h"

#include "collectors/base/file_util.h"
#include "collectors/base/open_file_cache.h"
#include "collectors/cgroupfs/cgroup_dirs.h"
#include "collectors/readers/pids_stat.h"

namespace podmeter {
namespace {

const std::vector<MetricRow>& PidsRows() {
  static const std::vector<MetricRow> rows = {
      {"pids", MetricType::kGauge, "tasks",
       "pids.current: tasks (processes and threads) in the cgroup.",
       "the pids controller is not there", "pids: `pids.current`", "`pids.current`",
       FieldOf(&CgroupSample::pids, &PidsSample::current)},
      {"pids_limit", MetricType::kGauge, "tasks", "pids.max: the cgroup's task limit.", "unlimited",
       "pids: `pids.max` (`max` = unlimited)", "`pids.max` (`max` = unlimited)",
       FieldOf(&CgroupSample::pids, &PidsSample::limit)},
  };
  return rows;
}

class PidsCollector : public Collector {
 public:
  std::string_view name() const override { return "pids"; }
  bool reads_pods() const override { return true; }
  const std::vector<MetricRow>& rows() const override { return PidsRows(); }

  Status Collect(const CgroupDirs& dirs, CgroupSample* out) override {
    const bool v2 = dirs.version == CgroupMounts::Version::kV2;
    const std::string& dir = v2 ? dirs.unified : dirs.pids;
    if (dir.empty()) return Status::Ok();
    Status s = files_.ReadOptional(dir, "pids.current", &text_);
    // v1: a cgroup may be missing from the pids hierarchy alone; the other readers notice a
    // cgroup that vanished.
    if (!v2 && s.IsNotFound()) return Status::Ok();
    if (!s.ok()) return s;
    if (text_.empty()) return Status::Ok();
    PidsSample sample;
    if (!ParseUint64(text_, &sample.current)) {
      return Status::InvalidData("pids.current: not a number");
    }
    s = limits_.Read(dir, "pids.max", /*optional=*/true, &text_);
    if (!s.ok()) return s;
    if (!text_.empty()) {
      auto limit = ParsePidsMax(text_);
      if (!limit.ok()) return limit.status();
      sample.limit = *limit;
    }
    out->pids = sample;
    return Status::Ok();
  }

  void EndSample() override {
    files_.Sweep();
    limits_.Sweep();
  }

 private:
  OpenFileCache files_;
  RarelyChangingFiles limits_{kLimitRefresh};
  std::string text_;  // reused between reads
};

}  // namespace

std::unique_ptr<Collector> NewPidsCollector() { return std::make_unique<PidsCollector>(); }

}  // namespace podmeter
