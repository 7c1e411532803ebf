#include "collectors/watchers/startup_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "collectors/base/file_util.h"
#include "collectors/cgroupfs/kubepods_path.h"

namespace podmeter {
namespace {

constexpr size_t kMaxPidsChecked = 16;
// How deep a kubepods root may sit below the hierarchy root (cgroup_discovery looks as deep).
constexpr int kKubepodsRootMaxLevel = 3;
// A pending container is polled every 1/kPollFraction of its age (within the options' bounds):
// the figure is late by at most that fraction of itself, plus scheduling.
constexpr int kPollFraction = 64;

double UnixFromMonotonic(int64_t mono_ns) {
  timespec rt{};
  ::clock_gettime(CLOCK_REALTIME, &rt);
  double now_unix = static_cast<double>(rt.tv_sec) + static_cast<double>(rt.tv_nsec) / 1e9;
  return now_unix - static_cast<double>(MonotonicNowNs() - mono_ns) / 1e9;
}

std::vector<int> ParsePids(std::string_view procs) {
  std::vector<int> pids;
  for (std::string_view line : SplitLines(procs)) {
    uint64_t pid = 0;
    if (ParseUint64(line, &pid) && pid > 0 && pid < (1u << 22))
      pids.push_back(static_cast<int>(pid));
    if (pids.size() >= kMaxPidsChecked) break;
  }
  return pids;
}

}  // namespace

const char* StartupClockName(StartupClock clock) {
  return clock == StartupClock::kExec ? "exec" : "fork";
}

StartupWatcher::StartupWatcher(Options options) : options_(std::move(options)) {}

StartupWatcher::~StartupWatcher() { Stop(); }

Status StartupWatcher::Start() {
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) return Status::FromErrno(errno, "inotify_init1");
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return Status::FromErrno(errno, "eventfd");
  if (options_.use_process_connector) {
    // Fails without CAP_NET_ADMIN or outside the initial network namespace: fork times then.
    Status s = connector_.Open();
    if (!s.ok()) connector_error_ = s.message();
  } else {
    connector_error_ = "not used (use_process_connector is false)";
  }
  AddWatchTree(options_.hierarchy_root, 5, /*fresh=*/false);
  PublishStats();
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
  for (int* fd : {&inotify_fd_, &wake_fd_}) {
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

StartupWatcherStats StartupWatcher::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void StartupWatcher::PublishStats() {
  counts_.watches = watch_dirs_.size();
  counts_.pending = pending_.size();
  counts_.exec_history = execs_.size();
  counts_.connector_overruns = connector_.overruns();
  std::lock_guard<std::mutex> lock(mutex_);
  stats_ = counts_;
}

void StartupWatcher::Enqueue(const std::string& pod_uid, const std::string& container_id,
                             const std::string& dir) {
  if (!queued_.emplace(container_id, dir).second) return;  // found by the scan and the watch
  Announce(pod_uid, container_id, dir);
  auto now = std::chrono::steady_clock::now();
  Pending p;
  p.pod_uid = pod_uid;
  p.container_id = container_id;
  p.dir = dir;
  p.noticed = p.next_check = now;
  pending_.push_back(std::move(p));
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
    if (fresh) Enqueue(parsed->pod_uid, parsed->container_id, dir);
    return;
  }
  int wd = ::inotify_add_watch(inotify_fd_, dir.c_str(),
                               IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR);
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
    Enqueue(parsed->pod_uid, parsed->container_id, dir);
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
      if (ev->mask & IN_IGNORED) {  // the directory was removed: the kernel dropped its watch
        watch_dirs_.erase(ev->wd);
        continue;
      }
      // A cgroup removed (rmdir) under a watched one, or events lost: Sweep() looks.
      if (ev->mask & (IN_DELETE | IN_MOVED_FROM | IN_Q_OVERFLOW)) {
        removed_ = true;
        continue;
      }
      if (!(ev->mask & IN_ISDIR) || ev->len == 0) continue;
      auto it = watch_dirs_.find(ev->wd);
      if (it == watch_dirs_.end()) continue;
      OnCreated(JoinPath(it->second, ev->name));
    }
  }
}

// The application process: of the container's processes that are no longer the runtime's
// bootstrap, the one whose parent is outside the container (the entrypoint; its children, if
// any, are inside). Its exec event is looked up as soon as it is known.
void StartupWatcher::FindApplication(Pending& p, const std::vector<int>& pids) {
  int found = 0;
  for (int pid : pids) {
    if (IsRuntimeBootstrap(ReadComm(options_.proc_root, pid), ReadExe(options_.proc_root, pid)))
      continue;
    auto origin = ReadProcessOrigin(options_.proc_root, pid);
    if (!origin) continue;
    if (found == 0) found = pid;
    if (std::find(pids.begin(), pids.end(), origin->ppid) == pids.end()) {
      found = pid;
      break;
    }
  }
  if (found != p.app_pid) {
    p.app_pid = found;
    p.exec_ns.reset();
  }
}

bool StartupWatcher::Check(Pending& p) {
  auto procs = ReadFileToString(JoinPath(p.dir, "cgroup.procs"));
  if (!procs.ok() && ::access(p.dir.c_str(), F_OK) != 0) {  // the container is gone already
    ++counts_.vanished;
    return true;
  }
  std::vector<int> pids = procs.ok() ? ParsePids(*procs) : std::vector<int>();
  if (p.app_pid == 0 || std::find(pids.begin(), pids.end(), p.app_pid) == pids.end())
    FindApplication(p, pids);
  if (p.app_pid != 0 && IsSandboxPause(ReadComm(options_.proc_root, p.app_pid))) {
    ++counts_.sandboxes_skipped;
    return true;
  }
  if (p.app_pid != 0 && !p.exec_ns && connector_.fd() >= 0) {
    auto origin = ReadProcessOrigin(options_.proc_root, p.app_pid);
    if (origin) p.exec_ns = execs_.FirstExec(p.app_pid, origin->fork_ns - 1'000'000);
  }
  for (int pid : pids) {
    if (HoldsListeningSocket(options_.proc_root, pid)) {
      // Stamped after the read that saw the socket: never before the listen() itself.
      int64_t seen = MonotonicNowNs();
      if (p.app_pid == 0) p.app_pid = pid;
      Finish(p, seen);
      ++counts_.measured;
      return true;
    }
  }
  if (std::chrono::steady_clock::now() - p.noticed > options_.timeout) {
    ++counts_.never_listened;
    Finish(p, std::nullopt);
    return true;
  }
  return false;
}

void StartupWatcher::Finish(Pending& p, std::optional<int64_t> listening_ns) {
  StartupMeasurement m;
  m.pod_uid = p.pod_uid;
  m.container_id = p.container_id;
  std::optional<int64_t> start;
  auto origin = p.app_pid != 0 ? ReadProcessOrigin(options_.proc_root, p.app_pid) : std::nullopt;
  if (!p.exec_ns && origin) {
    connector_.Drain(&execs_);  // the exec event may still be queued
    p.exec_ns = execs_.FirstExec(p.app_pid, origin->fork_ns - 1'000'000);
  }
  if (p.exec_ns) {
    start = *p.exec_ns;
    m.clock = StartupClock::kExec;
  } else if (origin) {
    start = origin->fork_ns;
    m.clock = StartupClock::kFork;
  }
  if (!start) return;  // no process to measure from (it exited, or never started)
  m.start_unix_seconds = UnixFromMonotonic(*start);
  if (listening_ns) m.startup_seconds = static_cast<double>(*listening_ns - *start) / 1e9;
  std::lock_guard<std::mutex> lock(mutex_);
  finished_.push_back(std::move(m));
}

std::chrono::steady_clock::duration StartupWatcher::PollInterval(
    std::chrono::steady_clock::duration age) const {
  return std::clamp<std::chrono::steady_clock::duration>(
      age / kPollFraction, options_.poll_interval, options_.max_poll_interval);
}

void StartupWatcher::CheckDue() {
  auto now = std::chrono::steady_clock::now();
  std::erase_if(pending_, [&](Pending& p) {
    if (p.next_check > now) return false;
    ++counts_.checks;
    if (Check(p)) return true;
    p.next_check = now + PollInterval(now - p.noticed);
    return false;
  });
}

std::optional<std::chrono::nanoseconds> StartupWatcher::TimeToNextCheck() const {
  if (pending_.empty()) return std::nullopt;
  auto next = std::min_element(pending_.begin(), pending_.end(), [](const auto& a, const auto& b) {
                return a.next_check < b.next_check;
              })->next_check;
  return std::max(std::chrono::nanoseconds(0), std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                   next - std::chrono::steady_clock::now()));
}

// The kernel drops a watch (IN_IGNORED) when the directory's inode goes, which cgroupfs does not
// do at rmdir: the watches and queued ids of removed cgroups are dropped here, within a second of
// the removal (the parent's IN_DELETE) and every 30 s.
void StartupWatcher::Sweep() {
  for (auto it = watch_dirs_.begin(); it != watch_dirs_.end();) {
    if (::access(it->second.c_str(), F_OK) == 0) {
      ++it;
      continue;
    }
    ::inotify_rm_watch(inotify_fd_, it->first);
    it = watch_dirs_.erase(it);
  }
  std::erase_if(queued_, [](const auto& kv) { return ::access(kv.second.c_str(), F_OK) != 0; });
}

void StartupWatcher::Run() {
  while (!stop_) {
    pollfd fds[3] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}, {connector_.fd(), POLLIN, 0}};
    nfds_t nfds = connector_.fd() >= 0 ? 3 : 2;
    auto wait = TimeToNextCheck().value_or(std::chrono::seconds(1));
    timespec ts{static_cast<time_t>(wait.count() / 1'000'000'000),
                static_cast<long>(wait.count() % 1'000'000'000)};
    ::ppoll(fds, nfds, &ts, nullptr);
    if (stop_) return;
    connector_.Drain(&execs_);
    DrainInotify();
    CheckDue();
    // At most once a second, and only after a removal (not 100 path lookups a second at 110
    // pods while nothing goes); every 30 s regardless.
    if (auto now = std::chrono::steady_clock::now();
        now >= next_sweep_ && (removed_ || now >= last_sweep_ + std::chrono::seconds(30))) {
      removed_ = false;
      Sweep();
      last_sweep_ = now;
      next_sweep_ = now + std::chrono::seconds(1);
    }
    PublishStats();
  }
}

}  // namespace podmeter
