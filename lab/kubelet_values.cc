#include "lab/kubelet_values.h"

namespace podmeter::lab {
namespace {

constexpr int64_t kMinShares = 2, kMaxShares = 262144, kSharesPerCpu = 1024;
constexpr int64_t kMinQuotaUs = 1000;

}  // namespace

uint64_t MilliCpuToShares(std::optional<int64_t> request_millis) {
  if (!request_millis || *request_millis <= 0) return kMinShares;
  int64_t shares = *request_millis * kSharesPerCpu / 1000;
  if (shares < kMinShares) return kMinShares;
  if (shares > kMaxShares) return kMaxShares;
  return static_cast<uint64_t>(shares);
}

uint64_t CpuSharesToWeight(uint64_t shares) {
  if (shares < kMinShares) shares = kMinShares;
  if (shares > kMaxShares) shares = kMaxShares;
  return 1 + (shares - kMinShares) * 9999 / (kMaxShares - kMinShares);
}

std::optional<int64_t> MilliCpuToQuota(std::optional<int64_t> limit_millis, int64_t period_us) {
  if (!limit_millis || *limit_millis <= 0) return std::nullopt;
  int64_t quota = *limit_millis * period_us / 1000;
  return quota < kMinQuotaUs ? kMinQuotaUs : quota;
}

std::string CpuMaxValue(std::optional<int64_t> limit_millis, int64_t period_us) {
  auto quota = MilliCpuToQuota(limit_millis, period_us);
  return (quota ? std::to_string(*quota) : std::string("max")) + " " + std::to_string(period_us);
}

}  // namespace podmeter::lab
