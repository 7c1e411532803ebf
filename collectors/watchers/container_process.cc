#include "collectors/watchers/container_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "collectors/base/file_util.h"

namespace podmeter {
namespace {

std::string ProcPath(const std::string& proc_root, int pid, std::string_view file) {
  return JoinPath(proc_root, std::to_string(pid) + "/" + std::string(file));
}

std::string ReadLink(const std::string& path) {
  char target[4096];
  ssize_t n = ::readlink(path.c_str(), target, sizeof(target));
  if (n <= 0) return {};
  return std::string(target, static_cast<size_t>(n));
}

// Whether `text` (the start of a /proc/<pid>/net/tcp{,6}) holds a complete line past the
// header in a state other than LISTEN (0A).
bool EndOfListening(std::string_view text) {
  size_t header_end = text.find('\n');
  if (header_end == std::string_view::npos) return false;
  for (std::string_view line : SplitLines(text.substr(header_end + 1))) {
    if (line.data() + line.size() >= text.data() + text.size()) break;  // possibly incomplete
    std::vector<std::string_view> f = SplitFields(line);
    if (f.size() > 3 && f[3] != "0A") return true;
  }
  return false;
}

// Socket inodes among the fds of `pid`.
std::vector<uint64_t> SocketInodes(const std::string& proc_root, int pid) {
  std::vector<uint64_t> out;
  std::string dir = ProcPath(proc_root, pid, "fd");
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
  if (!d) return out;
  char target[64];
  while (const dirent* e = ::readdir(d.get())) {
    if (e->d_name[0] == '.') continue;
    ssize_t n = ::readlinkat(::dirfd(d.get()), e->d_name, target, sizeof(target) - 1);
    if (n <= 0) continue;
    std::string_view t(target, static_cast<size_t>(n));
    if (t.substr(0, 8) != "socket:[" || t.back() != ']') continue;
    uint64_t inode = 0;
    if (ParseUint64(t.substr(8, t.size() - 9), &inode)) out.push_back(inode);
  }
  return out;
}

// The kernel lists a table's LISTEN sockets first (the listening hash, then the established
// one): reading stops at the first line in another state, so a node with many connections (tens
// of thousands of lines, milliseconds to generate) costs only the listening part.
std::vector<uint64_t> ReadListeningInodes(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string text;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (EndOfListening(text)) break;
  }
  ::close(fd);
  size_t complete = text.rfind('\n');
  return ParseListeningInodes(complete == std::string::npos
                                  ? std::string_view()
                                  : std::string_view(text).substr(0, complete + 1));
}

int64_t ClockNs(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

bool IsRuntimeBootstrap(std::string_view comm, std::string_view exe) {
  if (comm.starts_with("runc:[")) return true;
  if (exe.starts_with("/memfd:runc")) return true;
  std::string_view path = exe;
  if (path.ends_with(" (deleted)")) path.remove_suffix(10);
  std::string_view base =
      path.substr(path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1);
  return base == "runc" || base == "crun";
}

bool IsSandboxPause(std::string_view comm) { return comm == "pause"; }

std::optional<ProcStat> ParseProcStat(std::string_view stat) {
  // "pid (comm) state ppid …": comm may hold spaces and parentheses; fields follow the last ')'.
  size_t close = stat.rfind(')');
  if (close == std::string_view::npos || close + 2 > stat.size()) return std::nullopt;
  std::vector<std::string_view> f = SplitFields(stat.substr(close + 2));
  uint64_t ppid = 0;
  ProcStat out;
  if (f.size() < 20 || !ParseUint64(f[1], &ppid) || !ParseUint64(f[19], &out.start_ticks))
    return std::nullopt;
  out.ppid = static_cast<int>(ppid);
  return out;
}

std::vector<uint64_t> ParseListeningInodes(std::string_view net_tcp) {
  // "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout
  // inode"
  std::vector<uint64_t> out;
  bool header = true;
  for (std::string_view line : SplitLines(net_tcp)) {
    if (header) {
      header = false;
      continue;
    }
    std::vector<std::string_view> f = SplitFields(line);
    uint64_t inode = 0;
    if (f.size() < 10 || f[3] != "0A" || !ParseUint64(f[9], &inode) || inode == 0) continue;
    out.push_back(inode);
  }
  return out;
}

std::string ReadComm(const std::string& proc_root, int pid) {
  auto text = ReadFileToString(ProcPath(proc_root, pid, "comm"));
  if (!text.ok()) return {};
  std::string comm = std::move(text.value());
  while (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm;
}

std::string ReadExe(const std::string& proc_root, int pid) {
  return ReadLink(ProcPath(proc_root, pid, "exe"));
}

std::optional<ProcessOrigin> ReadProcessOrigin(const std::string& proc_root, int pid) {
  auto text = ReadFileToString(ProcPath(proc_root, pid, "stat"));
  if (!text.ok()) return std::nullopt;
  std::optional<ProcStat> stat = ParseProcStat(*text);
  if (!stat) return std::nullopt;
  // starttime counts from boot (CLOCK_BOOTTIME); move it onto CLOCK_MONOTONIC.
  int64_t boot_to_mono = ClockNs(CLOCK_BOOTTIME) - ClockNs(CLOCK_MONOTONIC);
  int64_t tick_ns = 1'000'000'000 / ::sysconf(_SC_CLK_TCK);
  return ProcessOrigin{stat->ppid,
                       static_cast<int64_t>(stat->start_ticks) * tick_ns - boot_to_mono};
}

bool HoldsListeningSocket(const std::string& proc_root, int pid) {
  std::vector<uint64_t> inodes = SocketInodes(proc_root, pid);
  if (inodes.empty()) return false;
  for (const char* file : {"net/tcp", "net/tcp6"}) {
    for (uint64_t listening : ReadListeningInodes(ProcPath(proc_root, pid, file))) {
      if (std::find(inodes.begin(), inodes.end(), listening) != inodes.end()) return true;
    }
  }
  return false;
}

int64_t MonotonicNowNs() { return ClockNs(CLOCK_MONOTONIC); }

}  // namespace podmeter
