// Per-process figures behind a small interface. The daemon's reader takes each process's
// `statm` (and `comm` when asked) through descriptors kept open; libproc2's (which reads `status`,
// `stat`, `statm` and /proc/uptime for the same figures, opening each) is the unit tests'
// cross-check. Not thread-safe: owned by one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "collectors/base/open_file_cache.h"
#include "collectors/base/status.h"

namespace podmeter {

struct ProcessInfo {
  int pid = 0;
  uint64_t resident_bytes = 0;
  std::string comm;  ///< the kernel's 15-character command name (when asked for)
};

class ProcessTable {
 public:
  virtual ~ProcessTable() = default;
  /// Reads the given pids, with their command names if `names`. Pids that vanished are left out
  /// of `out`; that is not an error.
  virtual Status Read(const std::vector<int>& pids, bool names, std::vector<ProcessInfo>* out) = 0;
  /// Called after each sample: lets go of what belonged to processes not read in it.
  virtual void EndSample() {}
  /// How many samples a process's figures may be old (1: every process is read every sample).
  virtual unsigned every() const { return 1; }
};

/// libproc2 (procps 4) on the real /proc; always reads the names.
std::unique_ptr<ProcessTable> NewLibproc2ProcessTable();

/// Reads `<proc_root>/<pid>/statm` (and `comm` when asked): /proc, a DaemonSet's /host/proc,
/// fixture trees. `keep`: through descriptors kept open while the process is read (a process read
/// every sample), or through its directory kept (O_PATH) and the file opened with `openat` at each
/// read (a process read every few samples: no ~4 kB seq_file buffer of kernel memory held between
/// reads).
std::unique_ptr<ProcessTable> NewProcfsProcessTable(
    std::string proc_root, OpenFileCache::Keep keep = OpenFileCache::Keep::kFiles);

/// Per-process figures on a slower cadence (--process-interval): a process is read from `inner`
/// the first sample it is listed in (and when its name is asked for the first time), then once
/// every `every` samples, staggered by pid so that each sample re-reads about 1/every of the
/// processes; in between, its last figures stand. A process no longer listed is forgotten at once
/// (the process collector reads the lists again whenever pids.current moves, and at least every
/// `every` samples: process_collector.cc). `inner`'s EndSample runs every `every` samples,
/// by when each listed process has been read once: its descriptors stay open. every ≤ 1: every
/// process every sample, as `inner` alone.
std::unique_ptr<ProcessTable> NewStaggeredProcessTable(std::unique_ptr<ProcessTable> inner,
                                                       unsigned every);

}  // namespace podmeter
