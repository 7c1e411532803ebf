// Counts OOM kills per pod so that the count survives the killed container's cgroup being removed
// and the container being replaced.
//
// cgroup v1: memory.oom_control's oom_kill is per cgroup (the pod's stays 0), so every container is
// watched with an eventfd registered through cgroup.event_control; the watcher thread wakes at the
// OOM, before the runtime removes the cgroup, and re-reads the container's oom_kill. The pod total
// is the sum over its containers, living and removed. cgroup v2: the pod's memory.events oom_kill
// is hierarchical and is read by the sampler directly; the watcher is not needed.
//
// Thread-safe: Sync/PodOomKills/Forget are called from the sampler, the watch thread runs inside.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "collectors/base/status.h"

namespace podmeter {

class OomWatcher {
 public:
  OomWatcher();
  ~OomWatcher();
  OomWatcher(const OomWatcher&) = delete;
  OomWatcher& operator=(const OomWatcher&) = delete;

  struct Container {
    std::string pod_uid;
    std::string container_id;
    std::string memory_dir;             ///< the container's v1 memory cgroup directory
    std::optional<uint64_t> oom_kills;  ///< memory.oom_control's oom_kill as the sampler read it
  };

  /// Registers containers not seen before and releases the eventfds of those no longer listed
  /// (their last count is kept). Registration failures are returned as a count.
  size_t Sync(const std::vector<Container>& living);

  /// OOM kills seen in the pod's containers, living and removed.
  uint64_t PodOomKills(const std::string& pod_uid) const;

  /// Drops everything known about a pod (it is gone for good).
  void Forget(const std::string& pod_uid);

  /// Whether eventfd notifications are working (false: counts rely on the sampler's reads).
  bool watching() const { return epoll_fd_ >= 0; }

 private:
  struct Watch {
    std::string pod_uid, container_id, oom_control_path;
    int event_fd = -1;
    int control_fd = -1;
  };
  void Run();
  void Refresh(const std::string& key, const std::string& path);
  void Release(Watch& w);

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::map<std::string, Watch> watches_;  // GUARDED_BY(mutex_), key = container id
  std::map<std::string, std::map<std::string, uint64_t>>
      counts_;  // GUARDED_BY(mutex_) pod → id → kills
};

}  // namespace podmeter
