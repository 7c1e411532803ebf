// A pod's Kubernetes QoS class, as its cgroup path shows it. Thread-safe (pure).
#pragma once

#include <string_view>

namespace podmeter {

enum class QosClass { kGuaranteed, kBurstable, kBestEffort };

/// "Guaranteed", "Burstable", "BestEffort" (the pod status' qosClass spelling).
std::string_view QosClassName(QosClass qos);

}  // namespace podmeter
