#include "collectors/watchers/exec_history.h"

#include <algorithm>

namespace podmeter {

void ExecHistory::OnExec(int tgid, int64_t monotonic_ns) {
  if (execs_.size() >= max_processes_ && !execs_.contains(tgid)) {
    // Full: drop the process whose last exec is the oldest.
    auto oldest = std::min_element(execs_.begin(), execs_.end(), [](const auto& a, const auto& b) {
      return a.second.back() < b.second.back();
    });
    execs_.erase(oldest);
  }
  std::vector<int64_t>& times = execs_[tgid];
  if (times.size() < kMaxExecsPerProcess) times.push_back(monotonic_ns);
}

std::optional<int64_t> ExecHistory::FirstExec(int tgid, int64_t not_before_ns) const {
  auto it = execs_.find(tgid);
  if (it == execs_.end()) return std::nullopt;
  for (int64_t t : it->second) {
    if (t >= not_before_ns) return t;
  }
  return std::nullopt;
}

}  // namespace podmeter
