#include "collectors/cgroupfs/mountinfo.h"

#include "collectors/base/file_util.h"

namespace podmeter {
namespace {

constexpr std::string_view kCanonicalRoot = "/sys/fs/cgroup";

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string DecodeOctalEscapes(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool IsUnder(std::string_view path, std::string_view root) {
  if (path.substr(0, root.size()) != root) return false;
  return path.size() == root.size() || path[root.size()] == '/' || root == "/";
}

// Returns the directory podmeter should read for a mount point, or "" if it is elsewhere.
std::string Reroot(std::string_view mount_point, std::string_view cgroup_root) {
  std::string root(cgroup_root);
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (IsUnder(mount_point, root)) return std::string(mount_point);
  if (IsUnder(mount_point, kCanonicalRoot)) {
    return JoinPath(root, mount_point.substr(kCanonicalRoot.size()));
  }
  return "";
}

}  // namespace

StatusOr<std::vector<MountInfo>> ParseMountInfo(std::string_view text) {
  std::vector<MountInfo> mounts;
  int line_no = 0;
  for (std::string_view line : SplitLines(text)) {
    ++line_no;
    if (line.empty()) continue;
    std::vector<std::string_view> f = SplitFields(line);
    size_t sep = 0;
    for (size_t i = 6; i < f.size(); ++i) {
      if (f[i] == "-") {
        sep = i;
        break;
      }
    }
    if (sep == 0 || sep + 1 >= f.size()) {
      return Status::InvalidData("mountinfo line " + std::to_string(line_no) +
                                 " is malformed: " + std::string(line));
    }
    MountInfo m;
    m.root = DecodeOctalEscapes(f[3]);
    m.mount_point = DecodeOctalEscapes(f[4]);
    m.fs_type = std::string(f[sep + 1]);
    if (sep + 3 < f.size()) m.super_options = std::string(f[sep + 3]);
    mounts.push_back(std::move(m));
  }
  return mounts;
}

CgroupMounts SelectCgroupMounts(const std::vector<MountInfo>& mounts,
                                std::string_view cgroup_root) {
  CgroupMounts out;
  std::string unified;
  for (const MountInfo& m : mounts) {
    std::string dir = Reroot(m.mount_point, cgroup_root);
    if (dir.empty()) continue;
    if (m.fs_type == "cgroup2") {
      if (unified.empty()) unified = dir;
    } else if (m.fs_type == "cgroup") {
      // Controllers are the super options that are not generic mount options.
      std::string_view opts = m.super_options;
      while (!opts.empty()) {
        size_t comma = opts.find(',');
        std::string_view opt = opts.substr(0, comma);
        if (opt != "rw" && opt != "ro" && opt.substr(0, 5) != "name=" && !opt.empty() &&
            opt.find('=') == std::string_view::npos && opt != "clone_children" &&
            opt != "noprefix" && opt != "xattr") {
          out.v1.emplace(std::string(opt), dir);
        }
        if (comma == std::string_view::npos) break;
        opts.remove_prefix(comma + 1);
      }
    }
  }
  if (out.v1.count("cpu") || out.v1.count("memory")) {
    out.version = CgroupMounts::Version::kV1;
  } else if (!unified.empty()) {
    out.version = CgroupMounts::Version::kV2;
    out.v1.clear();
  }
  out.unified = unified;
  return out;
}

}  // namespace podmeter
