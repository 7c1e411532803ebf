// OomWatcher's thread on plain files: memory.oom_control in a temp directory and an eventfd the
// test signals itself (a fake registrar stands in for cgroup.event_control); and OomAccounting
// counting a container no sample ever listed.
#include "collectors/watchers/oom_watcher.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>

#include "test_support.h"
#include "tracking/oom_accounting.h"

namespace podmeter {
namespace {

using std::chrono::milliseconds;

// Records the eventfd each directory was registered with; fails where told to.
struct FakeRegistrar {
  std::mutex mu;
  std::map<std::string, int> fds;
  Status result = Status::Ok();
  bool signal_at_once = false;  // the OOM happens while the registration is made

  OomWatcher::Registrar Bind() {
    return [this](const std::string& dir, int fd) {
      std::lock_guard<std::mutex> lock(mu);
      if (!result.ok()) return result;
      fds[dir] = fd;
      if (signal_at_once) ::eventfd_write(fd, 1);
      return Status::Ok();
    };
  }
  int fd(const std::string& dir) {
    std::lock_guard<std::mutex> lock(mu);
    return fds.at(dir);
  }
};

void WriteOomControl(const std::string& dir, uint64_t kills) {
  std::ofstream(dir + "/memory.oom_control")
      << "oom_kill_disable 0\nunder_oom 0\noom_kill " << kills << "\n";
}

std::string MakeContainerDir(const testing::TempDir& tmp, const std::string& name, uint64_t kills) {
  std::string dir = tmp / name;
  std::filesystem::create_directory(dir);
  WriteOomControl(dir, kills);
  return dir;
}

// Takes readings until one has `kills` (or 10 s pass); returns every reading taken.
std::vector<OomWatcher::Reading> WaitForReading(OomWatcher& w, uint64_t kills) {
  std::vector<OomWatcher::Reading> all;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    for (auto& r : w.TakeReadings()) all.push_back(r);
    for (const auto& r : all) {
      if (r.oom_kills == kills) return all;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  return all;
}

OomWatcher::Options WithRegistrar(FakeRegistrar* reg) {
  OomWatcher::Options o;
  o.registrar = reg->Bind();
  o.poll_interval = milliseconds(10);
  return o;
}

TEST(OomWatcher, ANewContainerKilledBeforeAnySampleCountsAfterItsCgroupIsGone) {
  testing::TempDir tmp;
  FakeRegistrar reg;
  OomWatcher w(WithRegistrar(&reg));
  std::string dir = MakeContainerDir(tmp, "c1", 0);
  ASSERT_TRUE(w.WatchNew({"pod", "c1", dir}));
  EXPECT_EQ(w.Watch({}), 0u);  // a sample that ran before the cgroup appeared: still watched
  EXPECT_EQ(w.watched(), 1u);
  WriteOomControl(dir, 1);
  ::eventfd_write(reg.fd(dir), 1);  // the kernel's OOM notification
  auto readings = WaitForReading(w, 1);
  ASSERT_EQ(readings.size(), 1u);
  EXPECT_EQ(readings[0].pod_uid, "pod");
  EXPECT_EQ(readings[0].container_id, "c1");
  EXPECT_EQ(readings[0].source, OomWatcher::Source::kEventfd);
  std::filesystem::remove_all(dir);                // the runtime removes the cgroup
  std::this_thread::sleep_for(milliseconds(300));  // past the re-reads after the notification
  w.Watch({});
  EXPECT_EQ(w.watched(), 0u);
}

// A watch thread that runs only after the re-read window has passed (starved on a busy
// machine; here a window of 0) still reads the file once after each notification.
TEST(OomWatcher, ANotificationIsReadEvenAfterItsRecheckWindow) {
  testing::TempDir tmp;
  FakeRegistrar reg;
  OomWatcher::Options o = WithRegistrar(&reg);
  o.recheck_for = milliseconds(0);
  OomWatcher w(o);
  std::string dir = MakeContainerDir(tmp, "c1", 0);
  ASSERT_TRUE(w.WatchNew({"pod", "c1", dir}));
  WriteOomControl(dir, 1);
  ::eventfd_write(reg.fd(dir), 1);
  auto readings = WaitForReading(w, 1);
  ASSERT_EQ(readings.size(), 1u);
  EXPECT_EQ(readings[0].oom_kills, 1u);
  EXPECT_EQ(readings[0].source, OomWatcher::Source::kEventfd);
}

// The kernel signals while the registration is made, and counts the kill only after the read at
// the watch's start (which sees 0): the notification's re-reads find it.
TEST(OomWatcher, ANotificationDuringRegistrationIsNotLost) {
  testing::TempDir tmp;
  FakeRegistrar reg;
  reg.signal_at_once = true;
  OomWatcher w(WithRegistrar(&reg));
  std::string dir = MakeContainerDir(tmp, "c1", 0);
  ASSERT_EQ(w.Watch({{"pod", "c1", dir}}), 0u);
  WriteOomControl(dir, 1);
  auto readings = WaitForReading(w, 1);
  ASSERT_EQ(readings.size(), 1u);
  EXPECT_EQ(readings[0].oom_kills, 1u);
  EXPECT_EQ(readings[0].source, OomWatcher::Source::kEventfd);
}

// A kill from before the watch (the container was killed before a sample or the start-up
// watcher saw it) is read as its eventfd is registered, before Watch returns.
TEST(OomWatcher, AKillFromBeforeTheWatchIsReadAsItStarts) {
  testing::TempDir tmp;
  FakeRegistrar reg;
  OomWatcher w(WithRegistrar(&reg));
  std::string sampled = MakeContainerDir(tmp, "c1", 2);
  std::string appeared = MakeContainerDir(tmp, "c2", 1);
  ASSERT_TRUE(w.WatchNew({"pod", "c2", appeared}));
  ASSERT_EQ(w.Watch({{"pod", "c1", sampled}}), 0u);
  std::map<std::string, std::pair<uint64_t, OomWatcher::Source>> got;
  for (const auto& r : w.TakeReadings()) got[r.container_id] = {r.oom_kills, r.source};
  EXPECT_EQ(got.size(), 2u);
  EXPECT_EQ(got["c1"], std::make_pair(uint64_t{2}, OomWatcher::Source::kWatchStart));
  EXPECT_EQ(got["c2"], std::make_pair(uint64_t{1}, OomWatcher::Source::kWatchStart));
  EXPECT_TRUE(w.TakeReadings().empty());  // read once, not each sample
}

// The watch thread is held after epoll_wait returned c1's notification; meanwhile c1 is released
// and its fd number reused by a pipe. The watcher must not read the pipe (it used to read the
// event's fd number, whatever it had become).
TEST(OomWatcher, AReleasedRegistrationsReusedFdIsNeverRead) {
  testing::TempDir tmp;
  FakeRegistrar reg;
  std::atomic<bool> hold{false};
  std::atomic<bool> held{false};
  std::atomic<bool> go{false};
  OomWatcher::Options o = WithRegistrar(&reg);
  o.after_wait = [&] {
    if (!hold) return;
    held = true;
    while (!go) std::this_thread::sleep_for(milliseconds(1));
  };
  OomWatcher w(o);
  std::string dir = MakeContainerDir(tmp, "c1", 0);
  ASSERT_EQ(w.Watch({{"pod", "c1", dir}}), 0u);
  int old_fd = reg.fd(dir);
  hold = true;
  ::eventfd_write(old_fd, 1);
  for (int i = 0; i < 10000 && !held; ++i) std::this_thread::sleep_for(milliseconds(1));
  ASSERT_TRUE(held);
  hold = false;
  std::filesystem::remove_all(dir);
  w.Watch({});  // released: its eventfd is closed
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  ASSERT_EQ(::dup2(pipe_fds[0], old_fd), old_fd);  // the closed number now reads this pipe
  ASSERT_EQ(::write(pipe_fds[1], "12345678", 8), 8);
  go = true;
  std::this_thread::sleep_for(milliseconds(100));
  char buf[16];
  ::fcntl(old_fd, F_SETFL, O_NONBLOCK);
  EXPECT_EQ(::read(old_fd, buf, sizeof(buf)), 8) << "the watcher read another file's data";
  for (int fd : {old_fd, pipe_fds[0], pipe_fds[1]}) ::close(fd);
}

TEST(OomWatcher, WithoutAnEventfdTheContainerIsPolled) {
  testing::TempDir tmp;
  FakeRegistrar reg;
  reg.result = Status::PermissionDenied("cgroup.event_control: Permission denied");
  OomWatcher w(WithRegistrar(&reg));
  std::string dir = MakeContainerDir(tmp, "c1", 0);
  EXPECT_FALSE(w.WatchNew({"pod", "c1", dir}));
  EXPECT_EQ(w.Watch({{"pod", "c1", dir}}), 1u);  // counted once
  EXPECT_EQ(w.Watch({{"pod", "c1", dir}}), 0u);
  WriteOomControl(dir, 2);
  auto readings = WaitForReading(w, 2);
  ASSERT_FALSE(readings.empty());
  EXPECT_EQ(readings.back().oom_kills, 2u);
  EXPECT_EQ(readings.back().source, OomWatcher::Source::kPoll);
}

// The global OOM killer (the node out of memory) counts its victim in the container's
// memory.oom_control but notifies no eventfd: when the machine's count in /proc/vmstat moves,
// every container is read at the next sample; while it stays, none is.
TEST(OomWatcher, AGlobalOomKillIsReadWhenTheMachinesCountMoves) {
  testing::TempDir tmp;
  FakeRegistrar reg;
  OomWatcher::Options o = WithRegistrar(&reg);
  o.vmstat_path = tmp / "vmstat";
  auto write_vmstat = [&](int kills) {
    std::ofstream(o.vmstat_path) << "pgfault 12345\noom_kill " << kills << "\nthp_split_pud 0\n";
  };
  write_vmstat(7);  // kills before podmeter started
  OomWatcher w(o);
  std::string dir = MakeContainerDir(tmp, "c1", 0);
  ASSERT_EQ(w.Watch({{"pod", "c1", dir}}), 0u);
  EXPECT_TRUE(w.TakeReadings().empty());
  WriteOomControl(dir, 1);                // killed by the global OOM killer: no notification
  EXPECT_TRUE(w.TakeReadings().empty());  // the machine's count has not moved yet
  write_vmstat(8);
  auto readings = w.TakeReadings();
  ASSERT_EQ(readings.size(), 1u);
  EXPECT_EQ(readings[0].oom_kills, 1u);
  EXPECT_EQ(readings[0].source, OomWatcher::Source::kSample);
  EXPECT_EQ(reg.fds.size(), 1u);  // it was watched by eventfd all along
}

TEST(OomWatcher, NothingToWatchIsNoFailure) {
  testing::TempDir tmp;
  FakeRegistrar reg;
  reg.result = Status::NotFound("not a cgroup v1 filesystem");
  OomWatcher w(WithRegistrar(&reg));
  std::string dir = MakeContainerDir(tmp, "c1", 3);
  EXPECT_EQ(w.Watch({{"pod", "c1", dir}}), 0u);
  std::this_thread::sleep_for(milliseconds(50));
  // Not polled: read at each sample, on the sampler's thread.
  auto readings = w.TakeReadings();
  ASSERT_EQ(readings.size(), 1u);
  EXPECT_EQ(readings[0].oom_kills, 3u);
  EXPECT_EQ(readings[0].source, OomWatcher::Source::kSample);
  WriteOomControl(dir, 4);
  readings = w.TakeReadings();
  ASSERT_EQ(readings.size(), 1u);
  EXPECT_EQ(readings[0].oom_kills, 4u);
}

TEST(OomAccounting, V1CountsAContainerNoSampleListedAndSaysWhichPathSawIt) {
  testing::TempDir tmp;
  FakeRegistrar reg;
  // epoll_wait's returns. Nothing else wakes the thread here (no polled container, no re-read
  // before the notification): the first is the notification, which sets the re-reads going; the
  // second comes after the first re-read (recheck_every) read memory.oom_control.
  std::atomic<int> waits{0};
  OomWatcher::Options o = WithRegistrar(&reg);
  o.after_wait = [&] { ++waits; };
  auto watcher = std::make_unique<OomWatcher>(o);
  OomWatcher* raw = watcher.get();
  OomAccounting oom(std::move(watcher));
  CgroupMounts v1;
  v1.version = CgroupMounts::Version::kV1;
  std::string dir = MakeContainerDir(tmp, "c1", 0);
  ASSERT_TRUE(raw->WatchNew({"pod", "c1", dir}));  // as its cgroup appears
  WriteOomControl(dir, 1);
  ::eventfd_write(reg.fd(dir), 1);
  ASSERT_TRUE(testing::WaitUntil([&] { return waits >= 2; }, std::chrono::seconds(10)));
  std::filesystem::remove_all(dir);
  std::this_thread::sleep_for(milliseconds(300));
  oom.Observe({}, v1);  // the first sample after: neither the container nor its pod is there
  EXPECT_EQ(oom.totals().at("pod"), 1u);
  EXPECT_EQ(oom.counted_by_source().at("eventfd"), 1u);
  EXPECT_EQ(oom.counted_by_source().at("sample"), 0u);
  EXPECT_EQ(oom.counted_by_source().at("poll"), 0u);
  oom.Observe({}, v1);
  EXPECT_EQ(oom.totals().at("pod"), 1u);  // counted once
  EXPECT_EQ(oom.counted_by_source().at("eventfd"), 1u);
}

}  // namespace
}  // namespace podmeter
