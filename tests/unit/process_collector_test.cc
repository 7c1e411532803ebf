// The process collector's lists on a tree of plain files: read again when pids.current moved
// (read just before by the pids collector) or the process cadence is up, not otherwise.
#include "collectors/readers/process_collector.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "collectors/readers/pids_collector.h"
#include "collectors/readers/process_table.h"
#include "tests/unit/test_support.h"

namespace podmeter {
namespace {

// Every pid 4096 bytes resident; reads every `every` samples as the daemon's table says.
class FixedTable : public ProcessTable {
 public:
  explicit FixedTable(unsigned every) : every_(every) {}
  Status Read(const std::vector<int>& pids, bool, std::vector<ProcessInfo>* out) override {
    out->clear();
    for (int pid : pids) out->push_back({pid, 4096, ""});
    return Status::Ok();
  }
  unsigned every() const override { return every_; }

 private:
  unsigned every_;
};

class ProcessListsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dirs_.version = CgroupMounts::Version::kV1;
    dirs_.pids = dir_.path().string();
  }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_.path() / name) << text;
  }
  // One sample as the sampler runs it: pids first, then processes.
  ProcessSample Sample(Collector& processes) {
    CgroupSample s;
    EXPECT_TRUE(pids_->Collect(dirs_, &s).ok());
    Status st = processes.Collect(dirs_, &s);
    EXPECT_TRUE(st.ok()) << st.message();
    pids_->EndSample();
    processes.EndSample();
    return s.processes.value_or(ProcessSample{});
  }

  testing::TempDir dir_{"podmeter-lists"};
  CgroupDirs dirs_;
  std::unique_ptr<Collector> pids_ = NewPidsCollector();
};

TEST_F(ProcessListsTest, ReadAgainWhenPidsCurrentMovesOrTheCadenceIsUp) {
  FixedTable table(3);
  auto processes = NewProcessCollector(&table);
  Write("pids.current", "3\n");
  Write("cgroup.procs", "10\n11\n");
  Write("tasks", "10\n11\n12\n");
  ProcessSample s = Sample(*processes);
  EXPECT_EQ(s.processes, 2u);
  EXPECT_EQ(s.threads, 3u);
  EXPECT_EQ(s.resident_bytes, 2u * 4096);
  // A thread exited and is gone from tasks, but pids.current has not moved (not reaped yet):
  // the lists stand until the cadence is up (every 3 samples).
  Write("tasks", "10\n11\n");
  EXPECT_EQ(Sample(*processes).threads, 3u);
  EXPECT_EQ(Sample(*processes).threads, 3u);
  EXPECT_EQ(Sample(*processes).threads, 2u);  // sample 3: read again
  // A fork: pids.current moves, the lists are read at once.
  Write("pids.current", "4\n");
  Write("cgroup.procs", "10\n11\n13\n");
  Write("tasks", "10\n11\n13\n14\n");
  s = Sample(*processes);
  EXPECT_EQ(s.processes, 3u);
  EXPECT_EQ(s.threads, 4u);
  EXPECT_EQ(s.resident_bytes, 3u * 4096);
}

// Without pids.current (no pids controller, or --disable-collector pids) the lists are read every
// sample, as they are when each process is read every sample.
TEST_F(ProcessListsTest, ReadEverySampleWithoutPidsCurrentOrAtEverySampleCadence) {
  Write("cgroup.procs", "10\n");
  Write("tasks", "10\n");
  FixedTable slow(5);
  auto processes = NewProcessCollector(&slow);
  EXPECT_EQ(Sample(*processes).threads, 1u);
  Write("tasks", "10\n20\n");
  EXPECT_EQ(Sample(*processes).threads, 2u);

  Write("pids.current", "2\n");
  FixedTable every(1);
  auto each = NewProcessCollector(&every);
  EXPECT_EQ(Sample(*each).threads, 2u);
  Write("tasks", "10\n");
  EXPECT_EQ(Sample(*each).threads, 1u);
}

// Descriptors of this process open on the lists in `dir` (not the pids collector's pids.current).
size_t OpenIn(const std::filesystem::path& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(e.path(), ec);
    if (target == dir / "cgroup.procs" || target == dir / "tasks") ++n;
  }
  return n;
}

// Lists read every few samples keep their descriptors between reads (no open each time they are
// read); a cgroup no longer collected lets go of them within two cadences.
TEST_F(ProcessListsTest, TheListsKeepTheirDescriptorsBetweenReadsWithinTheCadence) {
  FixedTable table(3);
  auto processes = NewProcessCollector(&table);
  Write("pids.current", "1\n");
  Write("cgroup.procs", "10\n");
  Write("tasks", "10\n");
  for (int i = 0; i < 7; ++i) {
    Sample(*processes);  // read at samples 0, 3, 6 only: pids.current does not move
    EXPECT_EQ(OpenIn(dir_.path()), 2u) << "after sample " << i;
  }
  // The cgroup is no longer collected (gone from discovery): closed at the second sweep, within
  // two cadences (the first, after sample 8, keeps what was read since the one before).
  for (int i = 7; i < 11; ++i) {
    processes->EndSample();
    EXPECT_EQ(OpenIn(dir_.path()), 2u) << "after sample " << i;
  }
  processes->EndSample();
  EXPECT_EQ(OpenIn(dir_.path()), 0u);
}

}  // namespace
}  // namespace podmeter
