#include "collectors/watchers/startup_watcher.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "collectors/base/file_util.h"
#include "collectors/cgroupfs/kubepods_path.h"

namespace podmeter {
namespace {

constexpr int kMaxPidsChecked = 16;
// How deep a kubepods root may sit below the hierarchy root (cgroup_discovery looks as deep).
constexpr int kKubepodsRootMaxLevel = 3;
constexpr int64_t kExecHistoryNs = 120'000'000'000;

int64_t MonotonicNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

double UnixFromMonotonic(int64_t mono_ns) {
  timespec rt{};
  ::clock_gettime(CLOCK_REALTIME, &rt);
  double now_unix = static_cast<double>(rt.tv_sec) + static_cast<double>(rt.tv_nsec) / 1e9;
  return now_unix - static_cast<double>(MonotonicNs() - mono_ns) / 1e9;
}

int OpenProcessConnector() {
  int fd = ::socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
  if (fd < 0) return -1;
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = CN_IDX_PROC;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  // nlmsghdr | cn_msg | proc_cn_mcast_op, laid out by hand (cn_msg ends in a flexible array).
  alignas(nlmsghdr) char req[NLMSG_SPACE(sizeof(cn_msg) + sizeof(proc_cn_mcast_op))] = {};
  auto* header = reinterpret_cast<nlmsghdr*>(req);
  header->nlmsg_len = NLMSG_LENGTH(sizeof(cn_msg) + sizeof(proc_cn_mcast_op));
  header->nlmsg_type = NLMSG_DONE;
  header->nlmsg_pid = static_cast<__u32>(::getpid());
  auto* msg = static_cast<cn_msg*>(NLMSG_DATA(header));
  msg->id.idx = CN_IDX_PROC;
  msg->id.val = CN_VAL_PROC;
  msg->len = sizeof(proc_cn_mcast_op);
  proc_cn_mcast_op op = PROC_CN_MCAST_LISTEN;
  std::memcpy(msg->data, &op, sizeof(op));
  if (::send(fd, req, header->nlmsg_len, 0) != static_cast<ssize_t>(header->nlmsg_len)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Socket inodes among the fds of `pid`.
std::vector<uint64_t> SocketInodes(const std::string& proc_root, int pid) {
  std::vector<uint64_t> out;
  std::string dir = JoinPath(proc_root, std::to_string(pid) + "/fd");
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

}  // namespace

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

StartupWatcher::StartupWatcher(Options options) : options_(std::move(options)) {}

StartupWatcher::~StartupWatcher() { Stop(); }

Status StartupWatcher::Start() {
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) return Status::FromErrno(errno, "inotify_init1");
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return Status::FromErrno(errno, "eventfd");
  netlink_fd_ = OpenProcessConnector();  // -1 without CAP_NET_ADMIN: fall back to /proc times
  AddWatchTree(options_.hierarchy_root, 5, /*fresh=*/false);
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void StartupWatcher::Stop() {
  stop_ = true;
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    ssize_t ignored = ::write(wake_fd_, &one, sizeof(one));
    (void)ignored;
  }
  if (thread_.joinable()) thread_.join();
  for (int* fd : {&inotify_fd_, &netlink_fd_, &wake_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

std::vector<StartupMeasurement> StartupWatcher::TakeFinished() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<StartupMeasurement> out;
  out.swap(finished_);
  return out;
}

// Watches the hierarchy root, the kubepods roots, QoS levels and pod cgroups: everywhere a pod or
// container cgroup can be created. Container cgroups themselves are not watched.
void StartupWatcher::AddWatchTree(const std::string& dir, int depth, bool fresh) {
  std::string rel = dir.size() > options_.hierarchy_root.size()
                        ? dir.substr(options_.hierarchy_root.size())
                        : std::string();
  auto parsed = ParseKubepodsPath(rel);
  if (parsed && !parsed->container_id.empty()) {
    // A container created with (or faster than) its new parent: measure it too.
    if (fresh) {
      Announce(parsed->pod_uid, parsed->container_id, dir);
      pending_.push_back(
          {parsed->pod_uid, parsed->container_id, dir, std::chrono::steady_clock::now(), 0});
    }
    return;
  }
  int wd = ::inotify_add_watch(inotify_fd_, dir.c_str(), IN_CREATE | IN_ONLYDIR);
  if (wd < 0) return;
  watch_dirs_[wd] = dir;
  if (depth <= 0) return;
  auto children = ListSubdirectories(dir);
  if (!children.ok()) return;
  // Below the root only kubepods trees matter, and the directories a kubepods root may sit in
  // (as discovery looks for it: up to kKubepodsRootMaxLevel levels down, e.g. a kubelet's
  // cgroupRoot /podmeter-node/kubepods): those are watched for one appearing, and walked.
  int level = static_cast<int>(std::count(rel.begin(), rel.end(), '/'));
  for (const std::string& name : *children) {
    bool kube = rel.find("kubepods") != std::string::npos || IsKubepodsRootName(name);
    if (kube || level + 1 < kKubepodsRootMaxLevel)
      AddWatchTree(JoinPath(dir, name), depth - 1, fresh);
  }
}

void StartupWatcher::OnCreated(const std::string& dir) {
  std::string rel = dir.substr(options_.hierarchy_root.size());
  auto parsed = ParseKubepodsPath(rel);
  if (parsed && !parsed->container_id.empty()) {
    Announce(parsed->pod_uid, parsed->container_id, dir);
    pending_.push_back(
        {parsed->pod_uid, parsed->container_id, dir, std::chrono::steady_clock::now(), 0});
    return;
  }
  // Children created before the watch was in place are picked up by the scan.
  AddWatchTree(dir, 3, /*fresh=*/true);
}

void StartupWatcher::Announce(const std::string& pod_uid, const std::string& container_id,
                              const std::string& dir) {
  if (options_.on_new_container) options_.on_new_container({pod_uid, container_id, dir});
}

void StartupWatcher::DrainInotify() {
  alignas(inotify_event) char buf[16384];
  while (true) {
    ssize_t n = ::read(inotify_fd_, buf, sizeof(buf));
    if (n <= 0) return;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (!(ev->mask & IN_ISDIR) || ev->len == 0) continue;
      auto it = watch_dirs_.find(ev->wd);
      if (it == watch_dirs_.end()) continue;
      OnCreated(JoinPath(it->second, ev->name));
    }
  }
}

void StartupWatcher::DrainNetlink() {
  if (netlink_fd_ < 0) return;
  alignas(nlmsghdr) char buf[8192];
  int64_t now = MonotonicNs();
  while (true) {
    ssize_t n = ::recv(netlink_fd_, buf, sizeof(buf), 0);
    if (n <= 0) break;
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, static_cast<unsigned>(n));
         h = NLMSG_NEXT(h, n)) {
      auto* msg = static_cast<cn_msg*>(NLMSG_DATA(h));
      if (msg->id.idx != CN_IDX_PROC || msg->id.val != CN_VAL_PROC) continue;
      // The event sits 4-byte aligned after cn_msg; proc_event needs 8: copy it out.
      proc_event ev{};
      std::memcpy(&ev, msg->data, std::min<size_t>(sizeof(ev), msg->len));
      if (ev.what != proc_event::PROC_EVENT_EXEC) continue;
      exec_times_[ev.event_data.exec.process_pid].push_back(static_cast<int64_t>(ev.timestamp_ns));
    }
  }
  // Bound the history: drop exec times older than two minutes.
  if (exec_times_.size() > 4096) {
    std::erase_if(exec_times_, [&](const auto& kv) {
      return kv.second.empty() || now - kv.second.back() > kExecHistoryNs;
    });
  }
}

std::chrono::nanoseconds StartupWatcher::ExecTime(int pid, std::chrono::nanoseconds not_after,
                                                  bool* precise) {
  auto it = exec_times_.find(pid);
  if (it != exec_times_.end()) {
    int64_t best = -1;
    for (int64_t t : it->second) {
      if (t <= not_after.count()) best = std::max(best, t);
    }
    if (best >= 0) {
      *precise = true;
      return std::chrono::nanoseconds(best);
    }
  }
  *precise = false;
  // Fallback: the process' start (fork) time in clock ticks since boot.
  auto stat = ReadFileToString(JoinPath(options_.proc_root, std::to_string(pid) + "/stat"));
  if (!stat.ok()) return std::chrono::nanoseconds(-1);
  size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::chrono::nanoseconds(-1);
  std::vector<std::string_view> f = SplitFields(std::string_view(*stat).substr(close + 2));
  uint64_t ticks = 0;
  if (f.size() < 20 || !ParseUint64(f[19], &ticks)) return std::chrono::nanoseconds(-1);
  timespec boot{};
  ::clock_gettime(CLOCK_BOOTTIME, &boot);
  int64_t boot_ns = int64_t{boot.tv_sec} * 1'000'000'000 + boot.tv_nsec;
  int64_t since_start_ns =
      boot_ns - static_cast<int64_t>(ticks) * (1'000'000'000 / ::sysconf(_SC_CLK_TCK));
  return std::chrono::nanoseconds(MonotonicNs() - since_start_ns);
}

bool StartupWatcher::Check(Pending& p) {
  auto procs = ReadFileToString(JoinPath(p.dir, "cgroup.procs"));
  if (!procs.ok()) return true;  // the container is gone already
  std::vector<int> pids;
  for (std::string_view line : SplitLines(*procs)) {
    uint64_t pid = 0;
    if (ParseUint64(line, &pid) && pid > 0 && pid < (1u << 22))
      pids.push_back(static_cast<int>(pid));
    if (pids.size() >= kMaxPidsChecked) break;
  }
  int64_t now = MonotonicNs();
  if (!pids.empty() && p.first_pid == 0) p.first_pid = pids.front();
  for (int pid : pids) {
    std::vector<uint64_t> inodes = SocketInodes(options_.proc_root, pid);
    if (inodes.empty()) continue;
    for (const char* file : {"/net/tcp", "/net/tcp6"}) {
      auto text = ReadFileToString(JoinPath(options_.proc_root, std::to_string(pid) + file));
      if (!text.ok()) continue;
      for (uint64_t listening : ParseListeningInodes(*text)) {
        if (std::find(inodes.begin(), inodes.end(), listening) != inodes.end()) {
          DrainNetlink();  // the exec event may still be queued
          bool precise = false;
          auto exec = ExecTime(p.first_pid, std::chrono::nanoseconds(now), &precise);
          if (exec.count() < 0) return true;
          Finish(p, static_cast<double>(now - exec.count()) / 1e9);
          return true;
        }
      }
    }
  }
  if (std::chrono::steady_clock::now() - p.noticed > options_.timeout) {
    Finish(p, -1);
    return true;
  }
  return false;
}

void StartupWatcher::Finish(const Pending& p, double startup_seconds) {
  StartupMeasurement m;
  m.pod_uid = p.pod_uid;
  m.container_id = p.container_id;
  m.startup_seconds = startup_seconds;
  bool precise = false;
  if (p.first_pid != 0) {
    auto exec = ExecTime(p.first_pid, std::chrono::nanoseconds(MonotonicNs()), &precise);
    if (exec.count() >= 0) m.exec_unix_seconds = UnixFromMonotonic(exec.count());
  }
  m.exec_from_process_connector = precise;
  std::lock_guard<std::mutex> lock(mutex_);
  finished_.push_back(std::move(m));
}

void StartupWatcher::Run() {
  while (!stop_) {
    pollfd fds[3] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}, {netlink_fd_, POLLIN, 0}};
    int nfds = netlink_fd_ >= 0 ? 3 : 2;
    if (pending_.empty()) {
      ::poll(fds, static_cast<nfds_t>(nfds), 1000);
    } else {
      timespec ts{0, static_cast<long>(std::chrono::nanoseconds(options_.poll_interval).count())};
      ::ppoll(fds, static_cast<nfds_t>(nfds), &ts, nullptr);
    }
    if (stop_) return;
    DrainNetlink();
    DrainInotify();
    std::erase_if(pending_, [this](Pending& p) { return Check(p); });
  }
}

}  // namespace podmeter
