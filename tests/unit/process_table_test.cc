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

}  // namespace
}  // namespace podmeter
