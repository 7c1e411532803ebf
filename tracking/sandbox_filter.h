// Telling a pod's sandbox apart from its containers. Pure; thread-safe.
#pragma once

#include <vector>

#include "collectors/kube/pod_metadata.h"
#include "collectors/readers/samples.h"

namespace podmeter {

/// Removes each pod's sandbox from `pods`: a container cgroup whose only process is `pause`
/// (ProcessSample::is_pause) and whose id is not among the pod's container statuses in `meta`.
/// The PodList never names the sandbox, so a pause-only container that is listed is a user
/// container running the pause image and stays. Without metadata (null, or the pod not listed
/// yet) every pause-only container is taken for the sandbox. Other containers always stay (a
/// container not listed yet is shown under its short id).
void DropSandboxes(const std::vector<PodMeta>* meta, std::vector<PodSample>* pods);

}  // namespace podmeter
