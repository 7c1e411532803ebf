// A parser for the Prometheus text exposition format (0.0.4) into prometheus-cpp's MetricFamily
// structs, for relaying other servers' metrics. Pure functions, no I/O; thread-safe.
//
// What it accepts, following the Prometheus server's parser:
// - `# HELP name text` (escapes `\\` and `\n`; other backslashes kept as they are) and
//   `# TYPE name counter|gauge|histogram|summary|untyped`; any other `#` line is a comment.
// - `name{label="value",...} value [timestamp]`: label values with `\"`, `\\`, `\n` (other
//   backslashes kept), an optional trailing comma, blanks around tokens; values in decimal or
//   exponent notation, `NaN`, `[+-]Inf`, `[+-]Infinity` (any case); an integer timestamp in ms.
// - Blank lines, leading and trailing blanks, CRLF line ends, no newline at the end.
// A `_bucket`/`_sum`/`_count` sample belongs to the histogram (a `_sum`/`_count` sample to the
// summary) named without the suffix when that name was TYPEd so before the sample.
//
// Anything else fails the whole text (InvalidData naming the line): a malformed line, invalid
// UTF-8 or NUL in a label value or HELP, a duplicate series, label or HELP/TYPE line, a TYPE after
// the family's samples or one that would clash with a histogram's or summary's sample names, a
// histogram or summary series without `_sum` or `_count`, a bucket without `le`, a non-integer
// count, duplicate bounds or quantiles, and a metric name longer than kMaxMetricNameBytes.
// Values that prometheus-cpp's TextSerializer could not print back readably are refused too: it
// prints 16 significant digits, so a finite value beyond ±1.797693134862315e308 would come out as
// an overflowing number, and two bucket bounds (or quantiles) equal at 16 digits as duplicates.
#pragma once

#include <prometheus/metric_family.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/base/status.h"

namespace podmeter {

inline constexpr size_t kMaxMetricNameBytes = 1024;

struct ExpositionLimits {
  /// Sample lines kept at most; one more fails the parse with *over_limit set. The distinct
  /// family names seen (kept or not) are capped at 4 × max_series + 64 the same way.
  size_t max_series = SIZE_MAX;
  /// Which families to keep, by family name (empty: all). Called once per family; the samples of
  /// the others are checked, then dropped, and not counted.
  std::function<bool(const std::string& family)> keep_family;
};

/// The incremental form of ParseExposition: Feed the text in pieces of any size (a network
/// body as it arrives), then Finish. Besides the parsed families it holds at most one partial
/// line. Once a Feed fails (malformed text or over a limit) the parser stays failed. Used by one
/// thread at a time.
class ExpositionParser {
 public:
  explicit ExpositionParser(ExpositionLimits limits = {});
  ~ExpositionParser();
  ExpositionParser(const ExpositionParser&) = delete;
  ExpositionParser& operator=(const ExpositionParser&) = delete;

  /// false once the text is known to be unacceptable.
  bool Feed(std::string_view chunk);
  /// The families, or why not (as ParseExposition). Call once.
  StatusOr<std::vector<prometheus::MetricFamily>> Finish();
  /// Whether the failure is a limit (series or families) rather than malformed text.
  bool over_limit() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  std::string partial_;  // a line not yet ended
  Status status_;
};

/// Parses a text exposition. Families come in order of first appearance (HELP, TYPE or sample),
/// series in order of first sample, histogram buckets sorted by bound, quantiles by quantile;
/// families without kept samples are left out. Values are exact (correctly rounded decimal →
/// double; integer counts up to 2^64-1 exactly). A series' timestamp is its first sample's.
StatusOr<std::vector<prometheus::MetricFamily>> ParseExposition(std::string_view text,
                                                                const ExpositionLimits& limits = {},
                                                                bool* over_limit = nullptr);

/// Parses one exposition value ("1.5e3", "NaN", "+Inf", ...) exactly; false if malformed or out
/// of double range.
bool ParseExpositionValue(std::string_view text, double* out);

}  // namespace podmeter
