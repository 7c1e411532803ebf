#include "collectors/readers/cpu_stat.h"

#include <array>
#include <charconv>
#include <optional>
#include <string>

#include "collectors/base/file_util.h"

namespace podmeter {
namespace {

// The values of `keys` in "key value" lines (the first line of a key counts); any line that is
// not two fields with a number is an error. No allocation: this runs for every cgroup each sample.
template <size_t N>
Status ScanKeyValues(std::string_view text, std::string_view what,
                     const std::array<std::string_view, N>& keys,
                     std::array<std::optional<uint64_t>, N>* values) {
  std::string_view line, key;
  while (NextLine(&text, &line)) {
    if (line.empty()) continue;
    uint64_t v = 0;
    if (!SplitKeyValue(line, &key, &v)) {
      return Status::InvalidData(std::string(what) + ": bad line '" + std::string(line) + "'");
    }
    for (size_t i = 0; i < N; ++i) {
      if (key == keys[i] && !(*values)[i]) (*values)[i] = v;
    }
  }
  return Status::Ok();
}

Status Require(const std::optional<uint64_t>& value, std::string_view key, std::string_view what,
               uint64_t* out) {
  if (!value)
    return Status::InvalidData(std::string(what) + ": missing '" + std::string(key) + "'");
  *out = *value;
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
  static constexpr std::array<std::string_view, 3> kKeys = {"nr_periods", "nr_throttled",
                                                            "throttled_time"};
  std::array<std::optional<uint64_t>, 3> v;
  Status s = ScanKeyValues(text, "cpu.stat", kKeys, &v);
  uint64_t throttled_ns = 0;
  if (s.ok()) s = Require(v[0], kKeys[0], "cpu.stat", &out->cfs_periods);
  if (s.ok()) s = Require(v[1], kKeys[1], "cpu.stat", &out->cfs_throttled_periods);
  if (s.ok()) s = Require(v[2], kKeys[2], "cpu.stat", &throttled_ns);
  out->cfs_throttled_seconds = static_cast<double>(throttled_ns) / 1e9;
  return s;
}

Status ParseCpuacctStat(std::string_view text, long ticks_per_second, CpuSample* out) {
  if (ticks_per_second <= 0) return Status::InvalidData("cpuacct.stat: bad tick rate");
  static constexpr std::array<std::string_view, 2> kKeys = {"user", "system"};
  std::array<std::optional<uint64_t>, 2> v;
  Status s = ScanKeyValues(text, "cpuacct.stat", kKeys, &v);
  uint64_t user = 0;
  uint64_t system = 0;
  if (s.ok()) s = Require(v[0], kKeys[0], "cpuacct.stat", &user);
  if (s.ok()) s = Require(v[1], kKeys[1], "cpuacct.stat", &system);
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
  static constexpr std::array<std::string_view, 6> kKeys = {
      "usage_usec", "user_usec", "system_usec", "nr_periods", "nr_throttled", "throttled_usec"};
  std::array<std::optional<uint64_t>, 6> v;
  Status s = ScanKeyValues(text, "cpu.stat", kKeys, &v);
  uint64_t usage = 0;
  uint64_t user = 0;
  uint64_t system = 0;
  if (s.ok()) s = Require(v[0], kKeys[0], "cpu.stat", &usage);
  if (s.ok()) s = Require(v[1], kKeys[1], "cpu.stat", &user);
  if (s.ok()) s = Require(v[2], kKeys[2], "cpu.stat", &system);
  if (!s.ok()) return s;
  out->usage_seconds = static_cast<double>(usage) / 1e6;
  out->user_seconds = static_cast<double>(user) / 1e6;
  out->system_seconds = static_cast<double>(system) / 1e6;
  // The throttling keys exist only where the cpu controller is enabled.
  if (v[3]) out->cfs_periods = *v[3];
  if (v[4]) out->cfs_throttled_periods = *v[4];
  if (v[5]) out->cfs_throttled_seconds = static_cast<double>(*v[5]) / 1e6;
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
