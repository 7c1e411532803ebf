// Small helpers for reading cgroupfs and procfs files. Thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/base/status.h"

namespace podmeter {

/// Reads a whole (small, pseudo-) file. A missing file or vanished cgroup is NotFound.
StatusOr<std::string> ReadFileToString(const std::string& path);

/// Reads `fd` to its end (it stays open); `path` names it in errors. More than `max_bytes` is
/// InvalidData with *too_large set (if given).
StatusOr<std::string> ReadAll(int fd, const std::string& path, size_t max_bytes = SIZE_MAX,
                              bool* too_large = nullptr);

/// Names of the subdirectories of `dir` (no "." or ".."), unsorted.
StatusOr<std::vector<std::string>> ListSubdirectories(const std::string& dir);

/// Parses an unsigned decimal integer, allowing surrounding whitespace.
bool ParseUint64(std::string_view text, uint64_t* out);

/// Takes the next line (without its newline) off the front of *text; false when none is left.
/// The allocation-free way through a file's lines on the sampler's path.
inline bool NextLine(std::string_view* text, std::string_view* line) {
  if (text->empty()) return false;
  const size_t nl = text->find('\n');
  *line = text->substr(0, nl);
  text->remove_prefix(nl == std::string_view::npos ? text->size() : nl + 1);
  return true;
}

/// Splits a "key value" line (blanks around and between, nothing after the value): false unless
/// it has exactly these two fields and the value is a decimal number.
bool SplitKeyValue(std::string_view line, std::string_view* key, uint64_t* value);

/// Splits into lines, dropping a trailing empty line.
std::vector<std::string_view> SplitLines(std::string_view text);

/// Splits on runs of spaces and tabs.
std::vector<std::string_view> SplitFields(std::string_view line);

/// Joins two path pieces with exactly one '/'.
std::string JoinPath(std::string_view a, std::string_view b);

}  // namespace podmeter
