#include "collectors/cgroupfs/watched_discovery.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace podmeter {
namespace {

// What says a listed directory's subdirectories changed (IN_DELETE_SELF/IN_IGNORED: it went).
constexpr uint32_t kWatchMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR;
constexpr uint32_t kChangeMask =
    IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_IGNORED;

}  // namespace

WatchedDiscovery::WatchedDiscovery(KubeletTreeOptions options) : options_(std::move(options)) {
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) not_watching_reason_ = std::string("inotify_init1: ") + std::strerror(errno);
}

WatchedDiscovery::~WatchedDiscovery() {
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
}

void WatchedDiscovery::StopWatching(const std::string& reason) {
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  inotify_fd_ = -1;
  watches_.clear();
  not_watching_reason_ = reason;
}

bool WatchedDiscovery::Changed() {
  alignas(inotify_event) char buf[4096];
  bool changed = false;
  while (true) {
    ssize_t n = ::read(inotify_fd_, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return changed;
    if (n <= 0) {
      StopWatching(std::string("reading inotify events: ") +
                   (n < 0 ? std::strerror(errno) : "end of file"));
      return true;
    }
    for (ssize_t at = 0; at < n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buf + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      if (e->mask & IN_Q_OVERFLOW) changed = true;  // events were lost
      // A watch this object removed itself reports IN_IGNORED after it left watches_.
      if ((e->mask & kChangeMask) && watches_.count(e->wd)) changed = true;
    }
  }
}

void WatchedDiscovery::Rewatch(const std::vector<std::string>& listed) {
  std::map<int, std::string> now;
  bool added = false;
  for (const std::string& dir : listed) {
    int wd = ::inotify_add_watch(inotify_fd_, dir.c_str(), kWatchMask);
    if (wd < 0) {
      if (errno == ENOENT || errno == ENOTDIR) {
        added = true;  // gone since it was listed: walk again
        continue;
      }
      StopWatching("inotify_add_watch " + dir + ": " + std::strerror(errno) +
                   (errno == ENOSPC ? " (fs.inotify.max_user_watches)" : ""));
      return;
    }
    added = added || watches_.count(wd) == 0;
    now[wd] = dir;
  }
  for (const auto& [wd, dir] : watches_) {
    if (now.count(wd) == 0) ::inotify_rm_watch(inotify_fd_, wd);  // fails if it went already
  }
  watches_ = std::move(now);
  settled_ = !added;
}

StatusOr<const Discovery*> WatchedDiscovery::Get(const CgroupMounts& mounts) {
  const std::string root = DiscoveryRoot(mounts);
  bool walk = !valid_ || root != root_ || inotify_fd_ < 0 || !settled_;
  if (inotify_fd_ >= 0 && Changed()) walk = true;  // drained in any case
  if (!walk) return &last_;
  std::vector<std::string> listed;
  ++walks_;
  auto found = DiscoverPods(mounts, options_, inotify_fd_ >= 0 ? &listed : nullptr);
  if (!found.ok()) {
    valid_ = false;
    return found.status();
  }
  last_ = std::move(found.value());
  root_ = root;
  valid_ = true;
  if (inotify_fd_ >= 0) Rewatch(listed);
  return &last_;
}

}  // namespace podmeter
