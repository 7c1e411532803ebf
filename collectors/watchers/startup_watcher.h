// Measures container start-up from outside the application: the exec of the container's
// application process (the end of the execve of the image's entrypoint) to its first listening
// TCP socket (IPv4 or IPv6).
//
// New container cgroups are noticed at once through inotify on the kubepods tree. Each is then
// checked with a backed-off poll (every `poll_interval` at first, then every 1/64 of its age, at
// most `max_poll_interval`) until one of its processes has a socket in LISTEN state (found from
// /proc/<pid>/fd socket inodes and /proc/<pid>/net/tcp{,6}), or `timeout`. The application
// process is the container's first process that is no longer the runtime's bootstrap (runc's
// `runc init` stages join the cgroup first and exec the entrypoint later); a sandbox (its
// process is `pause`) is dropped at once. The exec time comes from the kernel's process
// connector (netlink: CAP_NET_ADMIN, initial network namespace): the exec event of that process,
// CLOCK_MONOTONIC ns (clock kExec). Without it, the process' fork time from /proc/<pid>/stat is
// used (clock kFork: clock ticks, and for runc the clone of `runc init`, before the exec).
//
// One internal thread; TakeFinished() and stats() may be called from any thread.
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
#include "collectors/watchers/container_process.h"
#include "collectors/watchers/exec_history.h"
#include "collectors/watchers/process_connector.h"

namespace podmeter {

/// Which instant a start-up is measured from.
enum class StartupClock {
  kExec,  ///< the process connector's exec event of the application process (end of execve)
  kFork,  ///< /proc/<pid>/stat starttime of the application process (10 ms ticks)
};
/// "exec" or "fork": the value of the `clock` label.
const char* StartupClockName(StartupClock clock);

struct StartupMeasurement {
  std::string pod_uid;
  std::string container_id;
  double start_unix_seconds = 0;          ///< the application's exec (or fork), wall clock
  std::optional<double> startup_seconds;  ///< start → first listening socket; none: never in time
  StartupClock clock = StartupClock::kExec;
};

/// What the watcher holds and has done, for self-monitoring and tests.
struct StartupWatcherStats {
  size_t watches = 0;               ///< inotify watches (directories where containers may appear)
  size_t pending = 0;               ///< containers not yet listening, within the timeout
  size_t exec_history = 0;          ///< processes with exec times kept
  uint64_t checks = 0;              ///< polls of pending containers
  uint64_t measured = 0;            ///< containers that listened
  uint64_t never_listened = 0;      ///< containers that did not listen within the timeout
  uint64_t sandboxes_skipped = 0;   ///< pod sandboxes (pause) dropped
  uint64_t vanished = 0;            ///< containers removed while pending
  uint64_t connector_overruns = 0;  ///< process connector events lost (receive queue full)
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
    std::chrono::microseconds poll_interval{1000};        ///< first polls of a new container
    std::chrono::microseconds max_poll_interval{100000};  ///< polls after 6.4 s
    std::chrono::milliseconds timeout{60000};
    bool use_process_connector = true;  ///< false: always the fork clock (tests)
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
  StartupWatcherStats stats() const;

  /// Whether exec times come from the process connector (else fork times from /proc).
  bool precise_exec_times() const { return connector_.fd() >= 0; }
  /// Why the process connector is not used (empty when it is).
  const std::string& connector_error() const { return connector_error_; }

 private:
  struct Pending {
    std::string pod_uid, container_id, dir;
    std::chrono::steady_clock::time_point noticed, next_check;
    int app_pid = 0;                 ///< the application process, once found
    std::optional<int64_t> exec_ns;  ///< its exec (CLOCK_MONOTONIC), once seen
  };

  void Run();
  /// Watches `dir` and the kubepods levels below it; `fresh` (a newly created subtree) also
  /// queues the container cgroups found in it for measurement.
  void AddWatchTree(const std::string& dir, int depth, bool fresh);
  void OnCreated(const std::string& dir);
  void Enqueue(const std::string& pod_uid, const std::string& container_id, const std::string& dir);
  void Announce(const std::string& pod_uid, const std::string& container_id,
                const std::string& dir);
  void DrainInotify();
  void CheckDue();
  bool Check(Pending& p);  // true when finished (listening, timed out, sandbox or gone)
  void FindApplication(Pending& p, const std::vector<int>& pids);
  void Finish(Pending& p, std::optional<int64_t> listening_ns);
  std::chrono::steady_clock::duration PollInterval(std::chrono::steady_clock::duration age) const;
  std::optional<std::chrono::nanoseconds> TimeToNextCheck() const;
  void PublishStats();
  void Sweep();

  Options options_;
  int inotify_fd_ = -1;
  int wake_fd_ = -1;
  ProcessConnector connector_;
  std::string connector_error_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::map<int, std::string> watch_dirs_;  // inotify wd → directory
  // Container id → directory of every container queued whose cgroup still exists: a container
  // both found by the scan of its new pod and reported by the pod's watch is queued once.
  std::map<std::string, std::string> queued_;
  std::chrono::steady_clock::time_point next_sweep_{};
  std::chrono::steady_clock::time_point last_sweep_{};
  bool removed_ = false;  ///< a watched directory lost a subdirectory since the last Sweep()
  std::vector<Pending> pending_;
  ExecHistory execs_;
  StartupWatcherStats counts_;  // the thread's own copy
  mutable std::mutex mutex_;
  std::vector<StartupMeasurement> finished_;  // GUARDED_BY(mutex_)
  StartupWatcherStats stats_;                 // GUARDED_BY(mutex_)
};

}  // namespace podmeter
