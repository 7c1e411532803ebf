#include "collectors/cgroupfs/cgroup_discovery.h"

#include <algorithm>

#include "collectors/base/file_util.h"

namespace podmeter {
namespace {

constexpr int kMaxRootDepth = 3;

std::string PrimaryRoot(const CgroupMounts& mounts) {
  if (mounts.version == CgroupMounts::Version::kV2) return mounts.unified;
  for (const char* controller : {"memory", "cpu", "cpuacct"}) {
    if (auto it = mounts.v1.find(controller); it != mounts.v1.end()) return it->second;
  }
  return "";
}

// Collects kubepods roots (relative paths) at most `depth` levels below `rel`.
void FindKubepodsRoots(const std::string& root, const std::string& rel, int depth,
                       std::vector<std::string>* out) {
  auto children = ListSubdirectories(JoinPath(root, rel));
  if (!children.ok()) return;
  for (const std::string& name : *children) {
    std::string child = rel.empty() ? name : JoinPath(rel, name);
    if (IsKubepodsRootName(name)) {
      out->push_back(child);
    } else if (depth > 1) {
      FindKubepodsRoots(root, child, depth - 1, out);
    }
  }
}

void AddPod(const std::string& root, const std::string& pod_rel, const KubepodsPath& parsed,
            std::vector<PodCgroup>* pods) {
  PodCgroup pod;
  pod.uid = parsed.pod_uid;
  pod.qos = parsed.qos;
  pod.driver = parsed.driver;
  pod.rel_path = pod_rel;
  auto children = ListSubdirectories(JoinPath(root, pod_rel));
  if (!children.ok()) return;  // the pod vanished during the walk
  for (const std::string& name : *children) {
    std::string rel = JoinPath(pod_rel, name);
    auto c = ParseKubepodsPath(rel);
    if (!c || c->container_id.empty()) continue;
    pod.containers.push_back({c->container_id, c->runtime, rel});
  }
  std::sort(pod.containers.begin(), pod.containers.end(),
            [](const ContainerCgroup& a, const ContainerCgroup& b) { return a.id < b.id; });
  pods->push_back(std::move(pod));
}

// Pods sit directly under the kubepods root (guaranteed) or one QoS level below it.
void WalkKubepodsRoot(const std::string& root, const std::string& kubepods_rel,
                      std::vector<PodCgroup>* pods) {
  auto level1 = ListSubdirectories(JoinPath(root, kubepods_rel));
  if (!level1.ok()) return;
  for (const std::string& name : *level1) {
    std::string rel = JoinPath(kubepods_rel, name);
    if (auto parsed = ParseKubepodsPath(rel); parsed && parsed->container_id.empty()) {
      AddPod(root, rel, *parsed, pods);
      continue;
    }
    auto level2 = ListSubdirectories(JoinPath(root, rel));
    if (!level2.ok()) continue;
    for (const std::string& pod_name : *level2) {
      std::string pod_rel = JoinPath(rel, pod_name);
      if (auto parsed = ParseKubepodsPath(pod_rel); parsed && parsed->container_id.empty()) {
        AddPod(root, pod_rel, *parsed, pods);
      }
    }
  }
}

}  // namespace

StatusOr<std::vector<PodCgroup>> DiscoverPods(const CgroupMounts& mounts) {
  std::string root = PrimaryRoot(mounts);
  if (root.empty()) return Status::NotFound("no cgroup hierarchy with cpu or memory is mounted");
  auto top = ListSubdirectories(root);
  if (!top.ok()) return top.status();
  std::vector<std::string> kubepods_roots;
  FindKubepodsRoots(root, "", kMaxRootDepth, &kubepods_roots);
  std::vector<PodCgroup> pods;
  for (const std::string& kubepods_rel : kubepods_roots)
    WalkKubepodsRoot(root, kubepods_rel, &pods);
  std::sort(pods.begin(), pods.end(),
            [](const PodCgroup& a, const PodCgroup& b) { return a.uid < b.uid; });
  return pods;
}

}  // namespace podmeter
