#include "collectors/watchers/oom_watcher.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <set>

#include "collectors/base/file_util.h"
#include "collectors/readers/memory_stat.h"

namespace podmeter {
OomWatcher::OomWatcher() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
    epoll_fd_ = wake_fd_ = -1;
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  thread_ = std::thread([this] { Run(); });
}

OomWatcher::~OomWatcher() {
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    ssize_t ignored = ::write(wake_fd_, &one, sizeof(one));
    (void)ignored;
  }
  if (thread_.joinable()) thread_.join();
  for (auto& [key, w] : watches_) Release(w);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void OomWatcher::Release(Registration& w) {
  if (w.event_fd >= 0) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, w.event_fd, nullptr);
    ::close(w.event_fd);
  }
  if (w.control_fd >= 0) ::close(w.control_fd);
  w.event_fd = w.control_fd = -1;
}

void OomWatcher::Refresh(const std::string& key, const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return;  // removed: the count taken at the OOM event stays
  auto kills = ParseOomControl(*text);
  if (!kills.ok()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = watches_.find(key);
  if (it == watches_.end()) return;
  Reading& r = readings_[key];
  r.pod_uid = it->second.pod_uid;
  r.container_id = key;
  if (*kills > r.oom_kills) r.oom_kills = *kills;
}

OomWatcher::Registration OomWatcher::Register(const Container& c, size_t* failures) {
  Registration w;
  w.pod_uid = c.pod_uid;
  w.container_id = c.container_id;
  w.oom_control_path = JoinPath(c.memory_dir, "memory.oom_control");
  // Only on a real cgroup filesystem: a fixture tree's cgroup.event_control is a plain file.
  struct statfs fs {};
  bool cgroupfs = ::statfs(c.memory_dir.c_str(), &fs) == 0 && fs.f_type == CGROUP_SUPER_MAGIC;
  if (epoll_fd_ < 0 || !cgroupfs) return w;
  w.control_fd = ::open(w.oom_control_path.c_str(), O_RDONLY | O_CLOEXEC);
  w.event_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  std::string reg;
  if (w.control_fd >= 0 && w.event_fd >= 0) {
    reg = std::to_string(w.event_fd) + " " + std::to_string(w.control_fd);
  }
  std::string ctl = JoinPath(c.memory_dir, "cgroup.event_control");
  int fd = reg.empty() ? -1 : ::open(ctl.c_str(), O_WRONLY | O_CLOEXEC);
  bool ok = fd >= 0 && ::write(fd, reg.data(), reg.size()) == static_cast<ssize_t>(reg.size());
  if (fd >= 0) ::close(fd);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = w.event_fd;
  if (!ok || ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, w.event_fd, &ev) != 0) {
    ++*failures;
    Release(w);
  }
  return w;
}

size_t OomWatcher::Watch(const std::vector<Container>& living) {
  size_t failures = 0;
  std::set<std::string> alive;
  for (const Container& c : living) {
    alive.insert(c.container_id);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (watches_.count(c.container_id)) continue;
    }
    Registration w = Register(c, &failures);
    std::lock_guard<std::mutex> lock(mutex_);
    watches_.emplace(c.container_id, w);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = watches_.begin(); it != watches_.end();) {
    if (alive.count(it->first)) {
      ++it;
      continue;
    }
    Release(it->second);
    it = watches_.erase(it);
  }
  return failures;
}

std::vector<OomWatcher::Reading> OomWatcher::TakeReadings() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Reading> out;
  for (auto& [id, r] : readings_) out.push_back(std::move(r));
  readings_.clear();
  return out;
}

void OomWatcher::Run() {
  // The kernel signals the eventfd when the cgroup goes under OOM, just before the OOM killer
  // picks and counts its victim; so each signalled container is re-read every 2 ms for a while
  // (the runtime removes the cgroup soon after the kill).
  constexpr auto kRecheckFor = std::chrono::milliseconds(250);
  std::map<std::string, std::chrono::steady_clock::time_point> rechecks;  // key → until
  epoll_event events[16];
  while (true) {
    int n = ::epoll_wait(epoll_fd_, events, 16, rechecks.empty() ? -1 : 2);
    if (n < 0 && errno != EINTR) return;
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == wake_fd_) return;
      uint64_t count = 0;
      ssize_t ignored = ::read(fd, &count, sizeof(count));
      (void)ignored;
      std::lock_guard<std::mutex> lock(mutex_);
      for (const auto& [k, w] : watches_) {
        if (w.event_fd == fd) rechecks[k] = std::chrono::steady_clock::now() + kRecheckFor;
      }
    }
    auto now = std::chrono::steady_clock::now();
    for (auto it = rechecks.begin(); it != rechecks.end();) {
      std::string path;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        auto w = watches_.find(it->first);
        if (w != watches_.end()) path = w->second.oom_control_path;
      }
      if (path.empty() || now > it->second) {
        it = rechecks.erase(it);
        continue;
      }
      Refresh(it->first, path);
      ++it;
    }
  }
}

}  // namespace podmeter
