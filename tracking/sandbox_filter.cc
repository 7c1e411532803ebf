#include "tracking/sandbox_filter.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>

namespace podmeter {

void DropSandboxes(const std::vector<PodMeta>* meta, std::vector<PodSample>* pods) {
  std::map<std::string, std::set<std::string>> listed;  // pod uid → its containers' ids
  if (meta != nullptr) {
    for (const PodMeta& pod : *meta) {
      std::set<std::string>& ids = listed[pod.uid];
      for (const ContainerMeta& c : pod.containers) {
        if (!c.container_id.empty()) ids.insert(c.container_id);
      }
    }
  }
  for (PodSample& pod : *pods) {
    auto ids = listed.find(pod.uid);
    std::erase_if(pod.containers, [&](const ContainerSample& c) {
      if (!c.data.processes || !c.data.processes->is_pause) return false;
      return ids == listed.end() || ids->second.count(c.id) == 0;
    });
  }
}

}  // namespace podmeter
