// Catches OOM kills in cgroup v1 containers as they happen. memory.oom_control's oom_kill is per
// cgroup (the pod's stays 0) and the runtime removes a killed container's cgroup soon after the
// kill (runc: ~0.1–0.2 s), so every container is watched with an eventfd registered through
// cgroup.event_control: the watch thread wakes at the OOM, before the cgroup is removed, and
// re-reads the container's oom_kill. Containers are watched as soon as their cgroup appears
// (WatchNew, from the start-up watcher's inotify) and from every sample (Watch). Where the eventfd
// cannot be registered (not root; a recursively read-only cgroup mount) the thread reads the
// container's memory.oom_control every poll_interval instead. A container is read once as its
// eventfd is registered (a kill from before the watch), so the sampler never reads
// memory.oom_control itself but, through TakeReadings, for containers with neither an eventfd nor
// a poll (no watch thread; a fixture tree), and for every container after a kill of the global
// OOM killer, which notifies no cgroup (Options::vmstat_path). It keeps no totals: the readings go
// to OomAccounting (tracking/oom_accounting.h), the one owner of the counts. cgroup v2 needs no
// watcher (the pod's memory.events is hierarchical and outlives its containers).
//
// epoll events carry a registration's token, never reused, not its fd number (a released fd may
// be reused at once by another open); an eventfd is read and closed only under the lock.
//
// Thread-safe: Watch/WatchNew/TakeReadings may be called from any thread; the watch thread runs
// inside.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "collectors/base/status.h"

namespace podmeter {

class OomWatcher {
 public:
  /// Ties `event_fd` to the OOM notifications of the v1 memory cgroup `memory_dir`. NotFound
  /// means there is nothing to watch (not a cgroup filesystem, e.g. a fixture tree); any other
  /// error is a failure (the container is then polled).
  using Registrar = std::function<Status(const std::string& memory_dir, int event_fd)>;

  /// The kernel's way: writes "<event_fd> <memory.oom_control fd>" to cgroup.event_control
  /// (root only, and only where that file is writable).
  static Status RegisterWithEventControl(const std::string& memory_dir, int event_fd);

  struct Options {
    Registrar registrar = RegisterWithEventControl;
    /// How often memory.oom_control is read for containers without an eventfd.
    std::chrono::milliseconds poll_interval{50};
    /// How long, and how often, a container is re-read after its OOM notification (the kernel
    /// notifies just before the OOM killer picks and counts its victim).
    std::chrono::milliseconds recheck_for{250};
    std::chrono::milliseconds recheck_every{2};
    /// The kernel's OOM kill count of the whole machine (its `oom_kill` line). A kill by the
    /// global OOM killer (the node out of memory, no cgroup over its limit) counts in the victim's
    /// memory.oom_control but sends no cgroup notification: when this count moves, TakeReadings
    /// reads every container. /proc/vmstat is not per namespace: a container's is the node's.
    std::string vmstat_path = "/proc/vmstat";
    /// Tests only: runs on the watch thread each time epoll_wait returns, before its events are
    /// handled (to release a registration in between).
    std::function<void()> after_wait;
  };

  explicit OomWatcher(Options options);
  OomWatcher() : OomWatcher(Options()) {}
  ~OomWatcher();
  OomWatcher(const OomWatcher&) = delete;
  OomWatcher& operator=(const OomWatcher&) = delete;

  struct Container {
    std::string pod_uid;
    std::string container_id;
    std::string memory_dir;  ///< the container's v1 memory cgroup directory
  };

  /// How a reading was taken.
  enum class Source {
    kEventfd,     ///< after the container's OOM notification
    kPoll,        ///< by the poll of a container without an eventfd
    kWatchStart,  ///< once, as its eventfd was registered (kills from before the watch)
    kSample,      ///< by TakeReadings: a container the watcher cannot watch, or every container
                  ///< after a global OOM kill (Options::vmstat_path)
  };

  /// A container's memory.oom_control oom_kill.
  struct Reading {
    std::string pod_uid;
    std::string container_id;
    uint64_t oom_kills = 0;
    Source source = Source::kEventfd;  ///< how the highest count was first read
  };

  /// Watches a container as its cgroup appears (before any sample lists it): kept until a
  /// sample has listed it and no longer does, or its cgroup is gone. False when it could not get
  /// an eventfd (then it is polled).
  bool WatchNew(const Container& c);

  /// Watches the containers not watched yet and releases those no longer listed. Returns how
  /// many could not get an eventfd (they are polled).
  size_t Watch(const std::vector<Container>& living);

  /// The highest oom_kill read per container since the last call (the count stays after the
  /// container's cgroup is gone). Containers the watcher cannot watch (no watch thread, or not on
  /// a cgroup filesystem: a fixture tree) are read here, on the caller's thread.
  std::vector<Reading> TakeReadings();

  /// Whether the watch thread runs (false: counts rely on the sampler's reads).
  bool watching() const { return epoll_fd_ >= 0; }

  /// Containers watched (eventfd or polled): for tests and self-metrics.
  size_t watched() const;

 private:
  struct Registration {
    std::string pod_uid, oom_control_path;
    std::string memory_dir;
    uint64_t token = 0;  ///< epoll data; 0 is the wake fd
    int event_fd = -1;   ///< -1: no eventfd
    bool polled = false;
    bool sampled = false;  ///< listed by a sample at least once
    std::chrono::steady_clock::time_point recheck_until{};
    /// A notification not yet followed by a read: read once even when the watch thread ran
    /// only after recheck_until had passed (starved on a busy machine).
    bool read_pending = false;
    bool read_by_sampler = false;  ///< neither an eventfd nor polled: read by TakeReadings
  };
  /// What Add did: nothing (known already), or how the container is watched from now on.
  enum class Added { kKnown, kEventfd, kPolled, kBySampler };
  struct Due {
    std::string container_id, pod_uid, path;
    Source source;
  };
  void Run();
  void OnEvent(uint64_t token, std::chrono::steady_clock::time_point now);
  std::vector<Due> DueReads(std::chrono::steady_clock::time_point now, int* timeout_ms);
  void Record(const Due& due);
  Added Add(const Container& c, bool sampled);  // REQUIRES(mutex_)
  void Release(Registration& w);                // REQUIRES(mutex_)
  void Nudge();

  Options options_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  uint64_t next_token_ = 1;                      // GUARDED_BY(mutex_)
  size_t failures_ = 0;                          // GUARDED_BY(mutex_), since Watch
  std::map<std::string, Registration> watches_;  // GUARDED_BY(mutex_), by container id
  std::map<std::string, Reading> readings_;      // GUARDED_BY(mutex_), by container id
  std::optional<uint64_t> global_oom_kills_;     // TakeReadings only: /proc/vmstat's last oom_kill
  std::chrono::steady_clock::time_point next_poll_{};  // watch thread only
};

}  // namespace podmeter
