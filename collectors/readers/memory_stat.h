// Parsers for the cgroup memory files. Pure functions on file contents; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "collectors/base/status.h"
#include "collectors/readers/samples.h"

namespace podmeter {

/// v1: `memory.usage_in_bytes` and `memory.stat` (the hierarchical total_* keys, which are right
/// at both pod and container level) → usage, working set (usage − total_inactive_file, ≥ 0), rss
/// (total_rss), cache (total_cache).
Status ParseMemoryV1(std::string_view usage, std::string_view stat, MemorySample* out);

/// v2: `memory.current` and `memory.stat` → usage, working set (usage − inactive_file, ≥ 0),
/// rss and anon (anon), cache and file (file), shmem (when the kernel prints it).
Status ParseMemoryV2(std::string_view current, std::string_view stat, MemorySample* out);

/// v2 `memory.events` → high, max, oom_kill and (Linux 5.17+) oom_group_kill.
StatusOr<MemoryEvents> ParseMemoryEvents(std::string_view text);

/// v1 `memory.limit_in_bytes`: the kernel's "unlimited" (PAGE_COUNTER_MAX pages, ≥ 2^62) → nullopt.
StatusOr<std::optional<uint64_t>> ParseMemoryLimitV1(std::string_view text);

/// v2 `memory.max`: "max" → nullopt.
StatusOr<std::optional<uint64_t>> ParseMemoryMax(std::string_view text);

/// Parses v1 memory.oom_control ("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n") → oom_kill.
/// Kernels before 4.13 have no oom_kill line: NotFound.
StatusOr<uint64_t> ParseOomControl(std::string_view text);

/// Parses v2 memory.events → oom_kill.
StatusOr<uint64_t> ParseMemoryEventsOomKill(std::string_view text);

}  // namespace podmeter
