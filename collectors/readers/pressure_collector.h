// The pressure reader (collector "pressure"): cgroup v2 pressure stall information.
#pragma once

#include <memory>

#include "collectors/readers/collector.h"

namespace podmeter {

std::unique_ptr<Collector> NewPressureCollector();

}  // namespace podmeter
