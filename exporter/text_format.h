// The Prometheus text exposition format (0.0.4), written by podmeter itself so that every value
// round-trips exactly: prometheus-cpp's TextSerializer prints 16 significant digits, which loses
// the last digit of relayed sums. Thread-safe (pure).
#pragma once

#include <prometheus/metric_family.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace podmeter {

/// A family written straight into the text by code of its own: the sampler's per-pod and
/// per-container families (most of /metrics), without a MetricFamily and a label vector per
/// series. `write` appends the whole family (AppendHeader, then AppendLine per series).
struct DirectFamily {
  std::string name;
  std::function<void(std::string& out)> write;
};

/// `families` and `direct` merged in name order (each list sorted by name; a name is in one of
/// them only). Help text is written as given (already escaped where needed); label values are
/// escaped; values use the shortest text that reads back as the same double. `size_hint`: the
/// text's expected size (the previous one's), reserved at once.
std::string SerializeText(const std::vector<prometheus::MetricFamily>& families,
                          const std::vector<DirectFamily>& direct = {}, size_t size_hint = 0);

/// "# HELP name help\n" (unless help is empty) and "# TYPE name type\n".
void AppendHeader(std::string& out, std::string_view name, std::string_view help,
                  prometheus::MetricType type);
/// `name="value",…` of `labels`, values escaped: made once per pod or container, written in
/// every line of its series by AppendLine.
std::string LabelsText(const std::vector<prometheus::ClientMetric::Label>& labels);
/// "name{labels} value\n" (`labels` as LabelsText made them; empty: no braces).
void AppendLine(std::string& out, std::string_view name, std::string_view labels, double value);

/// gzip of `data` (for Accept-Encoding: gzip), at zlib's fastest level: made once per sample, it
/// costs a third of the default level's CPU for ~1.5× its size (docs/performance.md).
std::string Gzip(const std::string& data);

}  // namespace podmeter
