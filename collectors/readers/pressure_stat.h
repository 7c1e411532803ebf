// Parser for cgroup v2 pressure stall information. Pure functions on file contents; thread-safe.
#pragma once

#include <string_view>

#include "collectors/base/status.h"
#include "collectors/readers/samples.h"

namespace podmeter {

/// `cpu.pressure`, `memory.pressure`, `io.pressure`:
/// "some avg10=0.00 avg60=0.00 avg300=0.00 total=<µs>\nfull … total=<µs>\n" → seconds. A file
/// without a `full` line (the root's cpu.pressure before Linux 5.13) has full 0.
StatusOr<PressureTotals> ParsePressure(std::string_view text);

}  // namespace podmeter
