#include "collectors/watchers/startup_watcher.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "collectors/watchers/container_process.h"
#include "collectors/watchers/exec_history.h"
#include "tests/unit/test_support.h"

namespace podmeter {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST(ParseListeningInodes, OnlyListenState) {
  const char* tcp =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
      "inode\n"
      "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
      "66357 1 0000000077148f77 100 0 0 10 0\n"
      "   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 "
      "66358 1 0000000077148f77 20 4 30 10 -1\n"
      "   2: garbage\n";
  EXPECT_EQ(ParseListeningInodes(tcp), std::vector<uint64_t>{66357});
  EXPECT_TRUE(ParseListeningInodes("").empty());
}

TEST(IsRuntimeBootstrap, RuncStagesItsBinaryAndItsMemfdCopyButNotTheApplication) {
  EXPECT_TRUE(IsRuntimeBootstrap("runc:[0:PARENT]", ""));
  EXPECT_TRUE(IsRuntimeBootstrap("runc:[1:CHILD]", "/usr/sbin/runc"));
  EXPECT_TRUE(IsRuntimeBootstrap("runc:[2:INIT]", "/memfd:runc_cloned:/proc/self/exe (deleted)"));
  // Right after runc's re-exec of its sealed copy, before it names itself.
  EXPECT_TRUE(IsRuntimeBootstrap("3", "/memfd:runc_cloned:/proc/self/exe (deleted)"));
  EXPECT_TRUE(IsRuntimeBootstrap("exe", "/usr/sbin/runc"));
  EXPECT_TRUE(IsRuntimeBootstrap("exe", "/usr/bin/runc (deleted)"));
  EXPECT_TRUE(IsRuntimeBootstrap("crun", "/usr/bin/crun"));
  EXPECT_FALSE(IsRuntimeBootstrap("refserver", "/refserver"));
  EXPECT_FALSE(IsRuntimeBootstrap("python3.11", ""));  // exe unreadable: the name decides
  EXPECT_FALSE(IsRuntimeBootstrap("runcible", "/opt/runcible/runcible"));
}

TEST(IsSandboxPause, OnlyThePauseProcess) {
  EXPECT_TRUE(IsSandboxPause("pause"));
  EXPECT_FALSE(IsSandboxPause("paused"));
  EXPECT_FALSE(IsSandboxPause("refserver"));
}

TEST(ParseProcStat, ParentAndStartTimeAfterACommWithSpacesAndParentheses) {
  auto s = ParseProcStat(
      "4242 (a (weird) name) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 "
      "1000000 100 18446744073709551615\n");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->ppid, 17);
  EXPECT_EQ(s->start_ticks, 98765u);
  EXPECT_FALSE(ParseProcStat("4242 (short) S 1 2 3\n"));
  EXPECT_FALSE(ParseProcStat("garbage"));
}

TEST(ExecHistory, FirstExecOfTheCurrentProcess) {
  ExecHistory h;
  h.OnExec(10, 100);  // an earlier process with pid 10
  h.OnFork(10);       // a new one
  EXPECT_FALSE(h.FirstExec(10));
  h.OnExec(10, 300);  // the entrypoint
  h.OnExec(10, 400);  // it execs again (sh -c 'exec server')
  EXPECT_EQ(h.FirstExec(10), 300);
  EXPECT_EQ(h.FirstExec(10, 350), 400);  // not before its fork
  EXPECT_FALSE(h.FirstExec(10, 500));
  h.OnExit(10);
  EXPECT_FALSE(h.FirstExec(10));
  EXPECT_EQ(h.size(), 0u);
}

TEST(ExecHistory, BoundedInProcessesAndExecsPerProcess) {
  ExecHistory h(3);
  for (int pid = 1; pid <= 5; ++pid) h.OnExec(pid, pid * 10);
  EXPECT_EQ(h.size(), 3u);
  EXPECT_FALSE(h.FirstExec(1));  // the oldest dropped first
  EXPECT_EQ(h.FirstExec(5), 50);
  for (int i = 0; i < 100; ++i) h.OnExec(5, 100 + i);
  EXPECT_EQ(h.FirstExec(5), 50);
  EXPECT_EQ(h.FirstExec(5, 51), 100);
  EXPECT_FALSE(h.FirstExec(5, 100 + ExecHistory::kMaxExecsPerProcess));
}

int64_t BootTicksNow() {
  timespec ts{};
  ::clock_gettime(CLOCK_BOOTTIME, &ts);
  return (int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec) /
         (1'000'000'000 / ::sysconf(_SC_CLK_TCK));
}

std::string ReadFileToStringForTest(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

// A kubepods tree and a /proc of invented processes: the watcher's whole input.
class FakeNode {
 public:
  FakeNode() {
    fs::create_directories(root() + "/kubepods/burstable");
    fs::create_directories(proc());
  }
  std::string root() const { return dir_ / "cgroup"; }
  std::string proc() const { return dir_ / "proc"; }
  std::string PodDir(const std::string& uid) const {
    return root() + "/kubepods/burstable/pod" + uid;
  }

  /// A process `pid` named `comm`, child of `ppid`, forked `age_ticks` clock ticks ago.
  void Process(int pid, const std::string& comm, int ppid, int64_t age_ticks) {
    std::string base = proc() + "/" + std::to_string(pid);
    WriteFile(base + "/comm", comm + "\n");
    std::string stat = std::to_string(pid) + " (" + comm + ") S " + std::to_string(ppid) + " ";
    for (int i = 0; i < 17; ++i) stat += "0 ";
    WriteFile(base + "/stat", stat + std::to_string(BootTicksNow() - age_ticks) + " 0 0\n");
    WriteFile(base + "/net/tcp", kHeader);
    fs::create_directories(base + "/fd");
  }
  /// Gives `pid` a socket listening (or not) in its network namespace.
  void Listen(int pid) {
    std::string base = proc() + "/" + std::to_string(pid);
    fs::create_symlink("socket:[5550" + std::to_string(pid) + "]", base + "/fd/3");
    WriteFile(base + "/net/tcp", std::string(kHeader) +
                                     "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 "
                                     "00:00000000 00000000     0        0 5550" +
                                     std::to_string(pid) + " 1 0 100 0 0 10 0\n");
  }
  /// A container cgroup holding `pids` (first written without them, as a runtime creates it).
  std::string Container(const std::string& uid, const std::string& id,
                        const std::vector<int>& pids) {
    std::string dir = PodDir(uid) + "/" + id;
    fs::create_directories(dir);
    std::string procs;
    for (int pid : pids) procs += std::to_string(pid) + "\n";
    WriteFile(dir + "/cgroup.procs", procs);
    return dir;
  }

 private:
  static constexpr const char* kHeader =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
      "timeout inode\n";
  testing::TempDir dir_{"startup-watcher"};
};

std::string Id(int n) {
  char id[65];
  std::snprintf(id, sizeof(id), "%064x", n);
  return id;
}
std::string Uid(int n) {
  char uid[40];
  std::snprintf(uid, sizeof(uid), "1b4e28ba-2fa1-11d2-883f-0016d3cc%04x", n);
  return uid;
}
const std::string kUid = Uid(0);

TEST(HoldsListeningSocket, ReadsOnlyTheListeningPartOfTheTable) {
  FakeNode node;
  node.Process(600, "server", 1, 0);
  node.Listen(600);
  EXPECT_TRUE(HoldsListeningSocket(node.proc(), 600));
  // The kernel lists LISTEN sockets first: on a node with many connections the reader stops at
  // the first other state (here a LISTEN line after 20,000 established ones is never reached).
  node.Process(601, "server", 1, 0);
  node.Listen(601);
  std::string path = node.proc() + "/601/net/tcp";
  std::string listening = ReadFileToStringForTest(path);
  std::string header = listening.substr(0, listening.find('\n') + 1);
  std::string text = header;
  for (int i = 0; i < 20000; ++i) {
    text +=
        "   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0    "
        "    0 7" +
        std::to_string(i) + " 1 0 20 4 30 10 -1\n";
  }
  WriteFile(path, text + listening.substr(header.size()));
  EXPECT_FALSE(HoldsListeningSocket(node.proc(), 601));
  EXPECT_FALSE(HoldsListeningSocket(node.proc(), 602));  // no such process
}

StartupWatcher::Options FakeOptions(const FakeNode& node) {
  StartupWatcher::Options o;
  o.hierarchy_root = node.root();
  o.proc_root = node.proc();
  o.use_process_connector = false;  // invented pids: the fork clock from the fake /proc
  return o;
}

template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds limit = 5000ms) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

std::vector<StartupMeasurement> WaitMeasurements(StartupWatcher& w, size_t n,
                                                 std::chrono::milliseconds limit = 5000ms) {
  std::vector<StartupMeasurement> got;
  WaitFor(
      [&] {
        for (auto& m : w.TakeFinished()) got.push_back(std::move(m));
        return got.size() >= n;
      },
      limit);
  return got;
}

TEST(StartupWatcher, MeasuresFromTheApplicationNotRuncsBootstrap) {
  FakeNode node;
  StartupWatcher w(FakeOptions(node));
  ASSERT_TRUE(w.Start().ok());
  // runc's stage 0 joined the cgroup 10 s ago (ticks: 1000); the entrypoint's process 1 s ago.
  node.Process(100, "runc:[0:PARENT]", 1, 1000);
  auto forked = std::chrono::steady_clock::now();  // 1 s after the entrypoint's fork
  node.Process(101, "refserver", 1, 100);
  fs::create_directories(node.PodDir(kUid));
  ASSERT_TRUE(WaitFor([&] { return w.stats().watches >= 4; }));
  node.Container(kUid, Id(0xa), {100, 101});
  node.Listen(101);
  auto got = WaitMeasurements(w, 1);
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - forked).count();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].pod_uid, kUid);
  EXPECT_EQ(got[0].container_id, Id(0xa));
  EXPECT_EQ(got[0].clock, StartupClock::kFork);
  ASSERT_TRUE(got[0].startup_seconds);
  // From the application's fork (1 s ago, 10 ms ticks) to when its socket was seen (before this
  // test had its figure), not from runc's (10 s ago).
  EXPECT_GE(*got[0].startup_seconds, 1.0 - 0.011);
  EXPECT_LE(*got[0].startup_seconds, 1.0 + 0.011 + waited);
  EXPECT_LT(waited, 9.0);  // else the bound above could not tell the two forks apart
  EXPECT_EQ(w.stats().measured, 1u);
}

TEST(StartupWatcher, SkipsSandboxesAndDropsRemovedContainers) {
  FakeNode node;
  StartupWatcher w(FakeOptions(node));
  ASSERT_TRUE(w.Start().ok());
  node.Process(200, "pause", 1, 10);
  fs::create_directories(node.PodDir(kUid));
  ASSERT_TRUE(WaitFor([&] { return w.stats().watches >= 4; }));
  node.Container(kUid, Id(0xb), {200});
  std::string gone = node.Container(kUid, Id(0xc), {});
  ASSERT_TRUE(WaitFor([&] { return w.stats().sandboxes_skipped == 1; }));
  fs::remove_all(gone);
  ASSERT_TRUE(WaitFor([&] { return w.stats().pending == 0; }));
  EXPECT_EQ(w.stats().vanished, 1u);
  EXPECT_TRUE(w.TakeFinished().empty());
}

TEST(StartupWatcher, AContainerThatNeverListensHasAStartButNoFigureAndStarvesNoOther) {
  FakeNode node;
  StartupWatcher::Options o = FakeOptions(node);
  // Long enough that the spinners are still pending when the server is measured on a busy machine
  // (normally about 0.1 s after they appear).
  o.timeout = 10000ms;
  StartupWatcher w(o);
  ASSERT_TRUE(w.Start().ok());
  fs::create_directories(node.PodDir(kUid));
  ASSERT_TRUE(WaitFor([&] { return w.stats().watches >= 4; }));
  for (int i = 0; i < 20; ++i) {  // twenty spinners, pending for the whole timeout
    node.Process(300 + i, "spin", 1, 0);
    node.Container(kUid, Id(0x100 + i), {300 + i});
  }
  node.Process(400, "server", 1, 0);
  node.Container(kUid, Id(0xfff), {400});
  std::this_thread::sleep_for(100ms);
  node.Listen(400);
  // The server's figure comes while the spinners are pending.
  auto first = WaitMeasurements(w, 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].container_id, Id(0xfff));
  EXPECT_TRUE(WaitFor([&] { return w.stats().pending == 20; }, 5000ms)) << w.stats().pending;
  auto rest = WaitMeasurements(w, 20, o.timeout + 10000ms);
  ASSERT_EQ(rest.size(), 20u);
  for (const StartupMeasurement& m : rest) {
    EXPECT_FALSE(m.startup_seconds) << m.container_id;
    EXPECT_GT(m.start_unix_seconds, 1.6e9) << m.container_id;  // its start is still known
  }
  StartupWatcherStats s = w.stats();
  EXPECT_EQ(s.never_listened, 20u);
  EXPECT_EQ(s.pending, 0u);
  // Backed off: each pending container polled every 1/64 of its age, at least 1 ms and at most
  // 100 ms apart: 64 polls in its first 64 ms, 64.5 × ln(6.4 s / 64 ms) ≈ 297 up to 6.4 s, then
  // one every 100 ms (36 up to the 10 s timeout): about 400, where a 1 ms busy-poll makes 10,000.
  // A loaded machine only polls less often.
  EXPECT_LT(s.checks, 21u * 440u) << s.checks;
}

TEST(StartupWatcher, WatchesOfRemovedPodsAreGone) {
  FakeNode node;
  StartupWatcher w(FakeOptions(node));
  ASSERT_TRUE(w.Start().ok());
  size_t base = w.stats().watches;
  for (int i = 0; i < 10; ++i) fs::create_directories(node.PodDir(Uid(i + 1)));
  ASSERT_TRUE(WaitFor([&] { return w.stats().watches == base + 10; })) << w.stats().watches;
  for (int i = 0; i < 10; ++i) fs::remove(node.PodDir(Uid(i + 1)));
  ASSERT_TRUE(WaitFor([&] { return w.stats().watches == base; })) << w.stats().watches;
}

// cgroupfs keeps a removed cgroup directory's inode, so the kernel never drops the watch
// (IN_IGNORED) at rmdir: the churn test ended with one watch per pod ever created (1,010 after
// 1,000 pods), on the way to fs.inotify.max_user_watches. An open fd on each directory keeps its
// inode the same way here.
TEST(StartupWatcher, WatchesOfRemovedPodsAreGoneWhenTheKernelKeepsThem) {
  FakeNode node;
  StartupWatcher w(FakeOptions(node));
  ASSERT_TRUE(w.Start().ok());
  size_t base = w.stats().watches;
  std::vector<int> held;
  for (int i = 0; i < 10; ++i) {
    fs::create_directories(node.PodDir(Uid(i + 1)));
    held.push_back(::open(node.PodDir(Uid(i + 1)).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  ASSERT_TRUE(WaitFor([&] { return w.stats().watches == base + 10; })) << w.stats().watches;
  for (int i = 0; i < 10; ++i) fs::remove(node.PodDir(Uid(i + 1)));
  EXPECT_TRUE(WaitFor([&] { return w.stats().watches == base; }, 3000ms)) << w.stats().watches;
  for (int fd : held) ::close(fd);
}

}  // namespace
}  // namespace podmeter
