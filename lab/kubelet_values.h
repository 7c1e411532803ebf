// The numbers the kubelet writes into a pod's and a container's cgroups for the resources of a
// pod spec (pkg/kubelet/cm, helpers_linux.go and cgroup_manager_linux.go, read for understanding).
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace podmeter::lab {

inline constexpr int64_t kCfsPeriodUs = 100000;  ///< the kubelet's CFS period (100 ms)

/// cgroup v1 `cpu.shares` for a CPU request: millis × 1024 / 1000 (integer division), at least 2
/// and at most 262144; no request (or 0) gives 2, as the kubelet writes for BestEffort.
uint64_t MilliCpuToShares(std::optional<int64_t> request_millis);

/// cgroup v2 `cpu.weight` for v1 shares, the kubelet's (and runc's before 1.3) conversion of the
/// range [2, 262144] onto [1, 10000]: 1 + (shares − 2) × 9999 / 262142 (integer division).
uint64_t CpuSharesToWeight(uint64_t shares);

/// CFS quota (µs per `period_us`) for a CPU limit: millis × period / 1000, at least 1000 µs (the
/// kernel's minimum); nullopt without a limit (unlimited).
std::optional<int64_t> MilliCpuToQuota(std::optional<int64_t> limit_millis, int64_t period_us);

/// cgroup v2 `cpu.max` for a CPU limit: "<quota> <period>", or "max <period>" without a limit.
std::string CpuMaxValue(std::optional<int64_t> limit_millis, int64_t period_us = kCfsPeriodUs);

}  // namespace podmeter::lab
