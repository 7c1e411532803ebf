// Reading the reference Deployments that k8s/ ships, so the lab and the cluster run from one
// description. Pure functions on YAML text; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collectors/base/status.h"

namespace podmeter::lab {

struct ProbeSpec {
  std::string path = "/";
  int port = 0;
  double initial_delay_seconds = 0;
  double period_seconds = 10;
  double timeout_seconds = 1;
  int failure_threshold = 3;
  int success_threshold = 1;
};

struct ContainerSpec {
  std::string name;
  std::string image;
  int port = 0;  ///< the first containerPort
  std::vector<std::pair<std::string, std::string>> env;
  std::optional<int64_t> cpu_request_millis, cpu_limit_millis;
  std::optional<int64_t> memory_request_bytes, memory_limit_bytes;
  std::optional<ProbeSpec> readiness, liveness;
};

struct AppSpec {
  std::string name;  ///< metadata.name
  int replicas = 1;
  double termination_grace_seconds = 30;  ///< the pod's terminationGracePeriodSeconds
  std::map<std::string, std::string> labels, annotations;  ///< of the pod template
  std::vector<ContainerSpec> containers;
  /// "Guaranteed", "Burstable" or "BestEffort", computed as the kubelet does.
  std::string QosClass() const;
};

/// Parses one apps/v1 Deployment. Errors name the field.
StatusOr<AppSpec> ParseDeployment(std::string_view yaml);

/// "100m" → 100, "0.5" → 500, "2" → 2000.
std::optional<int64_t> ParseCpuMillis(std::string_view quantity);
/// "128Mi" → 134217728, "1G" → 1e9, "512" → 512.
std::optional<int64_t> ParseMemoryBytes(std::string_view quantity);

}  // namespace podmeter::lab
