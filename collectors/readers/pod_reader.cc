#include "collectors/readers/pod_reader.h"

#include <chrono>

#include "collectors/cgroupfs/cgroup_dirs.h"

namespace podmeter {
namespace {

// Runs the collectors on one cgroup; false if it must be left out of this sample.
bool ReadCgroup(const CgroupMounts& mounts,
                const std::vector<std::unique_ptr<Collector>>& collectors,
                const std::string& rel_path, bool is_pod, CgroupSample* out, ReadStats* stats) {
  CgroupDirs dirs = ResolveCgroupDirs(mounts, rel_path);
  for (const auto& collector : collectors) {
    if (is_pod && !collector->reads_pods()) continue;
    auto start = std::chrono::steady_clock::now();
    Status s = collector->Collect(dirs, out);
    stats->collector_seconds[std::string(collector->name())] +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (s.ok()) continue;
    if (s.IsNotFound()) {
      ++(is_pod ? stats->vanished_pods : stats->vanished_containers);
      stats->vanished.push_back(rel_path);
    } else {
      ++stats->errors[std::string(collector->name())];
      stats->failures.push_back(std::string(collector->name()) + " collector on " + rel_path +
                                ": " + s.message());
    }
    return false;
  }
  return true;
}

}  // namespace

StatusOr<std::vector<PodSample>> ReadPods(const CgroupMounts& mounts,
                                          const KubeletTreeOptions& trees,
                                          const std::vector<std::unique_ptr<Collector>>& collectors,
                                          ReadStats* stats) {
  auto discovery = DiscoverPods(mounts, trees);
  if (!discovery.ok()) return discovery.status();
  return ReadDiscovered(mounts, *discovery, collectors, stats);
}

std::vector<PodSample> ReadDiscovered(const CgroupMounts& mounts, const Discovery& discovery,
                                      const std::vector<std::unique_ptr<Collector>>& collectors,
                                      ReadStats* stats) {
  stats->trees = discovery.trees;
  const std::vector<PodCgroup>* pods = &discovery.pods;
  for (const auto& collector : collectors) stats->collector_seconds[std::string(collector->name())];
  std::vector<PodSample> out;
  for (const PodCgroup& pod : *pods) {
    PodSample ps;
    ps.uid = pod.uid;
    ps.qos = pod.qos;
    if (!ReadCgroup(mounts, collectors, pod.rel_path, /*is_pod=*/true, &ps.data, stats)) continue;
    for (const ContainerCgroup& c : pod.containers) {
      ContainerSample cs;
      cs.id = c.id;
      cs.runtime = c.runtime;
      cs.rel_path = c.rel_path;
      if (!ReadCgroup(mounts, collectors, c.rel_path, /*is_pod=*/false, &cs.data, stats)) continue;
      ps.containers.push_back(std::move(cs));
    }
    out.push_back(std::move(ps));
  }
  for (const auto& collector : collectors) collector->EndSample();
  return out;
}

}  // namespace podmeter
