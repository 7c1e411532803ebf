#include "collectors/readers/pids_stat.h"

#include <vector>

#include "collectors/base/file_util.h"

namespace podmeter {

StatusOr<std::optional<uint64_t>> ParsePidsMax(std::string_view text) {
  std::vector<std::string_view> f = SplitFields(text.substr(0, text.find('\n')));
  if (f.size() == 1 && f[0] == "max") return std::optional<uint64_t>();
  uint64_t v = 0;
  if (f.size() != 1 || !ParseUint64(f[0], &v)) {
    return Status::InvalidData("pids.max: expected a number or 'max'");
  }
  return std::optional<uint64_t>(v);
}

}  // namespace podmeter
