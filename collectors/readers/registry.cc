// The table of built-in collectors: one place that lists them all (no static self-registration).
#include <algorithm>
#include <functional>

#include "collectors/readers/collector.h"

namespace podmeter {

std::unique_ptr<Collector> NewCpuCollector();
std::unique_ptr<Collector> NewMemoryCollector();
std::unique_ptr<Collector> NewProcessCollector(ProcessTable* table);

namespace {

struct CollectorEntry {
  const char* name;
  std::function<std::unique_ptr<Collector>(ProcessTable*)> make;
};

const std::vector<CollectorEntry>& Table() {
  static const std::vector<CollectorEntry> table = {
      {"cpu", [](ProcessTable*) { return NewCpuCollector(); }},
      {"memory", [](ProcessTable*) { return NewMemoryCollector(); }},
      {"processes", [](ProcessTable* t) { return NewProcessCollector(t); }},
  };
  return table;
}

}  // namespace

std::vector<std::string> CollectorNames() {
  std::vector<std::string> names;
  for (const CollectorEntry& e : Table()) names.emplace_back(e.name);
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
  for (const CollectorEntry& e : Table()) {
    if (std::find(disabled.begin(), disabled.end(), e.name) != disabled.end()) continue;
    out.push_back(e.make(processes));
  }
  return out;
}

}  // namespace podmeter
