// Per-process figures behind a small interface: libproc2 reads only the real /proc, so tests and
// non-default --proc-root values use the procfs reader. Not thread-safe: owned by one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "collectors/base/status.h"

namespace podmeter {

struct ProcessInfo {
  int pid = 0;
  uint64_t resident_bytes = 0;
  std::string comm;  ///< the kernel's 15-character command name
};

class ProcessTable {
 public:
  virtual ~ProcessTable() = default;
  /// Reads the given pids. Pids that vanished are left out of `out`; that is not an error.
  virtual Status Read(const std::vector<int>& pids, std::vector<ProcessInfo>* out) = 0;
};

/// libproc2 (procps 4) on the real /proc.
std::unique_ptr<ProcessTable> NewLibproc2ProcessTable();

/// Reads `<proc_root>/<pid>/statm` and `comm` directly (fixture trees, a DaemonSet's /host/proc).
std::unique_ptr<ProcessTable> NewProcfsProcessTable(std::string proc_root);

}  // namespace podmeter
