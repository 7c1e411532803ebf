// Measures container start-up from outside the application: the exec of the container's first
// process to its first listening TCP socket (IPv4 or IPv6).
//
// New container cgroups are noticed at once through inotify on the kubepods tree; each is then
// polled every `poll_interval` (default 1 ms) until one of its processes has a socket in LISTEN
// state (found from /proc/<pid>/fd socket inodes and /proc/<pid>/net/tcp{,6}), or `timeout`.
// The exec time comes from the kernel's process connector (netlink, needs CAP_NET_ADMIN):
// nanosecond CLOCK_MONOTONIC timestamps. Without it, /proc/<pid>/stat starttime is used
// (the fork, in clock ticks: 10 ms).
//
// One internal thread; TakeFinished() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "collectors/base/status.h"

namespace podmeter {

struct StartupMeasurement {
  std::string pod_uid;
  std::string container_id;
  double exec_unix_seconds = 0;  ///< exec of the first process, wall clock
  double startup_seconds = -1;   ///< exec → listen; < 0 when it never listened in time
  bool exec_from_process_connector = false;
};

/// A container cgroup as it appears.
struct NewContainerCgroup {
  std::string pod_uid;
  std::string container_id;
  std::string dir;  ///< its directory in the watched hierarchy
};

class StartupWatcher {
 public:
  struct Options {
    std::string hierarchy_root;  ///< the primary cgroup hierarchy (v2: unified; v1: memory)
    std::string proc_root = "/proc";
    std::chrono::microseconds poll_interval{1000};
    std::chrono::milliseconds timeout{60000};
    /// Called on the watch thread as each container cgroup appears (also those found in a pod
    /// cgroup that appeared), with its directory under hierarchy_root; must return quickly.
    /// The OOM watcher registers its eventfd there, before the container can run far.
    std::function<void(const NewContainerCgroup&)> on_new_container;
  };

  explicit StartupWatcher(Options options);
  ~StartupWatcher();
  StartupWatcher(const StartupWatcher&) = delete;
  StartupWatcher& operator=(const StartupWatcher&) = delete;

  /// Starts the watch thread. Fails when inotify cannot be set up.
  Status Start();
  void Stop();

  /// Measurements completed since the last call.
  std::vector<StartupMeasurement> TakeFinished();

  /// Whether exec times come from the process connector (else from /proc starttime).
  bool precise_exec_times() const { return netlink_fd_ >= 0; }

 private:
  struct Pending {
    std::string pod_uid, container_id, dir;
    std::chrono::steady_clock::time_point noticed;
    int first_pid = 0;
  };

  void Run();
  /// Watches `dir` and the kubepods levels below it; `fresh` (a newly created subtree) also
  /// queues the container cgroups found in it for measurement.
  void AddWatchTree(const std::string& dir, int depth, bool fresh);
  void OnCreated(const std::string& dir);
  void Announce(const std::string& pod_uid, const std::string& container_id,
                const std::string& dir);
  void DrainInotify();
  void DrainNetlink();
  bool Check(Pending& p);  // true when finished (listening or timed out)
  void Finish(const Pending& p, double startup_seconds);
  std::chrono::nanoseconds ExecTime(int pid, std::chrono::nanoseconds not_after, bool* precise);

  Options options_;
  int inotify_fd_ = -1;
  int netlink_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::map<int, std::string> watch_dirs_;  // inotify wd → directory
  std::vector<Pending> pending_;
  std::map<int, std::vector<int64_t>> exec_times_;  // pid → exec timestamps (CLOCK_MONOTONIC ns)
  std::mutex mutex_;
  std::vector<StartupMeasurement> finished_;  // GUARDED_BY(mutex_)
};

/// Socket inodes in LISTEN state in the text of /proc/<pid>/net/tcp or tcp6.
std::vector<uint64_t> ParseListeningInodes(std::string_view net_tcp);

}  // namespace podmeter
