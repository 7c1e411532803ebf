#include "collectors/relay/exposition_parser.h"

#include <locale.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace podmeter {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// The largest magnitude prometheus-cpp's 16-digit output reads back as a finite number.
constexpr double kMaxPrintable = 1.797693134862315e308;

bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsMetricNameStart(char c) { return IsAlpha(c) || c == '_' || c == ':'; }
bool IsMetricNameChar(char c) { return IsMetricNameStart(c) || IsDigit(c); }
bool IsLabelNameStart(char c) { return IsAlpha(c) || c == '_'; }
bool IsLabelNameChar(char c) { return IsLabelNameStart(c) || IsDigit(c); }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

// Valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF) without NUL.
bool IsCleanUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (s.size() - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

// A decimal number as Prometheus (Go's ParseFloat without hex or underscores) accepts it.
bool IsDecimalFloat(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t digits = 0;
  while (i < s.size() && IsDigit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && IsDigit(s[i])) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && IsDigit(s[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size();
}

locale_t CLocale() {
  static const locale_t c_locale = newlocale(LC_NUMERIC_MASK, "C", static_cast<locale_t>(nullptr));
  return c_locale;
}

bool ParseInt64(std::string_view s, int64_t* out) {
  bool plus = !s.empty() && s[0] == '+';
  if (plus) s.remove_prefix(1);
  if (s.empty() || (plus && s[0] == '-')) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// A count: a non-negative integer, written as one ("42") or as a float ("42.0", "4.2e1").
bool ParseCount(std::string_view s, uint64_t* out) {
  std::string_view digits = s;
  if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
  if (!digits.empty() && std::all_of(digits.begin(), digits.end(), IsDigit)) {
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *out);
    if (ec == std::errc() && ptr == digits.data() + digits.size()) return true;
  }
  double v;
  if (!ParseExpositionValue(s, &v)) return false;
  if (!(v >= 0) || v >= 18446744073709551616.0 || std::floor(v) != v) return false;
  *out = static_cast<uint64_t>(v);
  return true;
}

// prometheus-cpp 1.0.1's rendering of a finite double.
std::string Render16(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*g", std::numeric_limits<double>::max_digits10 - 1, v);
  return buf;
}

std::string LineError(size_t line, std::string_view what) {
  return "line " + std::to_string(line) + ": " + std::string(what);
}

// The canonical identity of a label set: sorted "name\0value\0" pairs (names and values never
// contain NUL). Duplicate names → false.
bool LabelKey(const std::vector<ClientMetric::Label>& labels, std::string* key) {
  std::vector<const ClientMetric::Label*> sorted;
  sorted.reserve(labels.size());
  for (const auto& l : labels) sorted.push_back(&l);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->name < b->name; });
  key->clear();
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0 && sorted[i]->name == sorted[i - 1]->name) return false;
    key->append(sorted[i]->name);
    key->push_back('\0');
    key->append(sorted[i]->value);
    key->push_back('\0');
  }
  return true;
}

// HELP text in exposition form: `\\` and `\n` escaped. Decoding first makes a lone or unknown
// backslash explicit (`\t` → `\\t`), so the text means the same to a reader of the output.
std::string NormalizeHelp(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\\' && i + 1 < raw.size() && (raw[i + 1] == '\\' || raw[i + 1] == 'n')) {
      out += '\\';
      out += raw[i + 1];
      ++i;
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\r') {
      // Dropped: a line's CRLF loses only its last CR, so a CR kept in the text would come
      // back one shorter from its own exposition (found by the fuzzer: "# HELP v x\r\r\n").
      continue;
    } else if (!out.empty() || !IsBlank(c)) {
      // Blanks the dropped CRs left at the start go too: a reader skips them after the name.
      out += c;
    }
  }
  return out;
}

struct Family {
  std::string name;
  std::string help;  // exposition form
  bool has_help = false;
  bool has_type = false;
  MetricType type = MetricType::Untyped;
  bool keep = true;
  bool has_samples = false;  // kept or not
  std::vector<ClientMetric> metric;
  // Histograms and summaries: which parts each series has, and series by label key.
  std::vector<std::pair<bool, bool>> has_sum_count;
  std::unordered_map<std::string, size_t> series_by_key;
};

enum class Role { kSimple, kBucket, kSum, kCount, kQuantile };

struct Sample {
  std::string_view name;
  std::vector<ClientMetric::Label> labels;
  std::string_view value;
  std::optional<int64_t> timestamp;
};

}  // namespace

class ExpositionParser::Impl {
 public:
  explicit Impl(ExpositionLimits limits)
      : limits_(std::move(limits)),
        max_families_(limits_.max_series > (SIZE_MAX - 64) / 4 ? SIZE_MAX
                                                               : limits_.max_series * 4 + 64) {}

  bool over_limit() const { return over_limit_; }

  Status Line(std::string_view line) {
    ++line_no_;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t p = 0;
    while (p < line.size() && IsBlank(line[p])) ++p;
    if (p == line.size()) return Status::Ok();
    if (line[p] == '#') return Comment(line.substr(p + 1));
    Sample sample;
    Status s = ParseSample(line.substr(p), &sample);
    if (!s.ok()) return s;
    return AddSample(sample);
  }

  StatusOr<std::vector<MetricFamily>> Finish() {
    std::vector<MetricFamily> out;
    for (Family& f : families_) {
      if (!f.keep || f.metric.empty()) continue;
      for (size_t i = 0; i < f.metric.size(); ++i) {
        ClientMetric& m = f.metric[i];
        if (f.type == MetricType::Histogram || f.type == MetricType::Summary) {
          const char* kind = f.type == MetricType::Histogram ? "histogram " : "summary ";
          if (!f.has_sum_count[i].first || !f.has_sum_count[i].second) {
            return Status::InvalidData(std::string(kind) + f.name + ": a series without " +
                                       (f.has_sum_count[i].first ? "_count" : "_sum"));
          }
        }
        if (f.type == MetricType::Histogram) {
          auto& b = m.histogram.bucket;
          std::stable_sort(b.begin(), b.end(), [](const auto& x, const auto& y) {
            return x.upper_bound < y.upper_bound;
          });
          for (size_t k = 1; k < b.size(); ++k) {
            if (b[k].upper_bound == b[k - 1].upper_bound ||
                Render16(b[k].upper_bound) == Render16(b[k - 1].upper_bound)) {
              return Status::InvalidData("histogram " + f.name + ": duplicate bucket bound " +
                                         Render16(b[k].upper_bound));
            }
          }
        } else if (f.type == MetricType::Summary) {
          auto& q = m.summary.quantile;
          std::stable_sort(q.begin(), q.end(),
                           [](const auto& x, const auto& y) { return x.quantile < y.quantile; });
          for (size_t k = 1; k < q.size(); ++k) {
            if (q[k].quantile == q[k - 1].quantile ||
                Render16(q[k].quantile) == Render16(q[k - 1].quantile)) {
              return Status::InvalidData("summary " + f.name + ": duplicate quantile " +
                                         Render16(q[k].quantile));
            }
          }
        }
      }
      MetricFamily mf;
      mf.name = std::move(f.name);
      mf.help = std::move(f.help);
      mf.type = f.type;
      mf.metric = std::move(f.metric);
      out.push_back(std::move(mf));
    }
    return out;
  }

 private:
  Status Error(std::string_view what) const {
    return Status::InvalidData(LineError(line_no_, what));
  }

  Status OverLimit(std::string_view what) {
    over_limit_ = true;
    return Error(what);
  }

  Family* Find(const std::string& name) {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &families_[it->second];
  }

  // The family named `name`, created if new; null (with *status set) past the family cap.
  Family* FindOrAdd(const std::string& name, Status* status) {
    if (Family* f = Find(name)) return f;
    if (families_.size() >= max_families_) {
      *status = OverLimit("more than " + std::to_string(max_families_) + " metric families");
      return nullptr;
    }
    index_.emplace(name, families_.size());
    Family& f = families_.emplace_back();
    f.name = name;
    f.keep = !limits_.keep_family || limits_.keep_family(name);
    return &f;
  }

  // A histogram or summary, TYPEd so, whose sample name `name` would be with `suffix`.
  Family* ComplexBase(std::string_view name, std::string_view suffix) {
    if (name.size() <= suffix.size() || !name.ends_with(suffix)) return nullptr;
    Family* base = Find(std::string(name.substr(0, name.size() - suffix.size())));
    if (base == nullptr || !base->has_type) return nullptr;
    if (base->type == MetricType::Histogram) return base;
    if (base->type == MetricType::Summary && suffix != "_bucket") return base;
    return nullptr;
  }

  // Reads a metric name at the start of `s`; its length, 0 if none.
  static size_t MetricNameLength(std::string_view s) {
    if (s.empty() || !IsMetricNameStart(s[0])) return 0;
    size_t n = 1;
    while (n < s.size() && IsMetricNameChar(s[n])) ++n;
    return n;
  }

  // `rest` follows the '#'.
  Status Comment(std::string_view rest) {
    if (rest.empty() || !IsBlank(rest[0])) return Status::Ok();  // "#HELP" is a comment
    size_t p = 0;
    while (p < rest.size() && IsBlank(rest[p])) ++p;
    std::string_view keyword = rest.substr(p, 4);
    bool help = keyword == "HELP";
    if ((!help && keyword != "TYPE") || p + 4 >= rest.size() || !IsBlank(rest[p + 4])) {
      return Status::Ok();  // another comment
    }
    p += 4;
    while (p < rest.size() && IsBlank(rest[p])) ++p;
    size_t n = MetricNameLength(rest.substr(p));
    if (n == 0 || (p + n < rest.size() && !IsBlank(rest[p + n]))) {
      return Error(std::string("bad metric name in ") + (help ? "HELP" : "TYPE"));
    }
    if (n > kMaxMetricNameBytes) return Error("metric name too long");
    std::string name(rest.substr(p, n));
    p += n;
    while (p < rest.size() && IsBlank(rest[p])) ++p;
    return help ? Help(name, rest.substr(p)) : Type(name, rest.substr(p));
  }

  Status Help(const std::string& name, std::string_view text) {
    if (!IsCleanUtf8(text)) return Error("HELP is not valid UTF-8 or contains NUL");
    Status status;
    Family* f = FindOrAdd(name, &status);
    if (f == nullptr) return status;
    if (f->has_help) return Error("second HELP for " + name);
    f->has_help = true;
    if (f->keep) f->help = NormalizeHelp(text);
    return Status::Ok();
  }

  static bool ParseType(std::string_view text, MetricType* type) {
    const std::pair<std::string_view, MetricType> kTypes[] = {{"counter", MetricType::Counter},
                                                              {"gauge", MetricType::Gauge},
                                                              {"histogram", MetricType::Histogram},
                                                              {"summary", MetricType::Summary},
                                                              {"untyped", MetricType::Untyped}};
    for (const auto& [word, t] : kTypes) {
      if (text == word) {
        *type = t;
        return true;
      }
    }
    return false;
  }

  // A TYPE must not make existing families' samples or TYPEs parts of a histogram or summary,
  // nor be the name of such a part itself.
  Status CheckTypeClash(const std::string& name, MetricType type) {
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      if (ComplexBase(name, suffix) != nullptr) {
        return Error("TYPE for " + name + " clashes with a histogram or summary");
      }
    }
    if (type != MetricType::Histogram && type != MetricType::Summary) return Status::Ok();
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      if (type == MetricType::Summary && suffix == "_bucket") continue;
      Family* other = Find(name + std::string(suffix));
      if (other != nullptr && (other->has_type || other->has_samples)) {
        return Error("TYPE for " + name + " after " + other->name + " samples or TYPE");
      }
    }
    return Status::Ok();
  }

  Status Type(const std::string& name, std::string_view text) {
    while (!text.empty() && IsBlank(text.back())) text.remove_suffix(1);
    MetricType type;
    if (!ParseType(text, &type)) return Error("unknown TYPE for " + name);
    Status status = CheckTypeClash(name, type);
    if (!status.ok()) return status;
    Family* f = FindOrAdd(name, &status);
    if (f == nullptr) return status;
    if (f->has_type) return Error("second TYPE for " + name);
    if (f->has_samples) return Error("TYPE for " + name + " after its samples");
    f->has_type = true;
    f->type = type;
    return Status::Ok();
  }

  static void SkipBlanks(std::string_view line, size_t* p) {
    while (*p < line.size() && IsBlank(line[*p])) ++*p;
  }

  // A quoted label value at line[*p] (just after the opening '"'), unescaped into *value.
  Status ParseLabelValue(std::string_view line, size_t* p, std::string* value) const {
    bool closed = false;
    while (*p < line.size()) {
      char c = line[(*p)++];
      if (c == '"') {
        closed = true;
        break;
      }
      if (c != '\\') {
        *value += c;
        continue;
      }
      if (*p >= line.size()) break;
      char e = line[(*p)++];
      if (e == 'n') {
        *value += '\n';
      } else if (e == '\\' || e == '"') {
        *value += e;
      } else {
        *value += '\\';  // kept as written, as Prometheus does
        *value += e;
      }
    }
    if (!closed) return Error("unterminated label value");
    if (!IsCleanUtf8(*value)) return Error("label value is not valid UTF-8 or contains NUL");
    return Status::Ok();
  }

  // The label set at line[*p] (just after the '{'), up to and including the '}'.
  Status ParseLabels(std::string_view line, size_t* p, std::vector<ClientMetric::Label>* out) {
    while (true) {
      SkipBlanks(line, p);
      if (*p >= line.size()) return Error("unterminated label set");
      if (line[*p] == '}') {
        ++*p;
        return Status::Ok();
      }
      if (!IsLabelNameStart(line[*p])) return Error("bad label name");
      size_t start = *p;
      while (*p < line.size() && IsLabelNameChar(line[*p])) ++*p;
      ClientMetric::Label label;
      label.name = std::string(line.substr(start, *p - start));
      SkipBlanks(line, p);
      if (*p >= line.size() || line[*p] != '=') return Error("expected '=' after a label name");
      ++*p;
      SkipBlanks(line, p);
      if (*p >= line.size() || line[*p] != '"') return Error("expected '\"' to open a value");
      ++*p;
      Status s = ParseLabelValue(line, p, &label.value);
      if (!s.ok()) return s;
      out->push_back(std::move(label));
      SkipBlanks(line, p);
      if (*p < line.size() && line[*p] == ',') {
        ++*p;
      } else if (*p >= line.size() || line[*p] != '}') {
        return Error("expected ',' or '}' after a label value");
      }
    }
  }

  Status ParseSample(std::string_view line, Sample* out) {
    size_t n = MetricNameLength(line);
    if (n == 0) return Error("expected a metric name");
    if (n > kMaxMetricNameBytes) return Error("metric name too long");
    out->name = line.substr(0, n);
    size_t p = n;
    SkipBlanks(line, &p);
    if (p < line.size() && line[p] == '{') {
      ++p;
      Status s = ParseLabels(line, &p, &out->labels);
      if (!s.ok()) return s;
      if (p >= line.size() || !IsBlank(line[p])) return Error("expected a blank before the value");
      SkipBlanks(line, &p);
    } else if (p == n) {
      return Error("expected a blank or '{' after the metric name");
    }
    size_t start = p;
    while (p < line.size() && !IsBlank(line[p])) ++p;
    out->value = line.substr(start, p - start);
    if (out->value.empty()) return Error("missing value");
    SkipBlanks(line, &p);
    if (p < line.size()) {
      start = p;
      while (p < line.size() && !IsBlank(line[p])) ++p;
      int64_t ts;
      if (!ParseInt64(line.substr(start, p - start), &ts)) return Error("bad timestamp");
      out->timestamp = ts;
      SkipBlanks(line, &p);
      if (p < line.size()) return Error("unexpected text after the timestamp");
    }
    return Status::Ok();
  }

  Status ParseDouble(std::string_view text, const char* what, double* out) const {
    if (!ParseExpositionValue(text, out)) return Error(std::string("bad ") + what);
    if (std::isfinite(*out) && std::fabs(*out) > kMaxPrintable) {
      return Error(std::string(what) + " too large to re-expose");
    }
    return Status::Ok();
  }

  // Removes the label `name` from `labels` into *value; false if absent.
  static bool TakeLabel(std::vector<ClientMetric::Label>* labels, std::string_view name,
                        std::string* value) {
    for (auto it = labels->begin(); it != labels->end(); ++it) {
      if (it->name == name) {
        *value = std::move(it->value);
        labels->erase(it);
        return true;
      }
    }
    return false;
  }

  static bool HasLabel(const std::vector<ClientMetric::Label>& labels, std::string_view name) {
    return std::any_of(labels.begin(), labels.end(),
                       [&](const ClientMetric::Label& l) { return l.name == name; });
  }

  // The family a sample belongs to and its role there (a _bucket/_sum/_count or quantile of a
  // histogram or summary TYPEd so before, else a simple sample); null with *status on failure.
  Family* FamilyOf(const Sample& sample, Role* role, Status* status) {
    std::string name(sample.name);
    Family* f = Find(name);
    *role = Role::kSimple;
    if (f != nullptr && f->has_type && f->type == MetricType::Histogram) {
      *status = Error("histogram " + name + " sample without _bucket, _sum or _count");
      return nullptr;
    }
    if (f != nullptr && f->has_type && f->type == MetricType::Summary) {
      *role = Role::kQuantile;
      return f;
    }
    const std::pair<std::string_view, Role> kSuffixes[] = {
        {"_bucket", Role::kBucket}, {"_sum", Role::kSum}, {"_count", Role::kCount}};
    for (const auto& [suffix, suffix_role] : kSuffixes) {
      f = ComplexBase(sample.name, suffix);
      if (f != nullptr) {
        *role = suffix_role;
        return f;
      }
    }
    return FindOrAdd(name, status);
  }

  // The sample's value (a double, or a count for buckets and _count) and, for a bucket or
  // quantile, its bound (taken out of the labels).
  Status ParseValues(Sample& sample, Role role, bool histogram, double* value, uint64_t* count,
                     double* bound) const {
    const std::string name(sample.name);
    if (role == Role::kBucket || role == Role::kCount) {
      if (!ParseCount(sample.value, count)) return Error("bad count");
    } else {
      Status s = ParseDouble(sample.value, "value", value);
      if (!s.ok()) return s;
    }
    if (role == Role::kBucket || role == Role::kQuantile) {
      const char* label = role == Role::kBucket ? "le" : "quantile";
      std::string bound_text;
      if (!TakeLabel(&sample.labels, label, &bound_text)) {
        return Error(name + " sample without a " + label + " label");
      }
      Status s = ParseDouble(bound_text, label, bound);
      if (!s.ok()) return s;
      if (std::isnan(*bound)) return Error(std::string(label) + " is NaN");
    } else if ((role == Role::kSum || role == Role::kCount) &&
               HasLabel(sample.labels, histogram ? "le" : "quantile")) {
      return Error(name + " sample with a " + (histogram ? "le" : "quantile") + " label");
    }
    return Status::Ok();
  }

  static void StoreSimple(Family* f, Sample& sample, double value) {
    ClientMetric& m = f->metric.emplace_back();
    m.label = std::move(sample.labels);
    m.timestamp_ms = sample.timestamp.value_or(0);
    switch (f->type) {
      case MetricType::Counter:
        m.counter.value = value;
        break;
      case MetricType::Gauge:
        m.gauge.value = value;
        break;
      default:
        m.untyped.value = value;
        break;
    }
  }

  // A part of a histogram or summary series, identified by its labels without le/quantile.
  static void StorePart(Family* f, Sample& sample, Role role, const std::string& key, double value,
                        uint64_t count, double bound) {
    const bool histogram = f->type == MetricType::Histogram;
    auto [it, inserted] = f->series_by_key.try_emplace(key, f->metric.size());
    if (inserted) {
      ClientMetric& m = f->metric.emplace_back();
      m.label = std::move(sample.labels);
      m.timestamp_ms = sample.timestamp.value_or(0);
      f->has_sum_count.emplace_back(false, false);
    }
    ClientMetric& m = f->metric[it->second];
    auto& [has_sum, has_count] = f->has_sum_count[it->second];
    switch (role) {
      case Role::kBucket:
        m.histogram.bucket.push_back({count, bound});
        break;
      case Role::kQuantile:
        m.summary.quantile.push_back({bound, value});
        break;
      case Role::kSum:
        has_sum = true;
        (histogram ? m.histogram.sample_sum : m.summary.sample_sum) = value;
        break;
      case Role::kCount:
        has_count = true;
        (histogram ? m.histogram.sample_count : m.summary.sample_count) = count;
        break;
      case Role::kSimple:
        break;
    }
  }

  Status AddSample(Sample& sample) {
    Role role;
    Status status;
    Family* f = FamilyOf(sample, &role, &status);
    if (f == nullptr) return status;
    f->has_samples = true;
    std::string key;
    if (!LabelKey(sample.labels, &key)) return Error("duplicate label name");
    double value = 0;
    uint64_t count = 0;
    double bound = 0;  // le or quantile
    status = ParseValues(sample, role, f->type == MetricType::Histogram, &value, &count, &bound);
    if (!status.ok() || !f->keep) return status;
    const std::string name(sample.name);
    if (++kept_series_ > limits_.max_series) {
      return OverLimit("more than " + std::to_string(limits_.max_series) + " series");
    }
    if (!seen_.insert(name + '\0' + key).second) return Error("duplicate series for " + name);
    if (role == Role::kSimple) {
      StoreSimple(f, sample, value);
      return Status::Ok();
    }
    if (role == Role::kBucket || role == Role::kQuantile) LabelKey(sample.labels, &key);
    StorePart(f, sample, role, key, value, count, bound);
    return Status::Ok();
  }

  const ExpositionLimits limits_;
  const size_t max_families_;
  bool over_limit_ = false;
  size_t line_no_ = 0;
  size_t kept_series_ = 0;
  std::vector<Family> families_;
  std::unordered_map<std::string, size_t> index_;  // family name → families_ index
  std::unordered_set<std::string> seen_;           // sample name '\0' label key, kept samples
};

ExpositionParser::ExpositionParser(ExpositionLimits limits)
    : impl_(std::make_unique<Impl>(std::move(limits))) {}

ExpositionParser::~ExpositionParser() = default;

bool ExpositionParser::Feed(std::string_view chunk) {
  if (!status_.ok()) return false;
  if (!partial_.empty()) {
    size_t nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      partial_.append(chunk);
      return true;
    }
    partial_.append(chunk.substr(0, nl));
    status_ = impl_->Line(partial_);
    std::string().swap(partial_);
    if (!status_.ok()) return false;
    chunk.remove_prefix(nl + 1);
  }
  while (!chunk.empty()) {
    size_t nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      partial_.assign(chunk);
      return true;
    }
    status_ = impl_->Line(chunk.substr(0, nl));
    if (!status_.ok()) return false;
    chunk.remove_prefix(nl + 1);
  }
  return true;
}

StatusOr<std::vector<MetricFamily>> ExpositionParser::Finish() {
  if (status_.ok() && !partial_.empty()) {
    status_ = impl_->Line(partial_);
    std::string().swap(partial_);
  }
  if (!status_.ok()) return status_;
  StatusOr<std::vector<MetricFamily>> out = impl_->Finish();
  if (!out.ok()) status_ = out.status();
  return out;
}

bool ExpositionParser::over_limit() const { return impl_->over_limit(); }

bool ParseExpositionValue(std::string_view text, double* out) {
  std::string_view unsigned_part = text;
  bool negative = false;
  bool sign = false;
  if (!unsigned_part.empty() && (unsigned_part[0] == '+' || unsigned_part[0] == '-')) {
    negative = unsigned_part[0] == '-';
    sign = true;
    unsigned_part.remove_prefix(1);
  }
  if (EqualsIgnoreCase(unsigned_part, "inf") || EqualsIgnoreCase(unsigned_part, "infinity")) {
    *out = negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
    return true;
  }
  if (!sign && EqualsIgnoreCase(unsigned_part, "nan")) {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (!IsDecimalFloat(text)) return false;
  std::string buf(text);  // strtod needs a terminator
  errno = 0;
  char* end = nullptr;
  double v = strtod_l(buf.c_str(), &end, CLocale());
  if (end != buf.c_str() + buf.size()) return false;
  if (errno == ERANGE && std::isinf(v)) return false;  // overflow; underflow gives 0 or denormal
  *out = v;
  return true;
}

StatusOr<std::vector<MetricFamily>> ParseExposition(std::string_view text,
                                                    const ExpositionLimits& limits,
                                                    bool* over_limit) {
  ExpositionParser parser(limits);
  parser.Feed(text);
  StatusOr<std::vector<MetricFamily>> out = parser.Finish();
  if (over_limit != nullptr) *over_limit = parser.over_limit();
  return out;
}

}  // namespace podmeter
