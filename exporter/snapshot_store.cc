#include "exporter/snapshot_store.h"

#include <utility>

#include "exporter/text_format.h"

namespace podmeter {

void SnapshotStore::Publish(const Families& families, const std::vector<DirectFamily>& direct) {
  auto next = std::make_shared<Exposition>();
  next->text = SerializeText(families, direct, last_size_);
  last_size_ = next->text.size();
  if (std::chrono::steady_clock::now().time_since_epoch().count() <
      gzip_until_.load(std::memory_order_relaxed)) {
    next->gzip = Gzip(next->text);
  }
  std::shared_ptr<const Exposition> old;  // freed after the lock is released
  std::lock_guard<std::mutex> lock(mutex_);
  old = std::exchange(latest_, std::move(next));
  published_ = std::chrono::steady_clock::now();
}

std::shared_ptr<const Exposition> SnapshotStore::Latest() const {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (latest_ != nullptr) return latest_;
  }
  static const std::shared_ptr<const Exposition> kNone =
      std::make_shared<const Exposition>(Exposition{std::string(), Gzip(std::string())});
  return kNone;
}

std::shared_ptr<const Exposition> SnapshotStore::LatestGzip() {
  gzip_until_.store((std::chrono::steady_clock::now() + kGzipDemand).time_since_epoch().count(),
                    std::memory_order_relaxed);
  std::shared_ptr<const Exposition> latest = Latest();
  if (!latest->gzip.empty()) return latest;
  std::lock_guard<std::mutex> lock(gzip_mutex_);
  if (gzip_made_ == nullptr || gzip_of_.lock() != latest) {
    auto made = std::make_shared<Exposition>();
    made->gzip = Gzip(latest->text);
    if (made->gzip.empty()) return latest;  // served plain
    gzip_of_ = latest;
    gzip_made_ = std::move(made);
  }
  return gzip_made_;
}

bool SnapshotStore::ready() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return latest_ != nullptr;
}

bool SnapshotStore::Fresh(std::chrono::steady_clock::duration max_age) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return latest_ != nullptr && std::chrono::steady_clock::now() - published_ <= max_age;
}

}  // namespace podmeter
