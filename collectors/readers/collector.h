// The collector interface: each collector (a reader of one resource: cpu, memory, processes,
// pids, pressure) reads one group of cgroup files into a CgroupSample and declares the rows it
// exports; the registry (registry.cc) lists them with their name, default and factory. Collectors
// keep no state between samples except the descriptors of the files they read each sample and the
// limits they read on a slow timer (collectors/base/open_file_cache.h); they are called from the
// sampler thread only.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/base/status.h"
#include "collectors/cgroupfs/cgroup_dirs.h"
#include "collectors/readers/metric_row.h"
#include "collectors/readers/samples.h"

namespace podmeter {

class ProcessTable;

class Collector {
 public:
  virtual ~Collector() = default;
  /// Short stable name, used in flags and in podmeter_sample_errors_total{collector}.
  virtual std::string_view name() const = 0;
  /// Whether this collector also runs on pod cgroups (not only on containers).
  virtual bool reads_pods() const = 0;
  /// Reads `dirs` into `out`. NotFound means the cgroup vanished.
  virtual Status Collect(const CgroupDirs& dirs, CgroupSample* out) = 0;
  /// The figures Collect fills, in the order docs/metrics.md lists them.
  virtual const std::vector<MetricRow>& rows() const = 0;
  /// Called after each sample: closes and forgets what belonged to cgroups not read in it.
  virtual void EndSample() {}
};

/// The built-in collectors that are on by default, in the registry's order, minus those named in
/// `disabled`.
/// Unknown names in `disabled` are an InvalidData error naming them.
StatusOr<std::vector<std::unique_ptr<Collector>>> BuildCollectors(
    const std::vector<std::string>& disabled, ProcessTable* processes);

/// The names BuildCollectors knows, for --help.
std::vector<std::string> CollectorNames();

}  // namespace podmeter
