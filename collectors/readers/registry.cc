// The table of built-in collectors: one place that lists them all (no static self-registration),
// node_exporter-style: name, on by default, factory.
#include <algorithm>

#include "collectors/readers/collector.h"
#include "collectors/readers/cpu_collector.h"
#include "collectors/readers/memory_collector.h"
#include "collectors/readers/pids_collector.h"
#include "collectors/readers/pressure_collector.h"
#include "collectors/readers/process_collector.h"

namespace podmeter {
namespace {

struct CollectorEntry {
  const char* name;
  bool default_on;
  std::unique_ptr<Collector> (*make)(ProcessTable* processes);
};

constexpr CollectorEntry kCollectors[] = {
    {"cpu", true, [](ProcessTable*) { return NewCpuCollector(); }},
    {"memory", true, [](ProcessTable*) { return NewMemoryCollector(); }},
    // pids before processes: the process collector reads the lists again only when pids.current
    // moved.
    {"pids", true, [](ProcessTable*) { return NewPidsCollector(); }},
    {"processes", true, [](ProcessTable* t) { return NewProcessCollector(t); }},
    {"pressure", true, [](ProcessTable*) { return NewPressureCollector(); }},
};

}  // namespace

std::vector<std::string> CollectorNames() {
  std::vector<std::string> names;
  for (const CollectorEntry& e : kCollectors) names.emplace_back(e.name);
  return names;
}

StatusOr<std::vector<std::unique_ptr<Collector>>> BuildCollectors(
    const std::vector<std::string>& disabled, ProcessTable* processes) {
  std::vector<std::string> known = CollectorNames();
  for (const std::string& name : disabled) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return Status::InvalidData("unknown collector '" + name + "'");
    }
  }
  std::vector<std::unique_ptr<Collector>> out;
  for (const CollectorEntry& e : kCollectors) {
    if (!e.default_on || std::find(disabled.begin(), disabled.end(), e.name) != disabled.end()) {
      continue;
    }
    out.push_back(e.make(processes));
  }
  return out;
}

}  // namespace podmeter
