#include "collectors/cgroupfs/cgroup_dirs.h"

#include "collectors/base/file_util.h"

namespace podmeter {

CgroupDirs ResolveCgroupDirs(const CgroupMounts& mounts, const std::string& rel_path) {
  CgroupDirs dirs;
  dirs.version = mounts.version;
  if (mounts.version == CgroupMounts::Version::kV2) {
    dirs.unified = JoinPath(mounts.unified, rel_path);
    return dirs;
  }
  auto dir = [&](const char* controller) -> std::string {
    auto it = mounts.v1.find(controller);
    return it == mounts.v1.end() ? std::string() : JoinPath(it->second, rel_path);
  };
  dirs.cpu = dir("cpu");
  dirs.cpuacct = dir("cpuacct");
  dirs.memory = dir("memory");
  dirs.pids = dir("pids");
  return dirs;
}

}  // namespace podmeter
