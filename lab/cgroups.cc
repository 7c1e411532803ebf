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

namespace podmeter::lab {
namespace {

constexpr const char* kControllers[] = {"cpu", "cpuacct", "memory", "pids", "cpuset"};
constexpr int64_t kPeriodUs = 100000;

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

Status LabCgroups::Create(const std::string& rel, const CgroupLimits& limits) {
  // Parents first; a new v1 cpuset must get cpus and mems before a task can join.
  std::vector<std::string> levels;
  for (size_t pos = rel.find('/'); pos != std::string::npos; pos = rel.find('/', pos + 1)) {
    levels.push_back(rel.substr(0, pos));
  }
  levels.push_back(rel);
  const bool v2 = mounts_.version == CgroupMounts::Version::kV2;
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
        (void)Write(dir, "cgroup.subtree_control", "+cpu +memory +pids +cpuset");
      }
    }
  }
  CgroupDirs dirs = ResolveCgroupDirs(mounts_, rel);
  if (limits.cpu_request_millis && !v2) {
    Status s =
        Write(dirs.cpu, "cpu.shares",
              std::to_string(std::max<int64_t>(2, *limits.cpu_request_millis * 1024 / 1000)));
    if (!s.ok()) return s;
  }
  Status s = SetCpuLimit(rel, limits.cpu_limit_millis);
  if (!s.ok()) return s;
  if (limits.memory_limit_bytes) {
    s = v2 ? Write(dirs.unified, "memory.max", std::to_string(*limits.memory_limit_bytes))
           : Write(dirs.memory, "memory.limit_in_bytes",
                   std::to_string(*limits.memory_limit_bytes));
    if (!s.ok()) return s;
  }
  if (!dirs.pids.empty() || v2) {
    (void)Write(v2 ? dirs.unified : dirs.pids, "pids.max", std::to_string(limits.pids_max));
  }
  if (!limits.cpus.empty()) {
    std::string cpuset_dir =
        v2 ? dirs.unified
           : (mounts_.v1.count("cpuset") ? JoinPath(mounts_.v1.at("cpuset"), rel) : std::string());
    if (!cpuset_dir.empty()) {
      s = Write(cpuset_dir, "cpuset.cpus", limits.cpus);
      if (!s.ok()) return s;
    }
  }
  return Status::Ok();
}

Status LabCgroups::SetCpuLimit(const std::string& rel, std::optional<int64_t> limit_millis) {
  CgroupDirs dirs = ResolveCgroupDirs(mounts_, rel);
  if (mounts_.version == CgroupMounts::Version::kV2) {
    std::string value = limit_millis ? std::to_string(*limit_millis * kPeriodUs / 1000) : "max";
    return Write(dirs.unified, "cpu.max", value + " " + std::to_string(kPeriodUs));
  }
  Status s = Write(dirs.cpu, "cpu.cfs_period_us", std::to_string(kPeriodUs));
  if (!s.ok()) return s;
  return Write(dirs.cpu, "cpu.cfs_quota_us",
               limit_millis ? std::to_string(*limit_millis * kPeriodUs / 1000) : "-1");
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
