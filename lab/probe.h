// The kubelet's probe worker on plain data (pkg/kubelet/prober/worker.go, read for
// understanding): a probe's result changes only after `failure_threshold` consecutive failures
// or `success_threshold` consecutive successes. Readiness starts as failure (a new container is
// not ready until a probe succeeds), liveness as success. When liveness turns to failure the
// container is killed and the probe is on hold until a new container runs. Thread-compatible.
#pragma once

namespace podmeter::lab {

class ProbeResult {
 public:
  ProbeResult(bool initial, int failure_threshold, int success_threshold = 1)
      : result_(initial),
        initial_(initial),
        failure_threshold_(failure_threshold < 1 ? 1 : failure_threshold),
        success_threshold_(success_threshold < 1 ? 1 : success_threshold) {}

  /// One probe's outcome (HTTP 200–399 within the timeout = ok); the result after it.
  bool Record(bool ok);
  bool result() const { return result_; }
  /// A new container: the initial result, the run of equal outcomes forgotten.
  void Reset();

 private:
  bool result_, initial_;
  int failure_threshold_, success_threshold_;
  bool last_ = false;
  int run_ = 0;  ///< consecutive outcomes equal to last_
};

/// An httpGet probe's outcome: HTTP 200–399 is a success; anything else (or -1: no answer within
/// the timeout, connection refused) a failure.
inline bool ProbeSucceeded(int http_status) { return http_status >= 200 && http_status < 400; }

}  // namespace podmeter::lab
