#include "collectors/readers/memory_stat.h"

#include <string>
#include <vector>

#include "collectors/base/file_util.h"

namespace podmeter {
namespace {

// Finds one key of a "key value" file without building a map (the sampler's hot path).
Status FindKey(std::string_view stat, std::string_view key, uint64_t* out,
               std::string_view file = "memory.stat") {
  std::string_view line;
  while (NextLine(&stat, &line)) {
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ' ') {
      if (ParseUint64(line.substr(key.size() + 1), out)) return Status::Ok();
      return Status::InvalidData(std::string(file) + ": bad value for '" + std::string(key) + "'");
    }
  }
  return Status::InvalidData(std::string(file) + ": missing '" + std::string(key) + "'");
}

// The value of a "key value" line of a counters file (memory.oom_control, memory.events).
StatusOr<uint64_t> FindCounter(std::string_view text, std::string_view key, const char* file) {
  for (std::string_view line : SplitLines(text)) {
    std::vector<std::string_view> f = SplitFields(line);
    uint64_t v = 0;
    if (f.size() == 2 && f[0] == key) {
      if (!ParseUint64(f[1], &v)) return Status::InvalidData(std::string(file) + ": bad oom_kill");
      return v;
    }
  }
  return Status::NotFound(std::string(file) + ": no oom_kill line");
}

Status Fill(std::string_view usage, std::string_view stat, std::string_view usage_file,
            std::string_view inactive_key, std::string_view rss_key, std::string_view cache_key,
            MemorySample* out) {
  if (!ParseUint64(usage, &out->usage_bytes)) {
    return Status::InvalidData(std::string(usage_file) + ": not a number");
  }
  uint64_t inactive_file = 0;
  Status s = FindKey(stat, inactive_key, &inactive_file);
  if (s.ok()) s = FindKey(stat, rss_key, &out->rss_bytes);
  if (s.ok()) s = FindKey(stat, cache_key, &out->cache_bytes);
  out->working_set_bytes = out->usage_bytes > inactive_file ? out->usage_bytes - inactive_file : 0;
  return s;
}

}  // namespace

Status ParseMemoryV1(std::string_view usage, std::string_view stat, MemorySample* out) {
  return Fill(usage, stat, "memory.usage_in_bytes", "total_inactive_file", "total_rss",
              "total_cache", out);
}

Status ParseMemoryV2(std::string_view current, std::string_view stat, MemorySample* out) {
  Status s = Fill(current, stat, "memory.current", "inactive_file", "anon", "file", out);
  if (!s.ok()) return s;
  out->anon_bytes = out->rss_bytes;
  out->file_bytes = out->cache_bytes;
  uint64_t shmem = 0;
  if (FindKey(stat, "shmem", &shmem).ok()) out->shmem_bytes = shmem;
  return Status::Ok();
}

StatusOr<MemoryEvents> ParseMemoryEvents(std::string_view text) {
  constexpr std::string_view kFile = "memory.events";
  MemoryEvents events;
  Status s = FindKey(text, "high", &events.high, kFile);
  if (s.ok()) s = FindKey(text, "max", &events.max, kFile);
  if (s.ok()) s = FindKey(text, "oom_kill", &events.oom_kill, kFile);
  if (!s.ok()) return s;
  uint64_t group = 0;
  if (FindKey(text, "oom_group_kill", &group, kFile).ok()) events.oom_group_kill = group;
  return events;
}

StatusOr<std::optional<uint64_t>> ParseMemoryLimitV1(std::string_view text) {
  uint64_t v = 0;
  if (!ParseUint64(text, &v)) return Status::InvalidData("memory.limit_in_bytes: not a number");
  if (v >= (uint64_t{1} << 62)) return std::optional<uint64_t>();
  return std::optional<uint64_t>(v);
}

StatusOr<std::optional<uint64_t>> ParseMemoryMax(std::string_view text) {
  std::vector<std::string_view> f = SplitFields(text.substr(0, text.find('\n')));
  if (f.size() == 1 && f[0] == "max") return std::optional<uint64_t>();
  uint64_t v = 0;
  if (f.size() != 1 || !ParseUint64(f[0], &v)) {
    return Status::InvalidData("memory.max: expected a number or 'max'");
  }
  return std::optional<uint64_t>(v);
}

StatusOr<uint64_t> ParseOomControl(std::string_view text) {
  return FindCounter(text, "oom_kill", "memory.oom_control");
}

StatusOr<uint64_t> ParseMemoryEventsOomKill(std::string_view text) {
  return FindCounter(text, "oom_kill", "memory.events");
}

}  // namespace podmeter
