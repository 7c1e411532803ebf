// The process reader (collector "processes"): process and thread counts, resident memory.
#pragma once

#include <memory>

#include "collectors/readers/collector.h"

namespace podmeter {

/// Reads processes through `table` (may be null when only rows() is asked for).
std::unique_ptr<Collector> NewProcessCollector(ProcessTable* table);

}  // namespace podmeter
