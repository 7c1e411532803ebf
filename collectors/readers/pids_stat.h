// Parsers for the pids controller's files. Pure functions on file contents; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "collectors/base/status.h"

namespace podmeter {

/// `pids.max`: "max" → nullopt, else the limit.
StatusOr<std::optional<uint64_t>> ParsePidsMax(std::string_view text);

}  // namespace podmeter
