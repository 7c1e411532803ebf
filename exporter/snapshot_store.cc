#include "exporter/snapshot_store.h"

namespace podmeter {

void SnapshotStore::Publish(std::shared_ptr<const Families> families) {
  std::lock_guard<std::mutex> lock(mutex_);
  latest_.swap(families);
  published_ = std::chrono::steady_clock::now();
}

bool SnapshotStore::ready() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return latest_ != nullptr;
}

bool SnapshotStore::Fresh(std::chrono::steady_clock::duration max_age) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return latest_ != nullptr && std::chrono::steady_clock::now() - published_ <= max_age;
}

std::vector<prometheus::MetricFamily> SnapshotStore::Collect() const {
  std::shared_ptr<const Families> current;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    current = latest_;
  }
  return current ? *current : Families();
}

}  // namespace podmeter
