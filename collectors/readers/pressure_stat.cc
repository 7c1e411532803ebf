#include "collectors/readers/pressure_stat.h"

#include <string>
#include <vector>

#include "collectors/base/file_util.h"

namespace podmeter {

StatusOr<PressureTotals> ParsePressure(std::string_view text) {
  PressureTotals out;
  bool some = false;
  for (std::string_view line : SplitLines(text)) {
    std::vector<std::string_view> f = SplitFields(line);
    if (f.empty()) continue;
    if (f[0] != "some" && f[0] != "full") continue;
    uint64_t total_us = 0;
    bool found = false;
    for (std::string_view field : f) {
      if (field.substr(0, 6) == "total=") found = ParseUint64(field.substr(6), &total_us);
    }
    if (!found)
      return Status::InvalidData("pressure: no total= on the '" + std::string(f[0]) + "' line");
    (f[0] == "some" ? out.some_seconds : out.full_seconds) = static_cast<double>(total_us) / 1e6;
    some = some || f[0] == "some";
  }
  if (!some) return Status::InvalidData("pressure: no 'some' line");
  return out;
}

}  // namespace podmeter
