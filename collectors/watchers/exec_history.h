// The exec events of the node's processes, as the kernel's process connector reports them, kept
// per process incarnation: a fork of a new process (or its exit) forgets what an earlier process
// with the same pid exec'd. Pure state, no I/O; not thread-safe (the start-up watcher's thread
// owns it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace podmeter {

class ExecHistory {
 public:
  /// At most this many exec times are kept per process (the first ones: the entrypoint's is the
  /// first), and at most `max_processes` processes (the oldest exec'd are dropped first).
  static constexpr size_t kMaxExecsPerProcess = 4;
  explicit ExecHistory(size_t max_processes = 65536) : max_processes_(max_processes) {}

  /// A new process `tgid` was forked: a process that had this pid before is gone.
  void OnFork(int tgid) { execs_.erase(tgid); }
  /// Process `tgid` exited.
  void OnExit(int tgid) { execs_.erase(tgid); }
  /// Process `tgid` finished an execve at `monotonic_ns` (CLOCK_MONOTONIC).
  void OnExec(int tgid, int64_t monotonic_ns);

  /// The first exec of `tgid` at or after `not_before_ns` (its fork, when known; 0: any).
  std::optional<int64_t> FirstExec(int tgid, int64_t not_before_ns = 0) const;

  size_t size() const { return execs_.size(); }

 private:
  size_t max_processes_;
  std::map<int, std::vector<int64_t>> execs_;  // tgid → exec times, oldest first
};

}  // namespace podmeter
