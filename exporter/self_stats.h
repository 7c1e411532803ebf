// podmeter's own CPU time and resident memory, from <proc>/self/stat. Thread-safe.
#pragma once

#include <cstdint>

namespace podmeter {

struct SelfStats {
  double cpu_seconds = 0;
  uint64_t resident_bytes = 0;
  double start_time_seconds = 0;  ///< unix time
};

/// Reads /proc/self/stat (always the real /proc: it is this process). False if unreadable.
bool ReadSelfStats(SelfStats* out);

}  // namespace podmeter
