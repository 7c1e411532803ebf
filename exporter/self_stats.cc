#include "exporter/self_stats.h"

#include <unistd.h>

#include <ctime>
#include <string>
#include <vector>

#include "collectors/base/file_util.h"

namespace podmeter {

bool ReadSelfStats(SelfStats* out) {
  auto stat = ReadFileToString("/proc/self/stat");
  auto uptime = ReadFileToString("/proc/uptime");
  if (!stat.ok() || !uptime.ok()) return false;
  // Fields after the ")" that closes comm; utime is field 14, starttime 22, rss 24 (1-based).
  size_t close = stat->rfind(')');
  if (close == std::string::npos) return false;
  std::vector<std::string_view> f = SplitFields(std::string_view(*stat).substr(close + 2));
  if (f.size() < 22) return false;
  uint64_t utime = 0, stime = 0, start_ticks = 0, rss_pages = 0;
  if (!ParseUint64(f[11], &utime) || !ParseUint64(f[12], &stime) ||
      !ParseUint64(f[19], &start_ticks) || !ParseUint64(f[21], &rss_pages)) {
    return false;
  }
  const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  out->cpu_seconds = static_cast<double>(utime + stime) / hz;
  out->resident_bytes = rss_pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  double uptime_s = std::stod(uptime->substr(0, uptime->find(' ')));
  double now = static_cast<double>(::time(nullptr));
  out->start_time_seconds = now - uptime_s + static_cast<double>(start_ticks) / hz;
  return true;
}

}  // namespace podmeter
