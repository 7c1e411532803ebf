// Holds the exposition of the latest complete sample: its text and the gzip of that text, rendered
// once by Publish() on the sampler's thread and swapped in atomically. A scrape takes a reference
// to the current one (a pointer copy under a mutex held for nothing else) and sends its bytes: it
// never waits on the sampler, never reads cgroupfs and never sees a half-built sample.
// Thread-safe.
#pragma once

#include <prometheus/metric_family.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "exporter/text_format.h"

namespace podmeter {

/// One sample's /metrics answer. Immutable once published.
struct Exposition {
  std::string text;  ///< the text format (text_format.h)
  std::string gzip;  ///< gzip of `text`; empty if compression failed (then served plain)
};

class SnapshotStore {
 public:
  using Families = std::vector<prometheus::MetricFamily>;

  /// Renders `families` and `direct` (text and gzip) and swaps the result in.
  void Publish(const Families& families, const std::vector<DirectFamily>& direct = {});
  /// The latest exposition; before the first Publish an empty one.
  std::shared_ptr<const Exposition> Latest() const;
  /// True once the first complete sample has been published.
  bool ready() const;
  /// True when a complete sample was published at most `max_age` ago (/healthz: a stalled
  /// sampler fails the liveness probe and is restarted).
  bool Fresh(std::chrono::steady_clock::duration max_age) const;

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Exposition> latest_;         // GUARDED_BY(mutex_)
  std::chrono::steady_clock::time_point published_;  // GUARDED_BY(mutex_)
  size_t last_size_ = 0;  ///< the last text's size (Publish's caller's thread only)
};

}  // namespace podmeter
