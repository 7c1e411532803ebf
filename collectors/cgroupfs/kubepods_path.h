// Recognising the kubelet's pod and container cgroup names. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "collectors/cgroupfs/qos_class.h"

namespace podmeter {

enum class CgroupDriver { kCgroupfs, kSystemd };

/// What a cgroup path below a hierarchy root says about the pod and container it belongs to.
struct KubepodsPath {
  CgroupDriver driver = CgroupDriver::kCgroupfs;
  QosClass qos = QosClass::kGuaranteed;
  std::string pod_uid;       ///< with '-' (systemd's '_' translated back)
  std::string container_id;  ///< 64 hex digits; empty for the pod cgroup itself
  std::string runtime;       ///< "cri-containerd", "crio", "docker", or "" for a bare id
};

/// Parses a path such as `kubepods/burstable/pod<uid>/<id>` or
/// `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid>.slice/crio-<id>.scope`,
/// possibly below a parent (e.g. `kubelet.slice/kubelet-kubepods.slice/...`). Returns nothing for
/// anything that is not a pod or container cgroup (QoS slices, conmon scopes, system cgroups).
std::optional<KubepodsPath> ParseKubepodsPath(std::string_view path);

/// True for the name of a kubepods root directory: `kubepods` or `*kubepods.slice`.
bool IsKubepodsRootName(std::string_view name);

}  // namespace podmeter
