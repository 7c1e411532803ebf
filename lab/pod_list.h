// The lab's pods, written as the kubelet's /pods answer (a v1 PodList) for podmeter's
// --pods-file. Thread-compatible.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collectors/base/status.h"

namespace podmeter::lab {

struct LabTermination {
  std::string reason;  ///< "Error", "OOMKilled", "Completed"
  int exit_code = 0;
  double started_at = 0, finished_at = 0;
  std::string container_id;
};

struct LabContainer {
  std::string name, image;
  std::string container_id;  ///< 64 hex; written as "containerd://<id>"
  int restart_count = 0;
  bool ready = false;
  std::optional<double> started_at;  ///< running since (unix seconds); nullopt = waiting
  std::string waiting_reason;        ///< e.g. "CrashLoopBackOff" while not running
  std::optional<LabTermination> last_termination;
};

struct LabPod {
  std::string uid, name, namespace_name, node, qos_class, app, pod_ip = "127.0.0.1";
  std::map<std::string, std::string> labels, annotations;
  double created = 0, scheduled = 0, started = 0;
  std::optional<double> ready_since;      ///< Ready condition True since
  std::optional<double> not_ready_since;  ///< Ready condition False since
  std::vector<LabContainer> containers;
};

/// RFC 3339 in whole seconds, the fraction dropped, as a kubelet writes it ("…T20:01:02Z").
std::string FormatRfc3339(double unix_seconds);

/// The PodList JSON text.
std::string PodListJson(const std::vector<LabPod>& pods);

/// Writes `text` to `path` atomically (temporary file + rename), so readers never see half.
Status WriteFileAtomically(const std::string& path, const std::string& text);

}  // namespace podmeter::lab
