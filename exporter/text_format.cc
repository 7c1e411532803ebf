#include "exporter/text_format.h"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>

namespace podmeter {
namespace {

void AppendValue(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0) {
    char buf[24];  // integers as integers: 134217728
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(v));
    out.append(buf, ec == std::errc() ? static_cast<size_t>(end - buf) : 0);
  } else {
    // Shortest text that reads back as the same double, %g style like Go's client
    // ("0.0005", "1e-05"), so relayed `le` labels keep their spelling.
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::general);
    out.append(buf, ec == std::errc() ? static_cast<size_t>(end - buf) : 0);
  }
}

void AppendEscaped(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// name{labels[,extra="value"]} value[ timestamp]
void AppendSample(std::string& out, const std::string& name, const prometheus::ClientMetric& m,
                  const char* extra_name, double extra_value, double value) {
  out += name;
  if (!m.label.empty() || extra_name != nullptr) {
    out += '{';
    bool first = true;
    for (const auto& l : m.label) {
      if (!first) out += ',';
      first = false;
      out += l.name;
      out += "=\"";
      AppendEscaped(out, l.value);
      out += '"';
    }
    if (extra_name != nullptr) {
      if (!first) out += ',';
      out += extra_name;
      out += "=\"";
      AppendValue(out, extra_value);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  AppendValue(out, value);
  if (m.timestamp_ms != 0) {
    out += ' ';
    out += std::to_string(m.timestamp_ms);
  }
  out += '\n';
}

const char* TypeName(prometheus::MetricType t) {
  switch (t) {
    case prometheus::MetricType::Counter:
      return "counter";
    case prometheus::MetricType::Gauge:
      return "gauge";
    case prometheus::MetricType::Histogram:
      return "histogram";
    case prometheus::MetricType::Summary:
      return "summary";
    default:
      return "untyped";
  }
}

}  // namespace

namespace {

void AppendFamily(std::string& out, const prometheus::MetricFamily& f) {
  if (f.metric.empty()) return;
  AppendHeader(out, f.name, f.help, f.type);
  for (const auto& m : f.metric) {
    switch (f.type) {
      case prometheus::MetricType::Counter:
        AppendSample(out, f.name, m, nullptr, 0, m.counter.value);
        break;
      case prometheus::MetricType::Gauge:
        AppendSample(out, f.name, m, nullptr, 0, m.gauge.value);
        break;
      case prometheus::MetricType::Histogram:
        for (const auto& b : m.histogram.bucket) {
          AppendSample(out, f.name + "_bucket", m, "le", b.upper_bound,
                       static_cast<double>(b.cumulative_count));
        }
        AppendSample(out, f.name + "_sum", m, nullptr, 0, m.histogram.sample_sum);
        AppendSample(out, f.name + "_count", m, nullptr, 0,
                     static_cast<double>(m.histogram.sample_count));
        break;
      case prometheus::MetricType::Summary:
        for (const auto& q : m.summary.quantile) {
          AppendSample(out, f.name, m, "quantile", q.quantile, q.value);
        }
        AppendSample(out, f.name + "_sum", m, nullptr, 0, m.summary.sample_sum);
        AppendSample(out, f.name + "_count", m, nullptr, 0,
                     static_cast<double>(m.summary.sample_count));
        break;
      default:
        AppendSample(out, f.name, m, nullptr, 0, m.untyped.value);
        break;
    }
  }
}

}  // namespace

void AppendHeader(std::string& out, std::string_view name, std::string_view help,
                  prometheus::MetricType type) {
  if (!help.empty()) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += '\n';
  }
  out += "# TYPE ";
  out += name;
  out += ' ';
  out += TypeName(type);
  out += '\n';
}

std::string LabelsText(const std::vector<prometheus::ClientMetric::Label>& labels) {
  std::string out;
  for (const auto& l : labels) {
    if (!out.empty()) out += ',';
    out += l.name;
    out += "=\"";
    AppendEscaped(out, l.value);
    out += '"';
  }
  return out;
}

void AppendLine(std::string& out, std::string_view name, std::string_view labels, double value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  AppendValue(out, value);
  out += '\n';
}

std::string SerializeText(const std::vector<prometheus::MetricFamily>& families,
                          const std::vector<DirectFamily>& direct, size_t size_hint) {
  // Room for the whole text at once (not doubled on the way: each doubling copies it): the
  // previous text's size, or ~100 bytes a series (podmeter's own lines).
  size_t series = 0;
  for (const auto& f : families) series += f.metric.size();
  std::string out;
  out.reserve(std::max(size_hint + size_hint / 16, series * 100 + families.size() * 200));
  auto f = families.begin();
  auto d = direct.begin();
  while (f != families.end() || d != direct.end()) {
    if (d == direct.end() || (f != families.end() && f->name < d->name)) {
      AppendFamily(out, *f++);
    } else {
      (d++)->write(out);
    }
  }
  return out;
}

std::string Gzip(const std::string& data) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return std::string();
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END ? out : std::string();
}

}  // namespace podmeter
