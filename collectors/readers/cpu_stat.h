// Parsers for the cgroup CPU files. Pure functions on file contents; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "collectors/base/status.h"
#include "collectors/readers/samples.h"

namespace podmeter {

/// v1 `cpu.stat`: nr_periods, nr_throttled, throttled_time (ns). Fills the cfs_* fields.
Status ParseCpuStatV1(std::string_view text, CpuSample* out);

/// v1 `cpuacct.stat`: "user <ticks>\nsystem <ticks>" in USER_HZ ticks. Fills user/system seconds.
Status ParseCpuacctStat(std::string_view text, long ticks_per_second, CpuSample* out);

/// v1 `cpuacct.usage`: nanoseconds. Fills usage_seconds.
Status ParseCpuacctUsage(std::string_view text, CpuSample* out);

/// v2 `cpu.stat`: usage_usec, user_usec, system_usec and (with the cpu controller) nr_periods,
/// nr_throttled, throttled_usec.
Status ParseCpuStatV2(std::string_view text, CpuSample* out);

/// v2 `cpu.max`: "max 100000" (unlimited → nullopt) or "<quota> <period>" → cores.
StatusOr<std::optional<double>> ParseCpuMax(std::string_view text);

/// v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us`: quota -1 → nullopt.
StatusOr<std::optional<double>> ParseCfsQuota(std::string_view quota, std::string_view period);

}  // namespace podmeter
