// Catches OOM kills in cgroup v1 containers as they happen. memory.oom_control's oom_kill is per
// cgroup (the pod's stays 0) and the runtime removes a killed container's cgroup soon after the
// kill, so every container is watched with an eventfd registered through cgroup.event_control: the
// watcher thread wakes at the OOM, before the cgroup is removed, and re-reads the container's
// oom_kill. It keeps no totals: the readings go to OomAccounting (tracking/oom_accounting.h), the
// one owner of the counts. cgroup v2 needs no watcher (the pod's memory.events is hierarchical).
//
// Thread-safe: Watch/TakeReadings are called from the sampler, the watch thread runs inside.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
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
    std::string memory_dir;  ///< the container's v1 memory cgroup directory
  };

  /// A container's memory.oom_control oom_kill, read after an OOM event.
  struct Reading {
    std::string pod_uid;
    std::string container_id;
    uint64_t oom_kills = 0;
  };

  /// Watches containers not seen before and releases the eventfds of those no longer listed.
  /// Returns how many could not be registered.
  size_t Watch(const std::vector<Container>& living);

  /// The highest oom_kill read per container since the last call, by container id.
  std::vector<Reading> TakeReadings();

  /// Whether eventfd notifications are working (false: counts rely on the sampler's reads).
  bool watching() const { return epoll_fd_ >= 0; }

 private:
  struct Registration {
    std::string pod_uid, container_id, oom_control_path;
    int event_fd = -1;
    int control_fd = -1;
  };
  void Run();
  void Refresh(const std::string& key, const std::string& path);
  void Release(Registration& w);
  Registration Register(const Container& c, size_t* failures);

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::map<std::string, Registration> watches_;  // GUARDED_BY(mutex_), key = container id
  std::map<std::string, Reading> readings_;      // GUARDED_BY(mutex_), key = container id
};

}  // namespace podmeter
