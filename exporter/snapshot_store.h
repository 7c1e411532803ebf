// Holds the exposition of the latest complete sample: its text and the gzip of that text, rendered
// once by Publish() on the sampler's thread and swapped in atomically. A scrape takes a reference
// to the current one (a pointer copy under a mutex held for nothing else) and sends its bytes: it
// never waits on the sampler, never reads cgroupfs and never sees a half-built sample.
// The gzip is made only while clients ask for it: Publish() compresses while a gzip scrape came
// within kGzipDemand; the first gzip scrape after a quiet spell compresses the latest text itself
// (once per sample, shared by the scrapes that follow it) and turns the sampler's gzip on again.
// A node scraped plain (or not at all) pays for no compression; Prometheus, which asks for gzip
// at every scrape, gets it made once per sample by the sampler.
// Thread-safe.
#pragma once

#include <prometheus/metric_family.h>

#include <atomic>
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
  std::string gzip;  ///< gzip of `text`; empty if not made (no client asked) or if it failed
};

/// How long after the last gzip scrape the sampler goes on compressing each sample (longer than
/// any usual scrape interval).
constexpr std::chrono::minutes kGzipDemand{5};

class SnapshotStore {
 public:
  using Families = std::vector<prometheus::MetricFamily>;

  /// Renders `families` and `direct` (the text; its gzip while clients ask for it) and swaps the
  /// result in.
  void Publish(const Families& families, const std::vector<DirectFamily>& direct = {});
  /// The latest exposition; before the first Publish an empty one.
  std::shared_ptr<const Exposition> Latest() const;
  /// For a client that accepts gzip: the latest exposition with its gzip, made here once for this
  /// sample when Publish() did not make it (compression failed: without). Publish() compresses
  /// for the next kGzipDemand.
  std::shared_ptr<const Exposition> LatestGzip();
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
  std::atomic<std::chrono::steady_clock::rep> gzip_until_{0};  ///< Publish compresses before it
  std::mutex gzip_mutex_;                        ///< guards the two below (gzip scrapes only)
  std::weak_ptr<const Exposition> gzip_of_;      ///< what gzip_made_ compresses
  std::shared_ptr<const Exposition> gzip_made_;  ///< its gzip, made by LatestGzip()
};

}  // namespace podmeter
