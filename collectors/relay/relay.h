// The metrics relay (issue 7): every interval, on its own thread, fetch the metrics of the pods
// that opt in by annotation, all in parallel with a short timeout, parse them, add the pod's
// namespace/pod/container labels and publish the round as one immutable snapshot. The sampler
// only reads the latest snapshot, so a slow or hostile pod never delays a sample or a scrape.
//
// Opting in: `podmeter.io/scrape: "true"`, `podmeter.io/port` (required), `podmeter.io/path`
// (default /metrics). With honour_prometheus_annotations, a pod without podmeter.io/scrape may
// use `prometheus.io/scrape|port|path` instead. Only a pod in phase Running whose first
// (non-init) container is running (ready, or state.running in the PodList) is fetched: pending,
// terminated and crash-looping (waiting) ones are not, nor pods without an IP (unless
// host_override is set). A running container that is not ready (still starting, or failing its
// readiness probe) is fetched, but its failures are not counted as errors (it may not listen
// yet): podmeter_relay_up says it.
//
// Failures, by reason: connect (refused, reset, also mid-response), timeout, http_status (not
// 200), body_too_large, parse (a malformed line anywhere, or a body cut short: nothing of the pod
// is relayed), series_limit, no_port (opted in without a usable port or path annotation). A pod
// whose fetch fails keeps its last good series while the failures are transport ones (connect,
// timeout, http_status) and at most keep_last_good_failures in a row (default 3); after the next
// one, or at once for body_too_large, parse and series_limit, it has no relayed series until a
// fetch succeeds. A pod gone from the metadata is forgotten at the next round.
//
// Bodies are parsed as they arrive (never held whole): a malformed line or one series too many
// ends the transfer there. Only "http" URLs; connections are kept between rounds. A body cut
// short is caught when it has a Content-Length or is chunked; a close-delimited one cut at a line
// end cannot be told from a complete one.
//
// Thread safety: Relay is thread-safe; Start/Stop are meant for one owning thread. The pure
// functions are thread-safe.
#pragma once

#include <prometheus/metric_family.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "collectors/base/status.h"
#include "collectors/kube/pod_metadata.h"

namespace podmeter {

/// Failure reasons, the keys of RelaySnapshot::errors. "type_conflict" counts families dropped
/// from the merged output because another pod exposes the same name with another type;
/// "reserved_family" counts a pod's families dropped because podmeter owns the name
/// (IsReservedFamily), once per family and round.
inline constexpr const char* kRelayErrorReasons[] = {
    "connect",      "timeout", "http_status",   "body_too_large",  "parse",
    "series_limit", "no_port", "type_conflict", "reserved_family",
};

struct RelayOptions {
  std::chrono::milliseconds timeout{500};    // whole request, per pod
  std::chrono::milliseconds interval{1000};  // between round starts
  size_t max_series_per_pod = 2000;          // sample lines kept per pod
  size_t max_body_bytes = size_t{10} << 20;  // decoded body, per pod
  std::string allow_regex;                   // ECMAScript, must match the whole family name
  std::string deny_regex;                    // "" denies nothing
  bool honour_prometheus_annotations = false;
  std::string host_override;  // fetch this host instead of the pod IP (the one-machine lab)
  int keep_last_good_failures = 3;
  /// Names podmeter serves itself besides podmeter_* (its process_* self-metrics): never relayed.
  std::vector<std::string> reserved_families;
};

/// True for a family name a pod may not write: podmeter_*, or one of `reserved`. Pure.
bool IsReservedFamily(const std::string& name, const std::vector<std::string>& reserved);

/// What to fetch for one pod, and the labels its series get.
struct RelayTarget {
  std::string uid;
  std::string namespace_name;
  std::string pod;
  std::string container;  // the pod's first (non-init) container
  std::string url;
  bool ready = false;  // that container is ready: a failed fetch counts as an error
  bool operator==(const RelayTarget&) const = default;
};

/// The running pods that opt in (see the file comment), sorted by namespace and name (one per
/// namespace/name: the newest), with their URLs. Pods that opt in without a usable port or path
/// are counted in *no_port (may be null). Pure.
std::vector<RelayTarget> SelectRelayTargets(const std::vector<PodMeta>& pods,
                                            const RelayOptions& options, size_t* no_port);

/// Puts namespace, pod and container first on every series; a series' own label of one of those
/// names, or of job, instance or node (the target labels Prometheus and the ServiceMonitor add,
/// which a pod must not override even with honorLabels), becomes exported_<name> (prefixed again
/// while the name is taken), as Prometheus does.
void AddTargetLabels(const RelayTarget& target, std::vector<prometheus::MetricFamily>* families);

/// The time series the families expose: one per counter/gauge/untyped series, per bucket (+Inf
/// included, added if absent), quantile, _sum and _count.
size_t CountSeries(const std::vector<prometheus::MetricFamily>& families);

struct RelayPodResult {
  RelayTarget target;
  bool up = false;              // this round's fetch and parse succeeded
  std::string error;            // this round's failure reason, "" when up (also when not ready)
  size_t series = 0;            // relayed this round (kept series after a failure included)
  double duration_seconds = 0;  // this round's fetch and parse
  int consecutive_failures = 0;
};

struct RelaySnapshot {
  std::vector<RelayPodResult> pods;  // by namespace, pod
  /// Every relayed series, pod labels added, merged across pods into one family per name,
  /// sorted by name (series in pod order). Ready to append to the exporter's own families.
  std::vector<prometheus::MetricFamily> families;
  std::map<std::string, uint64_t> errors;  // cumulative, by reason; every reason present
  double round_seconds = 0;                // the whole round, fetches and parsing
  uint64_t rounds = 0;                     // completed rounds, this one included
};

class Relay {
 public:
  using MetadataFn = std::function<std::shared_ptr<const std::vector<PodMeta>>()>;

  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  /// Starts the thread: a round now, then every interval. No-op if running.
  void Start();
  /// Interrupts a round in progress (it is not published) and joins the thread.
  void Stop();
  /// One round on the calling thread, published when complete (tests, startup). Serialized with
  /// the thread's rounds.
  void RoundOnce();
  /// The last complete round; null before the first.
  std::shared_ptr<const RelaySnapshot> Latest() const;

 private:
  friend StatusOr<std::unique_ptr<Relay>> NewRelay(RelayOptions options, MetadataFn metadata);
  struct Impl;
  explicit Relay(std::unique_ptr<Impl> impl);
  void Loop();

  std::unique_ptr<Impl> impl_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;                            // GUARDED_BY(mutex_)
  std::shared_ptr<const RelaySnapshot> latest_;  // GUARDED_BY(mutex_)
  std::thread thread_;
};

/// Checks the options (positive timeout and interval, non-zero limits, regexes that compile:
/// InvalidData naming the option) and builds a relay, not started. `metadata` gives the latest
/// pod list (null: none yet; then nothing is fetched); it is called on the relay's thread at the
/// start of each round and must be thread-safe (PodMetadataPoller::Latest is).
StatusOr<std::unique_ptr<Relay>> NewRelay(RelayOptions options, Relay::MetadataFn metadata);

}  // namespace podmeter
