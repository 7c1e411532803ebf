// The memory reader (collector "memory"): usage, working set, RSS, page cache, limit, OOM kills.
#pragma once

#include <memory>

#include "collectors/readers/collector.h"

namespace podmeter {

std::unique_ptr<Collector> NewMemoryCollector();

}  // namespace podmeter
