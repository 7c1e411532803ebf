#include "collectors/cgroupfs/kubepods_path.h"

#include <vector>

namespace podmeter {
namespace {

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return !s.empty();
}

// Pod uids are RFC 4122 uuids; static pods use a 32-hex config hash.
bool IsPodUid(std::string_view s) {
  if (s.size() != 36 && s.size() != 32) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-')) return false;
  }
  return true;
}

bool ConsumePrefix(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

bool ConsumeSuffix(std::string_view& s, std::string_view suffix) {
  if (s.size() < suffix.size() || s.substr(s.size() - suffix.size()) != suffix) return false;
  s.remove_suffix(suffix.size());
  return true;
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty()) parts.push_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

// "<runtime>-<64 hex>" (systemd scope, ".scope" already removed) or a bare "<64 hex>".
bool ParseContainerName(std::string_view name, std::string* id, std::string* runtime) {
  static constexpr std::string_view kRuntimes[] = {"cri-containerd", "crio", "docker"};
  std::string_view rest = name;
  std::string_view found;
  for (std::string_view rt : kRuntimes) {
    std::string_view candidate = rest;
    if (ConsumePrefix(candidate, rt) && ConsumePrefix(candidate, "-")) {
      found = rt;
      rest = candidate;
      break;
    }
  }
  if (rest.size() != 64 || !IsHex(rest)) return false;
  *id = std::string(rest);
  *runtime = std::string(found);
  return true;
}

std::optional<KubepodsPath> ParseCgroupfs(const std::vector<std::string_view>& p, size_t i) {
  // p[i] == "kubepods"
  KubepodsPath out;
  out.driver = CgroupDriver::kCgroupfs;
  size_t j = i + 1;
  if (j < p.size() && p[j] == "burstable") {
    out.qos = QosClass::kBurstable;
    ++j;
  } else if (j < p.size() && p[j] == "besteffort") {
    out.qos = QosClass::kBestEffort;
    ++j;
  }
  if (j >= p.size()) return std::nullopt;
  std::string_view pod = p[j];
  if (!ConsumePrefix(pod, "pod") || !IsPodUid(pod)) return std::nullopt;
  out.pod_uid = std::string(pod);
  ++j;
  if (j == p.size()) return out;
  if (j + 1 != p.size()) return std::nullopt;
  if (!ParseContainerName(p[j], &out.container_id, &out.runtime)) return std::nullopt;
  return out;
}

std::optional<KubepodsPath> ParseSystemd(const std::vector<std::string_view>& p, size_t i) {
  // p[i] is "<stem>.slice" with stem "kubepods" (or e.g. "kubelet-kubepods" under kind); the QoS
  // slices and pod slices repeat the stem:
  // "<stem>-burstable.slice/<stem>-burstable-pod<uid>.slice".
  KubepodsPath out;
  out.driver = CgroupDriver::kSystemd;
  std::string stem(p[i].substr(0, p[i].size() - std::string_view(".slice").size()));
  std::string pod_prefix = stem + "-pod";
  size_t j = i + 1;
  if (j < p.size() && p[j] == stem + "-burstable.slice") {
    out.qos = QosClass::kBurstable;
    pod_prefix = stem + "-burstable-pod";
    ++j;
  } else if (j < p.size() && p[j] == stem + "-besteffort.slice") {
    out.qos = QosClass::kBestEffort;
    pod_prefix = stem + "-besteffort-pod";
    ++j;
  }
  if (j >= p.size()) return std::nullopt;
  std::string_view pod = p[j];
  if (!ConsumePrefix(pod, pod_prefix) || !ConsumeSuffix(pod, ".slice")) return std::nullopt;
  std::string uid(pod);
  for (char& c : uid) {
    if (c == '_') c = '-';
  }
  if (!IsPodUid(uid)) return std::nullopt;
  out.pod_uid = std::move(uid);
  ++j;
  if (j == p.size()) return out;
  if (j + 1 != p.size()) return std::nullopt;
  std::string_view scope = p[j];
  if (!ConsumeSuffix(scope, ".scope")) return std::nullopt;
  if (!ParseContainerName(scope, &out.container_id, &out.runtime)) return std::nullopt;
  if (out.runtime.empty()) return std::nullopt;  // systemd scopes always name the runtime
  return out;
}

}  // namespace

bool IsKubepodsRootName(std::string_view name) {
  return name == "kubepods" || name == "kubepods.slice" ||
         (name.size() > 15 && ConsumeSuffix(name, "-kubepods.slice"));
}

std::optional<KubepodsPath> ParseKubepodsPath(std::string_view path) {
  std::vector<std::string_view> parts = SplitPath(path);
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i] == "kubepods") return ParseCgroupfs(parts, i);
    if (IsKubepodsRootName(parts[i])) return ParseSystemd(parts, i);
  }
  return std::nullopt;
}

}  // namespace podmeter
