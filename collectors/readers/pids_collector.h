// The pids reader (collector "pids"): the pids controller's current count and limit.
#pragma once

#include <memory>

#include "collectors/readers/collector.h"

namespace podmeter {

std::unique_ptr<Collector> NewPidsCollector();

}  // namespace podmeter
