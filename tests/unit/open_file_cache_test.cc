// The kept-open file cache and the slow-timer cache of limits, on real temp files and the real
// /proc: a file rewritten, replaced, removed (as a cgroup is), a read that fails, a process that
// exits, the descriptors of files no longer read closed.
#include "collectors/base/open_file_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "collectors/base/file_util.h"
#include "tests/unit/test_support.h"

namespace podmeter {
namespace {

namespace fs = std::filesystem;

size_t OpenFds() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// The descriptor of this process open on `path`, or -1.
int FdOf(const fs::path& path) {
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (fs::read_symlink(e.path(), ec) == path) return std::stoi(e.path().filename().string());
  }
  return -1;
}

class OpenFileCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("podmeter-file-cache-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "cg");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }
  std::string Path(const char* name) { return (dir_ / "cg" / name).string(); }

  fs::path dir_;
};

TEST_F(OpenFileCacheTest, ReadsThroughOneDescriptorAndSeesInPlaceRewrites) {
  Write(Path("memory.stat"), "rss 1\n");
  OpenFileCache cache;
  const size_t fds = OpenFds();
  std::string text;
  ASSERT_TRUE(cache.Read(Path("memory.stat"), &text).ok());
  EXPECT_EQ(text, "rss 1\n");
  Write(Path("memory.stat"), "rss 22222\n");  // truncated and rewritten: the same inode
  ASSERT_TRUE(cache.Read(Path("memory.stat"), &text).ok());
  EXPECT_EQ(text, "rss 22222\n");
  Write(Path("memory.stat"), "r\n");  // shorter than before: nothing of the old content left
  ASSERT_TRUE(cache.Read(Path("memory.stat"), &text).ok());
  EXPECT_EQ(text, "r\n");
  EXPECT_EQ(cache.opens(), 1u);
  EXPECT_EQ(cache.open_files(), 1u);
  EXPECT_EQ(OpenFds(), fds + 1);
}

TEST_F(OpenFileCacheTest, ReadsAFileLargerThanItsBuffer) {
  std::string big;
  for (int i = 0; i < 20000; ++i) big += std::to_string(100000 + i) + "\n";  // 140 kB
  Write(Path("cgroup.procs"), big);
  OpenFileCache cache;
  std::string text;
  ASSERT_TRUE(cache.Read(Path("cgroup.procs"), &text).ok());
  EXPECT_EQ(text, big);
  ASSERT_TRUE(cache.Read(Path("cgroup.procs"), &text).ok());
  EXPECT_EQ(text, big);
}

// A seq_file longer than a page comes in reads of about a page: a short read is not its end. The
// file: the memory map of a child that made 256 one-page mappings of alternating protection (so
// none merge: ~20 kB, five pages) and then only waits, so its map holds still.
TEST_F(OpenFileCacheTest, ReadsASeqFileOfSeveralPagesWhole) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    for (int i = 0; i < 256; ++i) {
      int prot = i % 2 == 0 ? PROT_READ : PROT_READ | PROT_WRITE;
      if (::mmap(nullptr, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) _exit(1);
    }
    char c = 'r';
    if (::write(ready[1], &c, 1) != 1) _exit(1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1) << "the child did not make its mappings";
  ::close(ready[0]);
  const std::string maps = "/proc/" + std::to_string(child) + "/maps";
  auto before = ReadFileToString(maps);
  OpenFileCache cache;
  std::string first, second;
  Status s1 = cache.Read(maps, &first);
  Status s2 = cache.Read(maps, &second);  // through the kept descriptor
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_TRUE(before.ok());
  ASSERT_GT(before->size(), 4 * 4096u);
  ASSERT_TRUE(s1.ok()) << s1.message();
  ASSERT_TRUE(s2.ok()) << s2.message();
  EXPECT_EQ(first, *before);
  EXPECT_EQ(second, *before);
  EXPECT_EQ(cache.opens(), 1u);
}

// --kept-open-files: past the budget a file is opened, read and closed each time, and still read
// right; 0 keeps none. The budget is process-wide, so it is restored for the other tests.
TEST_F(OpenFileCacheTest, PastTheBudgetFilesAreReadWithoutKeepingThem) {
  const size_t saved = KeptOpenBudget();
  const size_t kept_before = KeptOpenFiles();
  Write(Path("cpu.stat"), "usage_usec 1\n");
  Write(Path("memory.stat"), "anon 2\n");
  std::string text;
  {
    SetKeptOpenBudget(kept_before + 1);
    OpenFileCache cache;
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(cache.Read(Path("cpu.stat"), &text).ok());
      EXPECT_EQ(text, "usage_usec 1\n");
      ASSERT_TRUE(cache.Read(Path("memory.stat"), &text).ok());
      EXPECT_EQ(text, "anon 2\n");
    }
    EXPECT_EQ(cache.open_files(), 1u);
    EXPECT_EQ(KeptOpenFiles(), kept_before + 1);
    EXPECT_GE(FdOf(Path("cpu.stat")), 0);
    EXPECT_EQ(FdOf(Path("memory.stat")), -1);
    EXPECT_EQ(cache.opens(), 1u + 3u);  // cpu.stat once, memory.stat at every read
  }
  EXPECT_EQ(KeptOpenFiles(), kept_before);
  {
    SetKeptOpenBudget(0);
    OpenFileCache cache;
    const size_t fds = OpenFds();
    ASSERT_TRUE(cache.Read(Path("cpu.stat"), &text).ok());
    Write(Path("cpu.stat"), "usage_usec 7\n");
    ASSERT_TRUE(cache.Read(Path("cpu.stat"), &text).ok());
    EXPECT_EQ(text, "usage_usec 7\n");
    EXPECT_EQ(cache.open_files(), 0u);
    EXPECT_EQ(OpenFds(), fds);
    EXPECT_EQ(cache.opens(), 2u);
  }
  SetKeptOpenBudget(saved);
}

// cgroup v1 lists a cgroup's tasks when `cgroup.procs` is opened and a read on the same open file
// would take that list again: the cache reads it afresh each time, keeping no descriptor. A v1
// pids cgroup of the test's own (root only), a child moved in between two reads.
TEST_F(OpenFileCacheTest, AV1TaskListIsReadAfreshEachTimeThroughItsKeptDirectory) {
  const fs::path top = "/sys/fs/cgroup/pids";
  struct statfs st {};
  if (::geteuid() != 0 || ::statfs(top.c_str(), &st) != 0 ||
      static_cast<unsigned long>(st.f_type) != CGROUP_SUPER_MAGIC) {
    GTEST_SKIP() << "needs root and a cgroup v1 pids hierarchy";
  }
  const fs::path cg = top / ("podmeter-unit-" + std::to_string(::getpid()));
  ASSERT_TRUE(fs::create_directory(cg));
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    for (;;) ::pause();
  }
  OpenFileCache cache;
  const size_t fds = OpenFds();
  std::string first, second, third;
  Status s1 = cache.Read((cg / "cgroup.procs").string(), &first);
  const size_t kept_after_first = cache.open_files();
  const size_t fds_after_first = OpenFds();
  Write(cg / "cgroup.procs", std::to_string(child));
  Status s2 = cache.Read((cg / "cgroup.procs").string(), &second);
  const size_t kept = cache.open_files();
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  for (int i = 0; i < 100 && ::rmdir(cg.c_str()) != 0; ++i) ::usleep(10000);
  EXPECT_FALSE(fs::exists(cg));
  Status s3 = cache.Read((cg / "cgroup.procs").string(), &third);  // its cgroup is gone
  const size_t kept_after_gone = cache.open_files();
  ASSERT_TRUE(s1.ok()) << s1.message();
  ASSERT_TRUE(s2.ok()) << s2.message();
  EXPECT_EQ(first, "");
  EXPECT_EQ(second, std::to_string(child) + "\n");
  EXPECT_TRUE(s3.IsNotFound()) << s3.message();
  // The list itself is never kept, its directory is: one descriptor, until the cgroup goes.
  EXPECT_EQ(kept_after_first, 1u);
  EXPECT_EQ(fds_after_first, fds + 1);
  EXPECT_EQ(kept, 1u);
  EXPECT_EQ(kept_after_gone, 0u);
  EXPECT_EQ(OpenFds(), fds);
  EXPECT_EQ(cache.opens(), 4u);  // open, openat, openat that failed, open that failed
}

TEST_F(OpenFileCacheTest, AFileReplacedIsReopened) {
  Write(Path("cpu.stat"), "old\n");
  OpenFileCache cache;
  std::string text;
  ASSERT_TRUE(cache.Read(Path("cpu.stat"), &text).ok());
  Write(Path("cpu.stat.tmp"), "new\n");
  fs::rename(Path("cpu.stat.tmp"), Path("cpu.stat"));  // the old inode has no link left
  ASSERT_TRUE(cache.Read(Path("cpu.stat"), &text).ok());
  EXPECT_EQ(text, "new\n");
  EXPECT_EQ(cache.opens(), 2u);
  EXPECT_EQ(cache.open_files(), 1u);
}

TEST_F(OpenFileCacheTest, ARemovedCgroupIsNotFoundAndItsDescriptorsClosed) {
  Write(Path("memory.stat"), "rss 1\n");
  Write(Path("cpu.stat"), "usage_usec 1\n");
  OpenFileCache cache;
  const size_t fds = OpenFds();
  std::string text;
  ASSERT_TRUE(cache.Read(Path("memory.stat"), &text).ok());
  ASSERT_TRUE(cache.Read(Path("cpu.stat"), &text).ok());
  EXPECT_EQ(OpenFds(), fds + 2);
  fs::remove_all(dir_ / "cg");
  Status s = cache.Read(Path("memory.stat"), &text);
  EXPECT_TRUE(s.IsNotFound()) << s.message();
  EXPECT_EQ(cache.open_files(), 1u);  // cpu.stat's until the sweep
  cache.Sweep();                      // cpu.stat was read since the last sweep: kept
  EXPECT_EQ(cache.open_files(), 1u);
  cache.Sweep();  // not read since: closed
  EXPECT_EQ(cache.open_files(), 0u);
  EXPECT_EQ(OpenFds(), fds);
}

TEST_F(OpenFileCacheTest, SweepClosesOnlyTheFilesNotReadSinceTheLastSweep) {
  Write(Path("a"), "1\n");
  Write(Path("b"), "2\n");
  OpenFileCache cache;
  std::string text;
  ASSERT_TRUE(cache.Read(Path("a"), &text).ok());
  ASSERT_TRUE(cache.Read(Path("b"), &text).ok());
  cache.Sweep();
  ASSERT_TRUE(cache.Read(Path("a"), &text).ok());
  cache.Sweep();
  EXPECT_EQ(cache.open_files(), 1u);
  EXPECT_EQ(FdOf(Path("b")), -1);
  EXPECT_NE(FdOf(Path("a")), -1);
  ASSERT_TRUE(cache.Read(Path("b"), &text).ok());  // read again: opened again
  EXPECT_EQ(text, "2\n");
  EXPECT_EQ(cache.opens(), 3u);
}

TEST_F(OpenFileCacheTest, AReadThatFailsReopensTheFileOnce) {
  Write(Path("pids.current"), "7\n");
  OpenFileCache cache;
  std::string text;
  ASSERT_TRUE(cache.Read(Path("pids.current"), &text).ok());
  // The kept descriptor now refers to a directory: its next pread fails (EISDIR).
  const int kept = FdOf(Path("pids.current"));
  ASSERT_GE(kept, 0);
  int dir = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dir, 0);
  ASSERT_EQ(::dup2(dir, kept), kept);
  ::close(dir);
  Write(Path("pids.current"), "8\n");
  Status s = cache.Read(Path("pids.current"), &text);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(text, "8\n");
  EXPECT_EQ(cache.opens(), 2u);
  EXPECT_EQ(cache.open_files(), 1u);
}

TEST_F(OpenFileCacheTest, AReadThatFailsAgainIsTheErrorAndKeepsNoDescriptor) {
  OpenFileCache cache;
  const size_t fds = OpenFds();
  std::string text;
  Status s = cache.Read((dir_ / "cg").string(), &text);  // a directory: open works, read fails
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(s.IsNotFound());
  EXPECT_NE(s.message().find("cg"), std::string::npos) << s.message();
  EXPECT_EQ(cache.open_files(), 0u);
  EXPECT_EQ(OpenFds(), fds);
  s = cache.Read(Path("absent"), &text);
  EXPECT_TRUE(s.IsNotFound()) << s.message();
  EXPECT_EQ(cache.open_files(), 0u);
}

TEST_F(OpenFileCacheTest, AProcessThatExitsIsNotFoundThroughItsKeptDescriptor) {
  testing::Child child({"sleep", "60"});
  ASSERT_TRUE(child.started());
  const std::string stat = "/proc/" + std::to_string(child.pid()) + "/stat";
  OpenFileCache cache;
  std::string first, again;
  ASSERT_TRUE(cache.Read(stat, &first).ok());
  EXPECT_EQ(first.rfind(std::to_string(child.pid()) + " (", 0), 0u) << first;
  ASSERT_TRUE(cache.Read(stat, &again).ok());  // procfs: made afresh at offset 0
  EXPECT_EQ(again.substr(0, again.find(')')), first.substr(0, first.find(')')));
  EXPECT_EQ(cache.opens(), 1u);
  ::kill(child.pid(), SIGKILL);
  child.Wait();
  Status s = cache.Read(stat, &again);
  EXPECT_TRUE(s.IsNotFound()) << s.message();
  EXPECT_EQ(cache.open_files(), 0u);
}

TEST_F(OpenFileCacheTest, KeepingDirectoriesHoldsNoFileOpenBetweenReads) {
  testing::Child child({"sleep", "60"});
  ASSERT_TRUE(child.started());
  const fs::path dir = "/proc/" + std::to_string(child.pid());
  const size_t fds = OpenFds();
  OpenFileCache cache(OpenFileCache::Keep::kDirectories);
  std::string first, again;
  ASSERT_TRUE(cache.Read(dir.string(), "statm", &first).ok());
  ASSERT_TRUE(cache.Read(dir.string(), "statm", &again).ok());
  // "size resident shared text lib data dt": seven fields, the same process both times.
  EXPECT_EQ(std::count(first.begin(), first.end(), ' '), 6) << first;
  EXPECT_EQ(std::count(again.begin(), again.end(), ' '), 6) << again;
  // Between reads only the process's directory is open (O_PATH), not its statm.
  EXPECT_EQ(cache.open_files(), 1u);
  EXPECT_EQ(OpenFds(), fds + 1);
  EXPECT_GE(FdOf(dir), 0);
  EXPECT_EQ(FdOf(dir / "statm"), -1);
  EXPECT_EQ(cache.opens(), 2u);  // the path's open, then one openat in the directory
  ::kill(child.pid(), SIGKILL);
  child.Wait();
  Status s = cache.Read(dir.string(), "statm", &again);
  EXPECT_TRUE(s.IsNotFound()) << s.message();
  EXPECT_EQ(cache.open_files(), 0u);
  EXPECT_EQ(OpenFds(), fds);
}

TEST_F(OpenFileCacheTest, KeepingDirectoriesReadsAFileReplacedSinceThroughItsName) {
  Write(Path("statm"), "old\n");
  OpenFileCache cache(OpenFileCache::Keep::kDirectories);
  std::string text;
  ASSERT_TRUE(cache.Read(Path("statm"), &text).ok());
  EXPECT_EQ(text, "old\n");
  Write(Path("statm.tmp"), "new\n");
  fs::rename(Path("statm.tmp"), Path("statm"));
  ASSERT_TRUE(cache.Read(Path("statm"), &text).ok());
  EXPECT_EQ(text, "new\n");
  EXPECT_EQ(cache.open_files(), 1u);
  EXPECT_EQ(FdOf(Path("statm")), -1);
  cache.Sweep();  // read since the last sweep: kept
  EXPECT_EQ(cache.open_files(), 1u);
  cache.Sweep();  // not read since: closed
  EXPECT_EQ(cache.open_files(), 0u);
}

TEST_F(OpenFileCacheTest, AnAbsentOptionalFileIsKeptAbsentUntilTheRefresh) {
  std::chrono::steady_clock::time_point now{};
  OpenFileCache cache([&now] { return now; });
  std::string text = "stale";
  ASSERT_TRUE(cache.ReadOptional((dir_ / "cg").string(), "cpu.pressure", &text).ok());
  EXPECT_EQ(text, "");  // PSI off, or the controller not enabled here
  EXPECT_EQ(cache.opens(), 1u);
  Write(Path("cpu.pressure"), "some avg10=0.00 avg60=0.00 avg300=0.00 total=7\n");
  now += kLimitRefresh - std::chrono::seconds(1);
  ASSERT_TRUE(cache.ReadOptional((dir_ / "cg").string(), "cpu.pressure", &text).ok());
  EXPECT_EQ(text, "");  // not looked for again yet
  EXPECT_EQ(cache.opens(), 1u);
  cache.Sweep();
  EXPECT_EQ(cache.open_files(), 0u);
  now += std::chrono::seconds(1);
  ASSERT_TRUE(cache.ReadOptional((dir_ / "cg").string(), "cpu.pressure", &text).ok());
  EXPECT_EQ(text, "some avg10=0.00 avg60=0.00 avg300=0.00 total=7\n");
  EXPECT_EQ(cache.opens(), 2u);
  EXPECT_EQ(cache.open_files(), 1u);
  fs::remove_all(dir_ / "cg");
  Status s = cache.ReadOptional((dir_ / "cg").string(), "cpu.pressure", &text);
  EXPECT_TRUE(s.IsNotFound()) << s.message();  // the cgroup itself is gone
  EXPECT_EQ(cache.open_files(), 0u);
}

class RarelyChangingFilesTest : public OpenFileCacheTest {
 protected:
  std::chrono::steady_clock::time_point now_{};
  RarelyChangingFiles files_{std::chrono::seconds(10), [this] { return now_; }};
  std::string dir() { return (dir_ / "cg").string(); }
};

TEST_F(RarelyChangingFilesTest, ReadEachTimeWhileNewThenOnTheTimer) {
  Write(Path("memory.max"), "max\n");
  std::string text;
  ASSERT_TRUE(files_.Read(dir(), "memory.max", false, &text).ok());  // at 0 s
  EXPECT_EQ(text, "max\n");
  // The runtime writes the limit just after making the cgroup: still read while new.
  Write(Path("memory.max"), "1048576\n");
  now_ += std::chrono::seconds(9);
  ASSERT_TRUE(files_.Read(dir(), "memory.max", false, &text).ok());  // at 9 s
  EXPECT_EQ(text, "1048576\n");
  EXPECT_EQ(files_.reads(), 2u);
  // No longer new: kept for 10 s from the last read.
  Write(Path("memory.max"), "2097152\n");
  now_ += std::chrono::seconds(2);
  ASSERT_TRUE(files_.Read(dir(), "memory.max", false, &text).ok());  // at 11 s
  EXPECT_EQ(text, "1048576\n");
  now_ += std::chrono::seconds(7);
  ASSERT_TRUE(files_.Read(dir(), "memory.max", false, &text).ok());  // at 18 s
  EXPECT_EQ(text, "1048576\n");
  EXPECT_EQ(files_.reads(), 2u);
  now_ += std::chrono::seconds(1);
  ASSERT_TRUE(files_.Read(dir(), "memory.max", false, &text).ok());  // at 19 s: read again
  EXPECT_EQ(text, "2097152\n");
  EXPECT_EQ(files_.reads(), 3u);
}

TEST_F(RarelyChangingFilesTest, OptionalFilesAndGoneCgroups) {
  std::string text = "stale";
  ASSERT_TRUE(files_.Read(dir(), "cpu.max", true, &text).ok());
  EXPECT_EQ(text, "");  // the controller is not enabled here
  Status s = files_.Read(dir(), "cpu.max", false, &text);
  EXPECT_TRUE(s.IsNotFound()) << s.message();
  fs::remove_all(dir_ / "cg");
  s = files_.Read(dir(), "cpu.max", true, &text);
  EXPECT_TRUE(s.IsNotFound()) << s.message();  // the cgroup itself is gone
  EXPECT_EQ(files_.size(), 0u);
}

TEST_F(RarelyChangingFilesTest, SweepForgetsWhatWasNotAskedFor) {
  Write(Path("a"), "1\n");
  Write(Path("b"), "2\n");
  std::string text;
  ASSERT_TRUE(files_.Read(dir(), "a", false, &text).ok());
  ASSERT_TRUE(files_.Read(dir(), "b", false, &text).ok());
  files_.Sweep();
  ASSERT_TRUE(files_.Read(dir(), "a", false, &text).ok());
  files_.Sweep();
  EXPECT_EQ(files_.size(), 1u);
}

}  // namespace
}  // namespace podmeter
