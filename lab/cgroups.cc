#include "lab/cgroups.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <set>
#include <thread>

#include "collectors/base/file_util.h"
#include "collectors/cgroupfs/cgroup_dirs.h"
#include "collectors/readers/memory_stat.h"
#include "lab/kubelet_values.h"

namespace podmeter::lab {
namespace {

constexpr const char* kControllers[] = {"cpu", "cpuacct", "memory", "pids", "cpuset"};
constexpr const char* kNeededV2[] = {"cpu", "memory", "pids"};

std::string_view StripNewline(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  return text;
}

// The names in a cgroup.controllers or cgroup.subtree_control file.
std::set<std::string_view> Words(std::string_view text) {
  auto fields = SplitFields(StripNewline(text));
  return {fields.begin(), fields.end()};
}

}  // namespace

StatusOr<LabCgroups> LabCgroups::Detect() {
  auto text = ReadFileToString("/proc/self/mountinfo");
  if (!text.ok()) return text.status();
  auto mounts = ParseMountInfo(*text);
  if (!mounts.ok()) return mounts.status();
  LabCgroups c;
  c.mounts_ = SelectCgroupMounts(*mounts, "/sys/fs/cgroup");
  if (c.mounts_.version == CgroupMounts::Version::kNone) {
    return Status::Unavailable("no cgroup v1 cpu/memory or cgroup2 hierarchy is mounted");
  }
  if (c.mounts_.version == CgroupMounts::Version::kV1) {
    for (const char* needed : {"cpu", "cpuacct", "memory"}) {
      if (!c.mounts_.v1.count(needed)) {
        return Status::Unavailable(std::string("the cgroup v1 '") + needed +
                                   "' controller is not mounted");
      }
    }
  }
  if (c.mounts_.version == CgroupMounts::Version::kV2) {
    auto offered = ReadFileToString(JoinPath(c.mounts_.unified, "cgroup.controllers"));
    if (!offered.ok()) return offered.status();
    for (const char* needed : kNeededV2) {
      if (!Words(*offered).count(needed)) {
        return Status::Unavailable("the cgroup2 hierarchy at " + c.mounts_.unified +
                                   " does not offer the '" + needed +
                                   "' controller (its cgroup.controllers: \"" +
                                   std::string(StripNewline(*offered)) + "\")");
      }
    }
  }
  if (::access(c.Dirs("")[0].c_str(), W_OK) != 0) {
    return Status::PermissionDenied(
        "cannot write to the cgroup hierarchy: run podmeter-lab as root");
  }
  return c;
}

std::string LabCgroups::QosParent(const std::string& qos) {
  if (qos == "Burstable") return "kubepods/burstable";
  if (qos == "BestEffort") return "kubepods/besteffort";
  return "kubepods";
}

std::vector<std::string> LabCgroups::Dirs(const std::string& rel) const {
  std::vector<std::string> out;
  if (mounts_.version == CgroupMounts::Version::kV2) return {JoinPath(mounts_.unified, rel)};
  std::set<std::string> seen;  // combined mounts (cpu,cpuacct) share a directory
  for (const char* c : kControllers) {
    auto it = mounts_.v1.find(c);
    if (it != mounts_.v1.end() && seen.insert(it->second).second) {
      out.push_back(JoinPath(it->second, rel));
    }
  }
  return out;
}

Status LabCgroups::Write(const std::string& dir, const char* file, const std::string& value) const {
  std::string path = JoinPath(dir, file);
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return Status::FromErrno(errno, path);
  bool ok = std::fputs(value.c_str(), f) >= 0;
  int err = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) return Status::FromErrno(err ? err : errno, path);
  return Status::Ok();
}

Status LabCgroups::EnableControllers(const std::string& dir) const {
  auto offered = ReadFileToString(JoinPath(dir, "cgroup.controllers"));
  if (!offered.ok()) return offered.status();
  std::string all;
  for (std::string_view c : Words(*offered)) all.append(all.empty() ? "+" : " +").append(c);
  if (!Write(dir, "cgroup.subtree_control", all).ok()) {
    // One at a time, as runc does: one controller refused does not keep the others off.
    for (std::string_view c : Words(*offered)) {
      (void)Write(dir, "cgroup.subtree_control", std::string("+").append(c));
    }
  }
  auto enabled = ReadFileToString(JoinPath(dir, "cgroup.subtree_control"));
  if (!enabled.ok()) return enabled.status();
  for (const char* needed : kNeededV2) {
    if (!Words(*enabled).count(needed)) {
      return Status::Unavailable(JoinPath(dir, "cgroup.subtree_control") + ": cannot enable the '" +
                                 needed + "' controller for the lab's cgroups (offered: \"" +
                                 std::string(StripNewline(*offered)) + "\")");
    }
  }
  return Status::Ok();
}

Status LabCgroups::Create(const std::string& rel, const CgroupLimits& limits) {
  // Parents first; a new v1 cpuset must get cpus and mems before a task can join.
  std::vector<std::string> levels;
  for (size_t pos = rel.find('/'); pos != std::string::npos; pos = rel.find('/', pos + 1)) {
    levels.push_back(rel.substr(0, pos));
  }
  levels.push_back(rel);
  const bool v2 = mounts_.version == CgroupMounts::Version::kV2;
  if (v2) {
    if (Status s = EnableControllers(mounts_.unified); !s.ok()) return s;
  }
  for (const std::string& level : levels) {
    for (const std::string& dir : Dirs(level)) {
      if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return Status::FromErrno(errno, dir);
      if (!v2 && dir.find("/cpuset/") != std::string::npos) {
        std::string parent = dir.substr(0, dir.rfind('/'));
        for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
          auto current = ReadFileToString(JoinPath(dir, f));
          if (current.ok() && current->find_first_not_of(" \n") != std::string::npos) continue;
          auto inherited = ReadFileToString(JoinPath(parent, f));
          if (!inherited.ok()) return inherited.status();
          Status s = Write(dir, f, *inherited);
          if (!s.ok()) return s;
        }
      }
      if (v2 && level != rel) {
        if (Status s = EnableControllers(dir); !s.ok()) return s;
      }
    }
  }
  if (Status s = ApplyCpu(rel, limits); !s.ok()) return s;
  return ApplyMemoryAndPids(rel, limits);
}

Status LabCgroups::ApplyCpu(const std::string& rel, const CgroupLimits& limits) {
  CgroupDirs dirs = ResolveCgroupDirs(mounts_, rel);
  const bool v2 = mounts_.version == CgroupMounts::Version::kV2;
  uint64_t shares = MilliCpuToShares(limits.cpu_request_millis);
  Status s = v2 ? Write(dirs.unified, "cpu.weight", std::to_string(CpuSharesToWeight(shares)))
                : Write(dirs.cpu, "cpu.shares", std::to_string(shares));
  if (!s.ok()) return s;
  s = SetCpuLimit(rel, limits.cpu_limit_millis);
  if (!s.ok() || limits.cpus.empty()) return s;
  std::string cpuset_dir =
      v2 ? dirs.unified
         : (mounts_.v1.count("cpuset") ? JoinPath(mounts_.v1.at("cpuset"), rel) : std::string());
  return cpuset_dir.empty() ? Status::Ok() : Write(cpuset_dir, "cpuset.cpus", limits.cpus);
}

Status LabCgroups::ApplyMemoryAndPids(const std::string& rel, const CgroupLimits& limits) {
  CgroupDirs dirs = ResolveCgroupDirs(mounts_, rel);
  if (mounts_.version == CgroupMounts::Version::kV2) {
    if (limits.memory_limit_bytes) {
      Status s = Write(dirs.unified, "memory.max", std::to_string(*limits.memory_limit_bytes));
      if (!s.ok()) return s;
    }
    if (limits.oom_group) {
      Status s = Write(dirs.unified, "memory.oom.group", "1");
      if (!s.ok()) return s;
    }
    return Write(dirs.unified, "pids.max", std::to_string(limits.pids_max));
  }
  if (limits.memory_limit_bytes) {
    Status s =
        Write(dirs.memory, "memory.limit_in_bytes", std::to_string(*limits.memory_limit_bytes));
    if (!s.ok()) return s;
  }
  if (!dirs.pids.empty()) (void)Write(dirs.pids, "pids.max", std::to_string(limits.pids_max));
  return Status::Ok();
}

Status LabCgroups::SetCpuLimit(const std::string& rel, std::optional<int64_t> limit_millis) {
  CgroupDirs dirs = ResolveCgroupDirs(mounts_, rel);
  if (mounts_.version == CgroupMounts::Version::kV2) {
    return Write(dirs.unified, "cpu.max", CpuMaxValue(limit_millis, kCfsPeriodUs));
  }
  Status s = Write(dirs.cpu, "cpu.cfs_period_us", std::to_string(kCfsPeriodUs));
  if (!s.ok()) return s;
  auto quota = MilliCpuToQuota(limit_millis, kCfsPeriodUs);
  return Write(dirs.cpu, "cpu.cfs_quota_us", quota ? std::to_string(*quota) : "-1");
}

bool LabCgroups::Exists(const std::string& rel) const {
  return ::access(Dirs(rel)[0].c_str(), F_OK) == 0;
}

std::vector<std::string> LabCgroups::ProcsFiles(const std::string& rel) const {
  std::vector<std::string> out;
  for (const std::string& dir : Dirs(rel)) out.push_back(JoinPath(dir, "cgroup.procs"));
  return out;
}

Status LabCgroups::Remove(const std::string& rel) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (const std::string& dir : Dirs(rel)) {
    while (true) {
      auto procs = ReadFileToString(JoinPath(dir, "cgroup.procs"));
      if (!procs.ok()) break;  // already gone
      bool empty = true;
      for (std::string_view line : SplitLines(*procs)) {
        uint64_t pid = 0;
        if (ParseUint64(line, &pid) && pid > 0) {
          empty = false;
          ::kill(static_cast<pid_t>(pid), SIGKILL);
        }
      }
      if (empty || std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) return Status::FromErrno(errno, dir);
  }
  return Status::Ok();
}

Status LabCgroups::RemoveAll() {
  // Every path below kubepods in any hierarchy, deepest first: containers, pods, QoS, kubepods.
  std::set<std::string> found = {""};
  for (const std::string& root : Dirs("kubepods")) {
    std::vector<std::string> stack = {""};
    while (!stack.empty()) {
      std::string rel = stack.back();
      stack.pop_back();
      found.insert(rel);
      auto children = ListSubdirectories(JoinPath(root, rel));
      if (!children.ok()) continue;
      for (const std::string& c : *children) stack.push_back(rel.empty() ? c : JoinPath(rel, c));
    }
  }
  std::vector<std::string> ordered(found.begin(), found.end());
  std::sort(ordered.begin(), ordered.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  Status result;
  for (const std::string& rel : ordered) {
    Status s = Remove(rel.empty() ? "kubepods" : JoinPath("kubepods", rel));
    if (!s.ok() && result.ok()) result = s;
  }
  return result;
}

uint64_t LabCgroups::OomKills(const std::string& rel) const {
  CgroupDirs dirs = ResolveCgroupDirs(mounts_, rel);
  const bool v2 = mounts_.version == CgroupMounts::Version::kV2;
  auto text = ReadFileToString(
      JoinPath(v2 ? dirs.unified : dirs.memory, v2 ? "memory.events" : "memory.oom_control"));
  if (!text.ok()) return 0;
  auto kills = v2 ? ParseMemoryEventsOomKill(*text) : ParseOomControl(*text);
  return kills.ok() ? *kills : 0;
}

}  // namespace podmeter::lab
