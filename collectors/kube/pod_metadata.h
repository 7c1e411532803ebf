// Pod metadata as the kubelet and the API server report it: plain structs and a parser for a v1
// PodList. Pure functions, no I/O; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/base/status.h"

namespace podmeter {

struct ContainerMeta {
  std::string name;
  /// The runtime's id with the "<runtime>://" prefix stripped; empty if not yet created.
  std::string container_id;
  /// "containerd", "cri-o", "docker", or "" (no id yet, or an unknown runtime).
  std::string runtime;
  std::string image;
  int restart_count = 0;
  bool ready = false;
  std::optional<double> started_at;     // state.running.startedAt, unix seconds
  std::string last_termination_reason;  // lastState.terminated.reason, e.g. "OOMKilled"
  std::optional<int> last_exit_code;    // lastState.terminated.exitCode
  bool init = false;                    // from initContainerStatuses
};

struct PodMeta {
  std::string uid;
  std::string name;
  std::string namespace_name;
  std::string node;       // spec.nodeName
  std::string qos_class;  // "Guaranteed", "Burstable", "BestEffort" (status.qosClass)
  std::string app;        // label app.kubernetes.io/name, else label app
  std::string phase;
  std::string pod_ip;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::optional<double> creation_time;    // metadata.creationTimestamp
  std::optional<double> start_time;       // status.startTime
  std::optional<double> scheduled_time;   // PodScheduled lastTransitionTime, when True
  std::optional<double> ready_time;       // Ready lastTransitionTime, when True
  bool ready = false;                     // condition Ready is True
  std::vector<ContainerMeta> containers;  // containerStatuses, then initContainerStatuses
};

/// Parses a v1 PodList (kubelet /pods or API server list), keeping while it parses only the fields
/// above (annotations: only podmeter.io/* and prometheus.io/*), so memory follows what is kept,
/// not the size of the text. Invalid JSON, or a document that is not a PodList, is InvalidData.
/// Items that are not objects, or lack metadata.uid, are skipped and counted in *skipped (may be
/// null). Fields of the wrong type are left at their defaults.
StatusOr<std::vector<PodMeta>> ParsePodList(std::string_view json, size_t* skipped = nullptr);

/// ParsePodList that keeps its last good result with the hash (std::hash, 64 bits) and size of
/// the text it came from: a pod list that did not change since the last fetch — most fetches of
/// a kubelet's /pods — is not parsed again (a 110-pod list costs milliseconds to parse; the
/// sampler's node polls it every 5 s). Not thread-safe: one per source.
class PodListParser {
 public:
  StatusOr<std::vector<PodMeta>> Parse(std::string_view json, size_t* skipped = nullptr);
  /// Texts actually parsed (not answered from the last result).
  uint64_t parses() const { return parses_; }

 private:
  std::optional<std::vector<PodMeta>> last_;
  size_t last_skipped_ = 0;
  size_t hash_ = 0;
  size_t size_ = 0;
  uint64_t parses_ = 0;
};

/// RFC 3339 ("2026-11-23T20:01:02Z", fractional seconds and numeric offsets allowed) → unix
/// seconds; nullopt when malformed or out of range.
std::optional<double> ParseRfc3339(std::string_view text);

}  // namespace podmeter
