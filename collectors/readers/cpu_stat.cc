#include "collectors/readers/cpu_stat.h"

#include <charconv>
#include <map>
#include <string>

#include "collectors/base/file_util.h"

namespace podmeter {
namespace {

// Reads "key value" lines into a map; any line that is not two fields with a number is an error.
StatusOr<std::map<std::string, uint64_t, std::less<>>> ParseKeyValues(std::string_view text,
                                                                      std::string_view what) {
  std::map<std::string, uint64_t, std::less<>> kv;
  for (std::string_view line : SplitLines(text)) {
    if (line.empty()) continue;
    std::vector<std::string_view> f = SplitFields(line);
    uint64_t v = 0;
    if (f.size() != 2 || !ParseUint64(f[1], &v)) {
      return Status::InvalidData(std::string(what) + ": bad line '" + std::string(line) + "'");
    }
    kv.emplace(std::string(f[0]), v);
  }
  return kv;
}

Status Require(const std::map<std::string, uint64_t, std::less<>>& kv, std::string_view key,
               std::string_view what, uint64_t* out) {
  auto it = kv.find(key);
  if (it == kv.end()) {
    return Status::InvalidData(std::string(what) + ": missing '" + std::string(key) + "'");
  }
  *out = it->second;
  return Status::Ok();
}

bool ParseInt64(std::string_view text, int64_t* out) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

Status ParseCpuStatV1(std::string_view text, CpuSample* out) {
  auto kv = ParseKeyValues(text, "cpu.stat");
  if (!kv.ok()) return kv.status();
  uint64_t throttled_ns = 0;
  Status s = Require(*kv, "nr_periods", "cpu.stat", &out->cfs_periods);
  if (s.ok()) s = Require(*kv, "nr_throttled", "cpu.stat", &out->cfs_throttled_periods);
  if (s.ok()) s = Require(*kv, "throttled_time", "cpu.stat", &throttled_ns);
  out->cfs_throttled_seconds = static_cast<double>(throttled_ns) / 1e9;
  return s;
}

Status ParseCpuacctStat(std::string_view text, long ticks_per_second, CpuSample* out) {
  if (ticks_per_second <= 0) return Status::InvalidData("cpuacct.stat: bad tick rate");
  auto kv = ParseKeyValues(text, "cpuacct.stat");
  if (!kv.ok()) return kv.status();
  uint64_t user = 0;
  uint64_t system = 0;
  Status s = Require(*kv, "user", "cpuacct.stat", &user);
  if (s.ok()) s = Require(*kv, "system", "cpuacct.stat", &system);
  out->user_seconds = static_cast<double>(user) / static_cast<double>(ticks_per_second);
  out->system_seconds = static_cast<double>(system) / static_cast<double>(ticks_per_second);
  return s;
}

Status ParseCpuacctUsage(std::string_view text, CpuSample* out) {
  uint64_t ns = 0;
  if (!ParseUint64(text, &ns)) return Status::InvalidData("cpuacct.usage: not a number");
  out->usage_seconds = static_cast<double>(ns) / 1e9;
  return Status::Ok();
}

Status ParseCpuStatV2(std::string_view text, CpuSample* out) {
  auto kv = ParseKeyValues(text, "cpu.stat");
  if (!kv.ok()) return kv.status();
  uint64_t usage = 0;
  uint64_t user = 0;
  uint64_t system = 0;
  Status s = Require(*kv, "usage_usec", "cpu.stat", &usage);
  if (s.ok()) s = Require(*kv, "user_usec", "cpu.stat", &user);
  if (s.ok()) s = Require(*kv, "system_usec", "cpu.stat", &system);
  if (!s.ok()) return s;
  out->usage_seconds = static_cast<double>(usage) / 1e6;
  out->user_seconds = static_cast<double>(user) / 1e6;
  out->system_seconds = static_cast<double>(system) / 1e6;
  // The throttling keys exist only where the cpu controller is enabled.
  if (auto it = kv->find("nr_periods"); it != kv->end()) out->cfs_periods = it->second;
  if (auto it = kv->find("nr_throttled"); it != kv->end()) out->cfs_throttled_periods = it->second;
  if (auto it = kv->find("throttled_usec"); it != kv->end()) {
    out->cfs_throttled_seconds = static_cast<double>(it->second) / 1e6;
  }
  return Status::Ok();
}

StatusOr<std::optional<double>> ParseCpuMax(std::string_view text) {
  std::vector<std::string_view> lines = SplitLines(text);
  std::vector<std::string_view> f = SplitFields(lines.empty() ? std::string_view() : lines[0]);
  uint64_t period = 0;
  if (f.size() != 2 || !ParseUint64(f[1], &period) || period == 0) {
    return Status::InvalidData("cpu.max: expected '<quota|max> <period>'");
  }
  if (f[0] == "max") return std::optional<double>();
  uint64_t quota = 0;
  if (!ParseUint64(f[0], &quota)) return Status::InvalidData("cpu.max: bad quota");
  return std::optional<double>(static_cast<double>(quota) / static_cast<double>(period));
}

StatusOr<std::optional<double>> ParseCfsQuota(std::string_view quota, std::string_view period) {
  int64_t q = 0;
  uint64_t p = 0;
  if (!ParseInt64(quota, &q)) return Status::InvalidData("cpu.cfs_quota_us: not a number");
  if (!ParseUint64(period, &p) || p == 0) {
    return Status::InvalidData("cpu.cfs_period_us: not a positive number");
  }
  if (q < 0) return std::optional<double>();
  return std::optional<double>(static_cast<double>(q) / static_cast<double>(p));
}

}  // namespace podmeter
