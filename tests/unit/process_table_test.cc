// The process tables on the real /proc: libproc2's against the procfs reader (the daemon's, through
// kept-open descriptors).
#include "collectors/readers/process_table.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <memory>
#include <vector>

#include "tests/unit/test_support.h"

namespace podmeter {
namespace {

using podmeter::testing::Child;

// libproc2 selects at most 255 pids per call: a container of 300 processes must still be read
// whole (it used to fail and drop the container from /metrics). The procfs reader reads the same
// figures again through its kept descriptors, and none once the processes are gone.
TEST(ProcessTable, Libproc2ReadsMoreThan255PidsLikeProcfs) {
  constexpr int kProcesses = 300;
  std::vector<std::unique_ptr<Child>> children;
  std::vector<int> pids;
  for (int i = 0; i < kProcesses; ++i) {
    children.push_back(std::make_unique<Child>(std::vector<std::string>{"sleep", "60"}));
    ASSERT_TRUE(children.back()->started());
  }
  for (const auto& c : children) pids.push_back(c->pid());
  // Wait until every child has exec'd sleep and its resident pages stay put between two reads 20 ms
  // apart (a fresh exec is still faulting in its libraries).
  auto procfs = NewProcfsProcessTable("/proc");
  std::vector<ProcessInfo> want, before;
  for (int attempt = 0; attempt < 500; ++attempt) {
    ASSERT_TRUE(procfs->Read(pids, /*names=*/true, &want).ok());
    procfs->EndSample();
    size_t settled = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      settled += want[i].comm == "sleep" && before.size() == want.size() &&
                 before[i].resident_bytes == want[i].resident_bytes;
    }
    if (settled == kProcesses) break;
    before = want;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto libproc2 = NewLibproc2ProcessTable();
  std::vector<ProcessInfo> got, again, unnamed, after_exit;
  Status s = libproc2->Read(pids, /*names=*/true, &got);
  Status s2 = procfs->Read(pids, /*names=*/true, &again);
  Status s3 = procfs->Read(pids, /*names=*/false, &unnamed);
  procfs->EndSample();
  for (const auto& c : children) ::kill(c->pid(), SIGKILL);
  for (const auto& c : children) c->Wait();
  Status s4 = procfs->Read(pids, /*names=*/true, &after_exit);  // kept descriptors: ESRCH

  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE(s2.ok()) << s2.message();
  ASSERT_TRUE(s3.ok()) << s3.message();
  ASSERT_TRUE(s4.ok()) << s4.message();
  EXPECT_TRUE(after_exit.empty());
  ASSERT_EQ(again.size(), want.size());
  ASSERT_EQ(unnamed.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(again[i].pid, want[i].pid);
    EXPECT_EQ(again[i].comm, "sleep");
    EXPECT_EQ(again[i].resident_bytes, want[i].resident_bytes) << want[i].pid;
    EXPECT_EQ(unnamed[i].comm, "");
    EXPECT_EQ(unnamed[i].resident_bytes, want[i].resident_bytes) << want[i].pid;
  }
  ASSERT_EQ(want.size(), static_cast<size_t>(kProcesses));
  ASSERT_EQ(got.size(), want.size());
  std::map<int, const ProcessInfo*> by_pid;
  for (const ProcessInfo& p : want) by_pid[p.pid] = &p;
  for (const ProcessInfo& p : got) {
    ASSERT_EQ(by_pid.count(p.pid), 1u) << p.pid;
    EXPECT_EQ(p.comm, "sleep");
    EXPECT_GT(p.resident_bytes, 0u);
    // An idle sleep's resident pages stay put between the two reads.
    EXPECT_EQ(p.resident_bytes, by_pid[p.pid]->resident_bytes) << p.pid;
  }
}

// The inner table of the staggered one: answers from `resident` (a pid missing has exited) and
// records which pids each call asked for, and when EndSample ran.
class RecordingTable : public ProcessTable {
 public:
  Status Read(const std::vector<int>& pids, bool names, std::vector<ProcessInfo>* out) override {
    out->clear();
    for (int pid : pids) {
      asked.push_back(pid);
      auto it = resident.find(pid);
      if (it == resident.end()) continue;
      out->push_back({pid, it->second, names ? "comm" + std::to_string(pid) : ""});
    }
    return Status::Ok();
  }
  void EndSample() override { ++ended; }

  std::map<int, uint64_t> resident;
  std::vector<int> asked;
  int ended = 0;
};

std::map<int, uint64_t> ByPid(const std::vector<ProcessInfo>& infos) {
  std::map<int, uint64_t> out;
  for (const ProcessInfo& p : infos) out[p.pid] = p.resident_bytes;
  return out;
}

// Every 3 samples: each process is read when first listed, then in one sample of every three
// (pid + sample ≡ 0 mod 3); between, its last figures stand; an exited process is gone at once.
TEST(ProcessTable, StaggeredReadsEachProcessOnceEveryNSamples) {
  auto owned = std::make_unique<RecordingTable>();
  RecordingTable* inner = owned.get();
  inner->resident = {{10, 100}, {11, 110}, {12, 120}};
  auto table = NewStaggeredProcessTable(std::move(owned), 3);
  std::vector<ProcessInfo> out;
  const std::vector<int> all = {10, 11, 12};

  // Sample 0: all new.
  ASSERT_TRUE(table->Read(all, false, &out).ok());
  EXPECT_EQ(inner->asked, (std::vector<int>{10, 11, 12}));
  EXPECT_EQ(ByPid(out), inner->resident);
  table->EndSample();
  // Samples 1 and 2: only the pid whose turn it is ((11 + 1) % 3 == 0, (10 + 2) % 3 == 0); the
  // others keep the figures they had, although the process has grown meanwhile.
  inner->asked.clear();
  inner->resident = {{10, 200}, {11, 210}, {12, 220}};
  ASSERT_TRUE(table->Read(all, false, &out).ok());
  EXPECT_EQ(inner->asked, (std::vector<int>{11}));
  EXPECT_EQ(ByPid(out), (std::map<int, uint64_t>{{10, 100}, {11, 210}, {12, 120}}));
  table->EndSample();
  inner->asked.clear();
  ASSERT_TRUE(table->Read(all, false, &out).ok());
  EXPECT_EQ(inner->asked, (std::vector<int>{10}));
  EXPECT_EQ(ByPid(out), (std::map<int, uint64_t>{{10, 200}, {11, 210}, {12, 120}}));
  EXPECT_EQ(inner->ended, 0);
  table->EndSample();
  EXPECT_EQ(inner->ended, 1);  // each listed process was read once since the inner's last sweep
  // Sample 3: 12's turn; a newcomer (13) is read at once; 11 has exited (no longer listed).
  inner->asked.clear();
  inner->resident[13] = 130;
  ASSERT_TRUE(table->Read({10, 12, 13}, false, &out).ok());
  EXPECT_EQ(inner->asked, (std::vector<int>{12, 13}));
  EXPECT_EQ(ByPid(out), (std::map<int, uint64_t>{{10, 200}, {12, 220}, {13, 130}}));
  table->EndSample();
  // Sample 4: 11 listed again (a new process with a reused pid) is read as new, not from before.
  inner->asked.clear();
  inner->resident[11] = 999;
  ASSERT_TRUE(table->Read({11}, false, &out).ok());
  EXPECT_EQ(inner->asked, (std::vector<int>{11}));
  EXPECT_EQ(ByPid(out), (std::map<int, uint64_t>{{11, 999}}));
}

// A name asked for the first time is read although the figures are recent; a process that exited
// before its turn leaves the result instead of standing in it.
TEST(ProcessTable, StaggeredReadsNamesWhenFirstAskedAndDropsTheExited) {
  auto owned = std::make_unique<RecordingTable>();
  RecordingTable* inner = owned.get();
  inner->resident = {{7, 70}, {8, 80}};
  auto table = NewStaggeredProcessTable(std::move(owned), 5);
  std::vector<ProcessInfo> out;
  ASSERT_TRUE(table->Read({7, 8}, false, &out).ok());
  table->EndSample();
  inner->asked.clear();
  ASSERT_TRUE(table->Read({7}, true, &out).ok());  // (7 + 1) % 5 != 0: due only for its name
  EXPECT_EQ(inner->asked, (std::vector<int>{7}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].comm, "comm7");
  table->EndSample();
  inner->asked.clear();
  ASSERT_TRUE(table->Read({7}, true, &out).ok());
  EXPECT_TRUE(inner->asked.empty());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].comm, "comm7");
  table->EndSample();
  // 8, not listed for two samples, was forgotten; listed again after it exited, it is read anew
  // and nothing stands in for it.
  inner->resident.erase(8);
  inner->asked.clear();
  ASSERT_TRUE(table->Read({8}, false, &out).ok());
  EXPECT_EQ(inner->asked, (std::vector<int>{8}));
  EXPECT_TRUE(out.empty());
}

// every ≤ 1 is the inner table itself.
TEST(ProcessTable, StaggeredEveryOneIsTheInnerTable) {
  auto owned = std::make_unique<RecordingTable>();
  ProcessTable* inner = owned.get();
  EXPECT_EQ(NewStaggeredProcessTable(std::move(owned), 1).get(), inner);
}

}  // namespace
}  // namespace podmeter
