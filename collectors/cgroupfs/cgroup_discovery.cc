#include "collectors/cgroupfs/cgroup_discovery.h"

#include <algorithm>
#include <iterator>

#include "collectors/base/file_util.h"

namespace podmeter {
namespace {

constexpr int kMaxRootDepth = 3;

// ListSubdirectories, noting each directory it listed (the watched discovery watches them).
StatusOr<std::vector<std::string>> List(const std::string& dir, std::vector<std::string>* listed) {
  auto children = ListSubdirectories(dir);
  if (children.ok() && listed != nullptr) listed->push_back(dir);
  return children;
}

// Collects kubepods roots (relative paths) at most `depth` levels below `rel`.
void FindKubepodsRoots(const std::string& root, const std::string& rel, int depth,
                       std::vector<std::string>* out, std::vector<std::string>* listed) {
  auto children = List(JoinPath(root, rel), listed);
  if (!children.ok()) return;
  for (const std::string& name : *children) {
    std::string child = rel.empty() ? name : JoinPath(rel, name);
    if (IsKubepodsRootName(name)) {
      out->push_back(child);
    } else if (depth > 1) {
      FindKubepodsRoots(root, child, depth - 1, out, listed);
    }
  }
}

void AddPod(const std::string& root, const std::string& pod_rel, const KubepodsPath& parsed,
            std::vector<PodCgroup>* pods, std::vector<std::string>* listed) {
  PodCgroup pod;
  pod.uid = parsed.pod_uid;
  pod.qos = parsed.qos;
  pod.driver = parsed.driver;
  pod.rel_path = pod_rel;
  auto children = List(JoinPath(root, pod_rel), listed);
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
                      std::vector<PodCgroup>* pods, std::vector<std::string>* listed) {
  auto level1 = List(JoinPath(root, kubepods_rel), listed);
  if (!level1.ok()) return;
  for (const std::string& name : *level1) {
    std::string rel = JoinPath(kubepods_rel, name);
    if (auto parsed = ParseKubepodsPath(rel); parsed && parsed->container_id.empty()) {
      AddPod(root, rel, *parsed, pods, listed);
      continue;
    }
    auto level2 = List(JoinPath(root, rel), listed);
    if (!level2.ok()) continue;
    for (const std::string& pod_name : *level2) {
      std::string pod_rel = JoinPath(rel, pod_name);
      if (auto parsed = ParseKubepodsPath(pod_rel); parsed && parsed->container_id.empty()) {
        AddPod(root, pod_rel, *parsed, pods, listed);
      }
    }
  }
}

// "/a/b/" → "/a/b"; "" or "/" → "/".
std::string NormalizedCgroupPath(const std::string& path) {
  std::string out = path.empty() || path.front() != '/' ? "/" + path : path;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string ParentPath(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

// The kubepods roots: up to kMaxRootDepth levels down, and directly below the kubelet's
// cgroupRoot when one is given (it may sit deeper). Relative paths, sorted, unique.
std::vector<std::string> KubepodsRoots(const std::string& root, const std::string& cgroup_root,
                                       std::vector<std::string>* listed) {
  std::vector<std::string> rels;
  FindKubepodsRoots(root, "", kMaxRootDepth, &rels, listed);
  if (!cgroup_root.empty() && cgroup_root != "/") {
    FindKubepodsRoots(root, cgroup_root.substr(1), 1, &rels, listed);
  }
  std::sort(rels.begin(), rels.end());
  rels.erase(std::unique(rels.begin(), rels.end()), rels.end());
  return rels;
}

}  // namespace

std::string DiscoveryRoot(const CgroupMounts& mounts) {
  if (mounts.version == CgroupMounts::Version::kV2) return mounts.unified;
  for (const char* controller : {"memory", "cpu", "cpuacct"}) {
    if (auto it = mounts.v1.find(controller); it != mounts.v1.end()) return it->second;
  }
  return "";
}

void ChooseKubeletTrees(const KubeletTreeOptions& options, const std::vector<bool>& holds_own_pod,
                        std::vector<KubepodsTree>* trees) {
  if (!options.cgroup_root.empty()) {
    const std::string want = NormalizedCgroupPath(options.cgroup_root);
    for (KubepodsTree& t : *trees) t.read = ParentPath(t.path) == want;
    return;
  }
  auto holds = [&](size_t i) { return i < holds_own_pod.size() && holds_own_pod[i]; };
  bool found_own = false;
  for (size_t i = 0; i < trees->size(); ++i) found_own = found_own || holds(i);
  for (size_t i = 0; i < trees->size(); ++i) (*trees)[i].read = !found_own || holds(i);
}

StatusOr<Discovery> DiscoverPods(const CgroupMounts& mounts, const KubeletTreeOptions& options,
                                 std::vector<std::string>* listed) {
  std::string root = DiscoveryRoot(mounts);
  if (root.empty()) return Status::NotFound("no cgroup hierarchy with cpu or memory is mounted");
  auto top = ListSubdirectories(root);
  if (!top.ok()) return top.status();
  const std::string cgroup_root =
      options.cgroup_root.empty() ? "" : NormalizedCgroupPath(options.cgroup_root);
  Discovery out;
  std::vector<std::vector<PodCgroup>> pods_by_tree;
  std::vector<bool> holds_own_pod;
  for (const std::string& kubepods_rel : KubepodsRoots(root, cgroup_root, listed)) {
    std::vector<PodCgroup> pods;
    WalkKubepodsRoot(root, kubepods_rel, &pods, listed);
    holds_own_pod.push_back(!options.own_pod_uid.empty() &&
                            std::any_of(pods.begin(), pods.end(), [&](const PodCgroup& p) {
                              return p.uid == options.own_pod_uid;
                            }));
    out.trees.push_back({"/" + kubepods_rel, pods.size(), false});
    pods_by_tree.push_back(std::move(pods));
  }
  ChooseKubeletTrees(options, holds_own_pod, &out.trees);
  for (size_t i = 0; i < out.trees.size(); ++i) {
    if (!out.trees[i].read) continue;
    std::move(pods_by_tree[i].begin(), pods_by_tree[i].end(), std::back_inserter(out.pods));
  }
  std::sort(out.pods.begin(), out.pods.end(),
            [](const PodCgroup& a, const PodCgroup& b) { return a.uid < b.uid; });
  return out;
}

}  // namespace podmeter
