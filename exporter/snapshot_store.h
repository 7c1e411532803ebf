// Holds the latest complete snapshot of metric families. Publish() swaps a new one in atomically;
// Collect() (called by the HTTP exposer's threads) copies the current one and never reads
// cgroupfs, so scrapes cannot see a half-built sample. Thread-safe.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

namespace podmeter {

class SnapshotStore : public prometheus::Collectable {
 public:
  using Families = std::vector<prometheus::MetricFamily>;

  void Publish(std::shared_ptr<const Families> families);
  /// True once the first complete sample has been published.
  bool ready() const;
  /// True when a complete sample was published at most `max_age` ago (/healthz: a stalled
  /// sampler fails the liveness probe and is restarted).
  bool Fresh(std::chrono::steady_clock::duration max_age) const;
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Families> latest_;           // GUARDED_BY(mutex_)
  std::chrono::steady_clock::time_point published_;  // GUARDED_BY(mutex_)
};

}  // namespace podmeter
