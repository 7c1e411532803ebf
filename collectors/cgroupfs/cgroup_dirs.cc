#include "collectors/cgroupfs/cgroup_dirs.h"

#include <unistd.h>

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

StatusOr<std::string> ReadOptionalCgroupFile(const std::string& dir, const char* file) {
  auto content = ReadFileToString(JoinPath(dir, file));
  if (content.ok() || !content.status().IsNotFound()) return content;
  if (::access(dir.c_str(), F_OK) != 0) return content.status();  // the cgroup itself is gone
  return std::string();
}

Status ReadOptionalCgroupFile(OpenFileCache* files, const std::string& dir, const char* file,
                              std::string* out) {
  Status s = files->Read(JoinPath(dir, file), out);
  if (s.ok() || !s.IsNotFound()) return s;
  if (::access(dir.c_str(), F_OK) != 0) return s;  // the cgroup itself is gone
  out->clear();
  return Status::Ok();
}

}  // namespace podmeter
