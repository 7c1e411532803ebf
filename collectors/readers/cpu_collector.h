// The cpu reader (collector "cpu"): usage, user/system split, CFS throttling, the CPU limit.
#pragma once

#include <memory>

#include "collectors/readers/collector.h"

namespace podmeter {

std::unique_ptr<Collector> NewCpuCollector();

}  // namespace podmeter
