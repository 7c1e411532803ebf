// What the start-up watcher reads about one process of a container from /proc: its name and
// executable (to tell runc's bootstrap and the pod sandbox's pause process from the
// application), its fork time, and whether it holds a listening TCP socket. The parsers are
// pure and tested on strings; the readers take a proc root (a fixture tree in tests).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace podmeter {

/// Whether a process named `comm` running `exe` (the /proc/<pid>/exe link; empty when unreadable)
/// is still the container runtime's bootstrap rather than the image's entrypoint: runc's
/// `runc init` stages (comm "runc:[0:PARENT]" … "runc:[2:INIT]", its binary or its sealed memfd
/// copy "/memfd:runc_cloned:…") or crun's child before it execs.
bool IsRuntimeBootstrap(std::string_view comm, std::string_view exe);

/// Whether the process is a pod sandbox's pause process (its container is no workload).
bool IsSandboxPause(std::string_view comm);

/// What the start-up watcher uses of /proc/<pid>/stat.
struct ProcStat {
  int ppid = 0;
  uint64_t start_ticks = 0;  ///< starttime: the fork, clock ticks after boot
};
/// Fields 4 (ppid) and 22 (starttime) of the text of /proc/<pid>/stat.
std::optional<ProcStat> ParseProcStat(std::string_view stat);

/// Socket inodes in LISTEN state in the text of /proc/<pid>/net/tcp or tcp6.
std::vector<uint64_t> ParseListeningInodes(std::string_view net_tcp);

/// The process' comm (without the newline); empty when it is gone.
std::string ReadComm(const std::string& proc_root, int pid);
/// The target of /proc/<pid>/exe; empty when unreadable (gone, or no ptrace access).
std::string ReadExe(const std::string& proc_root, int pid);
/// The process' parent and fork time (CLOCK_MONOTONIC ns, resolution one clock tick: 10 ms).
struct ProcessOrigin {
  int ppid = 0;
  int64_t fork_ns = 0;
};
std::optional<ProcessOrigin> ReadProcessOrigin(const std::string& proc_root, int pid);
/// Whether the process holds a TCP socket (IPv4 or IPv6) in LISTEN state.
bool HoldsListeningSocket(const std::string& proc_root, int pid);

/// CLOCK_MONOTONIC now, ns.
int64_t MonotonicNowNs();

}  // namespace podmeter
