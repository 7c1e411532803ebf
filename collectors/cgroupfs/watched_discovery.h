// Discovery walked again only when the tree changed: every directory a walk listed is watched
// with inotify (IN_CREATE, IN_DELETE, IN_MOVED_*; a cgroup appears and goes by mkdir and rmdir,
// which the VFS reports like any directory's), and a sample reuses the last walk's result while
// no event came. At 110 pods that is ~118 directory listings a second saved (~6 % of a sample's
// CPU, docs/performance.md). Without inotify (no instance, no watch left) it walks every sample.
// Not thread-safe: owned by the sampler thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "collectors/base/status.h"
#include "collectors/cgroupfs/cgroup_discovery.h"
#include "collectors/cgroupfs/mountinfo.h"

namespace podmeter {

class WatchedDiscovery {
 public:
  explicit WatchedDiscovery(KubeletTreeOptions options);
  ~WatchedDiscovery();
  WatchedDiscovery(const WatchedDiscovery&) = delete;
  WatchedDiscovery& operator=(const WatchedDiscovery&) = delete;

  /// The pods under `mounts`: the last walk's while nothing it listed has changed since, else a
  /// new walk (DiscoverPods). A walk that added a watch is followed by one more at the next call
  /// (a directory made between its listing and its watch is found then). Valid until the next
  /// call. A failed walk is returned as the error and walked again next time.
  StatusOr<const Discovery*> Get(const CgroupMounts& mounts);

  /// Walks so far (for podmeter_cgroup_walks_total).
  uint64_t walks() const { return walks_; }
  /// Whether changes are watched (false: every call walks); the reason when not.
  bool watching() const { return inotify_fd_ >= 0; }
  const std::string& not_watching_reason() const { return not_watching_reason_; }

 private:
  bool Changed();  // drains the events; true if any says the tree changed
  void Rewatch(const std::vector<std::string>& listed);
  void StopWatching(const std::string& reason);

  KubeletTreeOptions options_;
  int inotify_fd_ = -1;
  std::string not_watching_reason_;
  std::map<int, std::string> watches_;  // watch descriptor → directory
  std::string root_;                    // the hierarchy the last walk walked
  Discovery last_;
  bool valid_ = false;    // last_ is a walk's result
  bool settled_ = false;  // the last walk added no watch
  uint64_t walks_ = 0;
};

}  // namespace podmeter
