// libFuzzer target for ParseExposition (tests/fuzz/run.sh builds and runs it). Beyond "no crash,
// no sanitizer report", it checks what the relay relies on: whatever the parser accepts,
// prometheus-cpp's TextSerializer turns into text the parser accepts again, with the same
// families, series, labels and counts, and values equal at the 16 digits prometheus-cpp prints.
#include <prometheus/text_serializer.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/relay/exposition_parser.h"

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "invariant broken: %s\n%s\n", what, detail.c_str());
  std::abort();
}

std::string Render16(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.16g", v);
  return buf;
}

// Equal, or equal at 16 digits: the same 16-digit text, or one reads back from the other's
// (1.0000000000000001e+23 prints as "1e+23", which reads back as 9.9999999999999992e+22, whose
// own 16 digits are "9.999999999999999e+22").
bool SameValue(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return a == b || Render16(a) == Render16(b) || std::strtod(Render16(a).c_str(), nullptr) == b ||
         std::strtod(Render16(b).c_str(), nullptr) == a;
}

void Compare(const std::vector<MetricFamily>& a, const std::vector<MetricFamily>& b,
             const std::string& text) {
  if (a.size() != b.size()) Fail("family count", text);
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].help != b[i].help || a[i].type != b[i].type ||
        a[i].metric.size() != b[i].metric.size()) {
      Fail("family", text);
    }
    for (size_t k = 0; k < a[i].metric.size(); ++k) {
      const ClientMetric& x = a[i].metric[k];
      const ClientMetric& y = b[i].metric[k];
      if (x.label != y.label || x.timestamp_ms != y.timestamp_ms) Fail("labels", text);
      if (!SameValue(x.counter.value, y.counter.value) ||
          !SameValue(x.gauge.value, y.gauge.value) ||
          !SameValue(x.untyped.value, y.untyped.value)) {
        Fail("value", text);
      }
      const auto& hx = x.histogram;
      const auto& hy = y.histogram;
      if (hx.sample_count != hy.sample_count || !SameValue(hx.sample_sum, hy.sample_sum)) {
        Fail("histogram", text);
      }
      // The serializer adds a +Inf bucket (= count) when there is none.
      size_t n = hx.bucket.size();
      if (hy.bucket.size() != n &&
          !(hy.bucket.size() == n + 1 && std::isinf(hy.bucket[n].upper_bound))) {
        Fail("bucket count", text);
      }
      for (size_t j = 0; j < n; ++j) {
        if (hx.bucket[j].cumulative_count != hy.bucket[j].cumulative_count ||
            !SameValue(hx.bucket[j].upper_bound, hy.bucket[j].upper_bound)) {
          Fail("bucket", text);
        }
      }
      const auto& sx = x.summary;
      const auto& sy = y.summary;
      if (sx.sample_count != sy.sample_count || !SameValue(sx.sample_sum, sy.sample_sum) ||
          sx.quantile.size() != sy.quantile.size()) {
        Fail("summary", text);
      }
      for (size_t j = 0; j < sx.quantile.size(); ++j) {
        if (!SameValue(sx.quantile[j].quantile, sy.quantile[j].quantile) ||
            !SameValue(sx.quantile[j].value, sy.quantile[j].value)) {
          Fail("quantile", text);
        }
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  podmeter::ExpositionLimits limits;
  limits.max_series = 1000;
  limits.keep_family = [](const std::string& name) {
    return name.find("drop") == std::string::npos;
  };
  bool over_limit = false;
  auto first = podmeter::ParseExposition(text, limits, &over_limit);
  // Fed in three pieces cut where the input says, the incremental parser agrees.
  if (size >= 2) {
    size_t a = data[0] % size;
    size_t b = a + data[size - 1] % (size - a);
    podmeter::ExpositionParser parser(limits);
    parser.Feed(text.substr(0, a));
    parser.Feed(text.substr(a, b - a));
    parser.Feed(text.substr(b));
    auto pieces = parser.Finish();
    if (pieces.ok() != first.ok() || parser.over_limit() != over_limit) {
      Fail("incremental parse disagrees", std::string(text));
    }
    if (pieces.ok()) Compare(*first, *pieces, std::string(text));
  }
  if (!first.ok()) return 0;
  if (over_limit) Fail("over_limit set on success", std::string(text));
  size_t series = 0;
  for (const MetricFamily& f : *first) {
    if (f.metric.empty()) Fail("empty family", std::string(text));
    if (f.name.find("drop") != std::string::npos) Fail("dropped family kept", std::string(text));
    series += f.metric.size();
  }
  if (series > limits.max_series) Fail("series limit", std::string(text));

  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, *first);
  std::string serialized = out.str();
  auto second = podmeter::ParseExposition(serialized);
  if (!second.ok()) {
    Fail("serialized output does not parse", second.status().message() + "\n" + serialized);
  }
  Compare(*first, *second, serialized);
  return 0;
}
