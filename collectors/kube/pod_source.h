// Where pod metadata comes from (a PodList file, the kubelet's /pods, or the API server) and the
// poller that keeps the last good list. A PodSource is used by one thread at a time, except
// SetInterrupted(); PodMetadataPoller is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "collectors/base/status.h"
#include "collectors/kube/pod_metadata.h"

namespace podmeter {

/// Failure reasons, the label values of podmeter_pod_source_errors_total{reason}.
inline constexpr const char* kPodSourceErrorReasons[] = {
    "connect", "timeout", "tls", "unauthorized", "http_status", "body_too_large", "parse", "read",
};

struct PodSourceOptions {
  enum class Kind { kNone, kFile, kKubelet, kApiServer } kind = Kind::kNone;
  std::string pods_file;
  std::string kubelet_url;     // "" → https://<node_name>:10250/pods
  std::string api_server_url;  // "" → https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT
  std::string node_name;       // "" → $NODE_NAME
  std::string token_file;      // "" → the service-account token; re-read on every fetch
  std::string ca_file;         // "" → the service-account ca.crt
  bool insecure_skip_tls_verify = false;
  std::chrono::milliseconds interval{5000};            // full fetch
  std::chrono::milliseconds file_check_interval{100};  // file source: stat, re-read if changed
  std::chrono::milliseconds timeout{3000};             // whole HTTP request
  std::chrono::milliseconds connect_timeout{1000};     // capped by timeout
  // A full node's PodList (110 pods, managedFields included) is a few MiB; a larger answer (an
  // API server list without its field selector, a proxy's page) is refused rather than read, so
  // a body (up to twice its size while the buffer grows) stays within the DaemonSet's 128Mi.
  size_t max_body_bytes = size_t{16} << 20;
};

inline constexpr char kServiceAccountTokenFile[] =
    "/var/run/secrets/kubernetes.io/serviceaccount/token";
inline constexpr char kServiceAccountCaFile[] =
    "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

class PodSource {
 public:
  virtual ~PodSource() = default;
  /// One fetch; on failure `reason` is set to one of kPodSourceErrorReasons, or to "" when the
  /// fetch was cut short by SetInterrupted(true).
  virtual StatusOr<std::vector<PodMeta>> Fetch(std::string* reason) = 0;
  /// Cheap check whether a Fetch now could see something new. Sources that cannot tell say true.
  virtual bool MayHaveChanged() { return true; }
  /// While set, a Fetch in progress on another thread, or starting, returns soon with reason "".
  /// Thread-safe.
  virtual void SetInterrupted(bool /*interrupted*/) {}
  /// What is fetched, for logs: the file path or the URL.
  virtual std::string Describe() const = 0;
};

/// Builds the source for options.kind, filling defaults from the environment (NODE_NAME,
/// KUBERNETES_SERVICE_HOST/PORT). Bad or missing options are InvalidData naming the flag.
/// kNone is InvalidData too: the caller decides whether metadata is optional.
StatusOr<std::unique_ptr<PodSource>> NewPodSource(const PodSourceOptions& options);

/// Owns a thread that calls Fetch every interval (and once immediately at Start), keeps the last
/// good list. With a change_check interval, the thread also asks MayHaveChanged() that often and
/// fetches when it says yes (the file source's fast path).
class PodMetadataPoller {
 public:
  using Clock = std::chrono::system_clock;
  /// Called on the poller thread after each fetch: the new list on success, or the reason and
  /// Status on failure. Must not call back into the poller's Start/Stop.
  struct Callbacks {
    std::function<void(const std::shared_ptr<const std::vector<PodMeta>>&)> on_update;
    std::function<void(const std::string& reason, const Status& status)> on_error;
  };

  PodMetadataPoller(std::unique_ptr<PodSource> source, std::chrono::milliseconds interval,
                    std::chrono::milliseconds change_check = std::chrono::milliseconds(0));
  ~PodMetadataPoller();
  PodMetadataPoller(const PodMetadataPoller&) = delete;
  PodMetadataPoller& operator=(const PodMetadataPoller&) = delete;

  /// Set before Start.
  void SetCallbacks(Callbacks callbacks);
  void Start();
  /// Wakes the thread and interrupts a fetch in progress; returns when the thread has ended.
  void Stop();
  /// One synchronous fetch (serialized with the thread's), for tests and for startup.
  void PollOnce();

  /// Last good list (nullptr before the first success).
  std::shared_ptr<const std::vector<PodMeta>> Latest() const;
  /// Failure counts by reason, every reason present (0 if none yet).
  std::map<std::string, uint64_t> ErrorCounts() const;
  uint64_t successes() const;
  std::optional<Clock::time_point> last_success_time() const;
  /// The Status of the last fetch (Ok after a success).
  Status last_status() const;
  /// Waits until successes() > `after` or the timeout passes; returns whether it did.
  bool WaitForSuccess(uint64_t after, std::chrono::milliseconds timeout) const;
  const PodSource& source() const { return *source_; }

 private:
  void Loop();

  const std::unique_ptr<PodSource> source_;
  const std::chrono::milliseconds interval_;
  const std::chrono::milliseconds change_check_;
  Callbacks callbacks_;

  std::mutex fetch_mutex_;  // serializes Fetch between PollOnce callers and the thread

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;             // new success, or stop_
  std::shared_ptr<const std::vector<PodMeta>> latest_;  // GUARDED_BY(mutex_)
  std::map<std::string, uint64_t> errors_;              // GUARDED_BY(mutex_)
  uint64_t successes_ = 0;                              // GUARDED_BY(mutex_)
  std::optional<Clock::time_point> last_success_;       // GUARDED_BY(mutex_)
  Status last_status_;                                  // GUARDED_BY(mutex_)
  bool stop_ = false;                                   // GUARDED_BY(mutex_)
  std::thread thread_;
};

/// NewPodSource, wrapped in a poller with the intervals from `options` (the file source also
/// checks for changes every file_check_interval). Not started.
StatusOr<std::unique_ptr<PodMetadataPoller>> NewPodMetadataPoller(const PodSourceOptions& options);

}  // namespace podmeter
