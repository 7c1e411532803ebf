#include "collectors/watchers/oom_watcher.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "collectors/base/file_util.h"
#include "collectors/readers/memory_stat.h"

namespace podmeter {
namespace {

constexpr uint64_t kWakeToken = 0;

// /proc/vmstat's oom_kill (kernel ≥ 4.13); none when unreadable or absent.
std::optional<uint64_t> ReadGlobalOomKills(const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return std::nullopt;
  for (std::string_view line : SplitLines(*text)) {
    constexpr std::string_view kKey = "oom_kill ";
    uint64_t kills = 0;
    if (line.substr(0, kKey.size()) == kKey && ParseUint64(line.substr(kKey.size()), &kills)) {
      return kills;
    }
  }
  return std::nullopt;
}

int MillisecondsUntil(std::chrono::steady_clock::time_point t,
                      std::chrono::steady_clock::time_point now) {
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(t - now).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 60'000));
}

}  // namespace

Status OomWatcher::RegisterWithEventControl(const std::string& memory_dir, int event_fd) {
  // Only on a real cgroup filesystem: a fixture tree's cgroup.event_control is a plain file.
  struct statfs fs {};
  if (::statfs(memory_dir.c_str(), &fs) != 0) return Status::FromErrno(errno, memory_dir);
  if (fs.f_type != CGROUP_SUPER_MAGIC) {
    return Status::NotFound(memory_dir + ": not a cgroup v1 filesystem");
  }
  std::string control_path = JoinPath(memory_dir, "memory.oom_control");
  int control = ::open(control_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (control < 0) return Status::FromErrno(errno, control_path);
  // The kernel keeps the eventfd and the cgroup, not the control file: closed once written.
  std::string reg = std::to_string(event_fd) + " " + std::to_string(control);
  std::string ctl_path = JoinPath(memory_dir, "cgroup.event_control");
  int ctl = ::open(ctl_path.c_str(), O_WRONLY | O_CLOEXEC);
  Status s = Status::Ok();
  if (ctl < 0) {
    s = Status::FromErrno(errno, ctl_path);
  } else if (::write(ctl, reg.data(), reg.size()) != static_cast<ssize_t>(reg.size())) {
    s = Status::FromErrno(errno, ctl_path);
  }
  if (ctl >= 0) ::close(ctl);
  ::close(control);
  return s;
}

OomWatcher::OomWatcher(Options options) : options_(std::move(options)) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeToken;
  if (epoll_fd_ < 0 || wake_fd_ < 0 || ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
    epoll_fd_ = wake_fd_ = -1;
    return;
  }
  thread_ = std::thread([this] { Run(); });
}

OomWatcher::~OomWatcher() {
  stop_ = true;
  Nudge();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [key, w] : watches_) Release(w);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void OomWatcher::Nudge() {
  if (wake_fd_ < 0) return;
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_fd_, &one, sizeof(one));
  (void)ignored;
}

void OomWatcher::Release(Registration& w) {
  if (w.event_fd >= 0) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, w.event_fd, nullptr);
    ::close(w.event_fd);
  }
  w.event_fd = -1;
  w.polled = false;
}

// The registration is in watches_ before its eventfd is in the epoll set, and both happen under
// the lock the watch thread takes to handle an event: a notification can never arrive for a
// token not yet known (it would be read and lost).
OomWatcher::Added OomWatcher::Add(const Container& c, bool sampled) {
  auto [it, inserted] = watches_.try_emplace(c.container_id);
  Registration& w = it->second;
  w.sampled = w.sampled || sampled;
  if (!inserted) return Added::kKnown;
  w.pod_uid = c.pod_uid;
  w.memory_dir = c.memory_dir;
  w.oom_control_path = JoinPath(c.memory_dir, "memory.oom_control");
  w.token = next_token_++;
  if (epoll_fd_ < 0) {  // no watch thread: the sampler's reads only
    w.read_by_sampler = true;
    return Added::kBySampler;
  }
  int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  Status s = efd < 0 ? Status::FromErrno(errno, "eventfd") : options_.registrar(c.memory_dir, efd);
  if (s.ok()) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = w.token;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, efd, &ev) == 0) {
      w.event_fd = efd;
      return Added::kEventfd;
    }
    s = Status::FromErrno(errno, "epoll_ctl");
  }
  if (efd >= 0) ::close(efd);
  if (s.IsNotFound()) {  // not a cgroup filesystem (a fixture tree), or gone already
    w.read_by_sampler = true;
    return Added::kBySampler;
  }
  w.polled = true;
  ++failures_;
  Nudge();  // the watch thread starts polling it
  return Added::kPolled;
}

bool OomWatcher::WatchNew(const Container& c) {
  Added added;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    added = Add(c, /*sampled=*/false);
  }
  if (added == Added::kEventfd) {
    Record({c.container_id, c.pod_uid, JoinPath(c.memory_dir, "memory.oom_control"),
            Source::kWatchStart});
  }
  return added != Added::kPolled;
}

size_t OomWatcher::Watch(const std::vector<Container>& living) {
  std::set<std::string> alive;
  std::vector<Due> first_reads;
  size_t failures = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Container& c : living) {
      alive.insert(c.container_id);
      if (Add(c, /*sampled=*/true) == Added::kEventfd) {
        first_reads.push_back({c.container_id, c.pod_uid,
                               JoinPath(c.memory_dir, "memory.oom_control"), Source::kWatchStart});
      }
    }
    auto now = std::chrono::steady_clock::now();
    for (auto it = watches_.begin(); it != watches_.end();) {
      Registration& w = it->second;
      // Kept while a sample may still list it (it appeared after this sample's discovery) and
      // while its notification is being followed.
      bool listed_later = !w.sampled && ::access(w.memory_dir.c_str(), F_OK) == 0;
      if (alive.count(it->first) || listed_later || w.recheck_until > now || w.read_pending) {
        ++it;
        continue;
      }
      Release(w);
      it = watches_.erase(it);
    }
    failures = failures_;
    failures_ = 0;
  }
  // Kills from before the eventfd was registered (the notification covers only those after).
  for (const Due& due : first_reads) Record(due);
  return failures;
}

std::vector<OomWatcher::Reading> OomWatcher::TakeReadings() {
  // The first call only notes the count: kills from before a watch are read as it starts.
  std::optional<uint64_t> global = ReadGlobalOomKills(options_.vmstat_path);
  const bool global_kill = global && global_oom_kills_ && *global != *global_oom_kills_;
  if (global) global_oom_kills_ = global;
  std::vector<Due> due;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [id, w] : watches_) {
      if (w.read_by_sampler || global_kill) {
        due.push_back({id, w.pod_uid, w.oom_control_path, Source::kSample});
      }
    }
  }
  for (const Due& d : due) Record(d);
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Reading> out;
  for (auto& [id, r] : readings_) out.push_back(std::move(r));
  readings_.clear();
  return out;
}

size_t OomWatcher::watched() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return watches_.size();
}

void OomWatcher::OnEvent(uint64_t token, std::chrono::steady_clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [id, w] : watches_) {
    if (w.token != token || w.event_fd < 0) continue;
    uint64_t count = 0;
    ssize_t ignored = ::read(w.event_fd, &count, sizeof(count));  // never closed meanwhile
    (void)ignored;
    w.recheck_until = now + options_.recheck_for;
    w.read_pending = true;
    return;
  }
  // Released after epoll_wait returned: its fd is closed (maybe reused); nothing to read.
}

std::vector<OomWatcher::Due> OomWatcher::DueReads(std::chrono::steady_clock::time_point now,
                                                  int* timeout_ms) {
  std::vector<Due> due;
  bool rechecking = false, polling = false;
  bool poll_now = now >= next_poll_;
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [id, w] : watches_) {
    if (w.recheck_until > now || w.read_pending) {
      rechecking = rechecking || w.recheck_until > now;
      w.read_pending = false;
      due.push_back({id, w.pod_uid, w.oom_control_path, Source::kEventfd});
    } else if (w.polled) {
      polling = true;
      if (poll_now) due.push_back({id, w.pod_uid, w.oom_control_path, Source::kPoll});
    }
  }
  if (polling && poll_now) next_poll_ = now + options_.poll_interval;
  *timeout_ms = -1;
  if (polling) *timeout_ms = MillisecondsUntil(next_poll_, now);
  if (rechecking) {
    int recheck = static_cast<int>(options_.recheck_every.count());
    *timeout_ms = *timeout_ms < 0 ? recheck : std::min(*timeout_ms, recheck);
  }
  return due;
}

void OomWatcher::Record(const Due& due) {
  auto text = ReadFileToString(due.path);
  if (!text.ok()) {
    // Removed (the kernel notifies the eventfd then too): the count read before stays, and
    // there is nothing left to re-read.
    std::lock_guard<std::mutex> lock(mutex_);
    auto w = watches_.find(due.container_id);
    if (w != watches_.end() && text.status().IsNotFound()) w->second.recheck_until = {};
    return;
  }
  auto kills = ParseOomControl(*text);
  if (!kills.ok() || *kills == 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  Reading& r = readings_[due.container_id];
  r.pod_uid = due.pod_uid;
  r.container_id = due.container_id;
  if (*kills > r.oom_kills) {
    r.oom_kills = *kills;
    r.source = due.source;
  }
}

void OomWatcher::Run() {
  epoll_event events[16];
  while (!stop_) {
    int timeout_ms = -1;
    for (const Due& due : DueReads(std::chrono::steady_clock::now(), &timeout_ms)) Record(due);
    int n = ::epoll_wait(epoll_fd_, events, 16, timeout_ms);
    if (n < 0 && errno != EINTR) return;
    if (options_.after_wait) options_.after_wait();
    auto now = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 != kWakeToken) {
        OnEvent(events[i].data.u64, now);
        continue;
      }
      uint64_t drained = 0;
      ssize_t ignored = ::read(wake_fd_, &drained, sizeof(drained));
      (void)ignored;
    }
  }
}

}  // namespace podmeter
