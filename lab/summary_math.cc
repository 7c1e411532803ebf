#include "lab/summary_math.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace podmeter::lab {

using nlohmann::json;

StatusOr<std::vector<RangeSeries>> ParseQueryRange(const std::string& answer) {
  json doc = json::parse(answer, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::InvalidData("query_range answer is not JSON");
  }
  if (doc.value("status", "") != "success") {
    return Status::InvalidData("query_range failed: " + doc.value("error", std::string("?")));
  }
  auto data_it = doc.find("data");
  if (data_it == doc.end() || !data_it->is_object() ||
      data_it->value("resultType", "") != "matrix" || !data_it->contains("result") ||
      !(*data_it)["result"].is_array()) {
    return Status::InvalidData("query_range answer is not a matrix");
  }
  const json& data = *data_it;
  std::vector<RangeSeries> out;
  for (const json& r : data["result"]) {
    RangeSeries s;
    if (!r.is_object()) return Status::InvalidData("query_range result is not an object");
    if (auto m = r.find("metric"); m != r.end() && m->is_object()) {
      for (const auto& [k, v] : m->items()) {
        if (v.is_string()) s.labels[k] = v.get<std::string>();
      }
    }
    auto values = r.find("values");
    if (values == r.end() || !values->is_array()) {
      return Status::InvalidData("query_range result has no values");
    }
    for (const json& p : *values) {
      if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_string()) {
        return Status::InvalidData("query_range sample is not [time, \"value\"]");
      }
      double v = std::strtod(p[1].get<std::string>().c_str(), nullptr);
      if (std::isfinite(v)) s.samples.emplace_back(p[0].get<double>(), v);
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<std::pair<double, double>> ActiveWindow(const RangeSeries& counter) {
  const auto& s = counter.samples;
  std::optional<double> last_rise;
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i].second > s[i - 1].second) last_rise = s[i].first;
  }
  if (!last_rise) return std::nullopt;
  return std::make_pair(s.front().first, *last_rise);
}

std::optional<LinearFit> FitLine(const std::vector<std::pair<double, double>>& samples) {
  if (samples.size() < 2) return std::nullopt;
  const double n = static_cast<double>(samples.size());
  // Centred sums: unix seconds squared would lose the digits that matter.
  double mt = 0, my = 0;
  for (const auto& [t, y] : samples) {
    mt += t;
    my += y;
  }
  mt /= n;
  my /= n;
  double stt = 0, sty = 0, syy = 0;
  for (const auto& [t, y] : samples) {
    stt += (t - mt) * (t - mt);
    sty += (t - mt) * (y - my);
    syy += (y - my) * (y - my);
  }
  if (stt <= 0) return std::nullopt;
  LinearFit f;
  f.slope = sty / stt;
  f.intercept = my - f.slope * mt;
  f.r2 = syy > 0 ? (sty * sty) / (stt * syy) : 0;
  f.samples = static_cast<int>(samples.size());
  return f;
}

LeakCheck CheckLeak(const RangeSeries& memory, double start, double end, const LeakThresholds& t) {
  LeakCheck c;
  c.warmup_seconds = std::min(t.warmup_fraction * std::max(0.0, end - start), t.max_warmup_seconds);
  c.window_start = start + c.warmup_seconds;
  c.window_end = end;
  std::vector<std::pair<double, double>> fitted;
  for (const auto& p : memory.samples) {
    if (p.first >= c.window_start && p.first <= c.window_end) fitted.push_back(p);
  }
  c.samples = static_cast<int>(fitted.size());
  double sum = 0;
  for (const auto& p : fitted) sum += p.second;
  c.mean_bytes = fitted.empty() ? 0 : sum / static_cast<double>(fitted.size());
  auto fit = FitLine(fitted);
  if (!fit || c.samples < t.min_samples) {
    c.verdict = "insufficient data";
    return c;
  }
  constexpr double kMiB = 1024.0 * 1024.0;
  c.slope_bytes_per_second = fit->slope;
  c.slope_mib_per_hour = fit->slope * 3600 / kMiB;
  c.r2 = fit->r2;
  c.rise_mib = fit->slope * (fitted.back().first - fitted.front().first) / kMiB;
  bool growing = c.slope_mib_per_hour >= t.growing_mib_per_hour && c.r2 >= t.growing_min_r2 &&
                 c.rise_mib >= t.growing_min_rise_mib;
  c.verdict = growing ? "growing (possible leak)" : "stable";
  return c;
}

std::optional<double> MaxInWindow(const RangeSeries& series, double start, double end) {
  std::optional<double> best;
  for (const auto& [t, v] : series.samples) {
    if (t >= start && t <= end && (!best || v > *best)) best = v;
  }
  return best;
}

std::optional<CostProjection> ProjectCost(double requests, double cpu_seconds,
                                          double cpu_limit_cores, double working_set_bytes,
                                          double target_rps) {
  if (requests <= 0 || cpu_seconds <= 0 || cpu_limit_cores <= 0 || working_set_bytes <= 0 ||
      target_rps <= 0) {
    return std::nullopt;
  }
  CostProjection c;
  c.target_rps = target_rps;
  c.requests_per_cpu_second = requests / cpu_seconds;
  c.cpu_limit_cores = cpu_limit_cores;
  c.requests_per_second_per_pod = c.requests_per_cpu_second * cpu_limit_cores;
  c.pods = std::max(1, static_cast<int>(std::ceil(target_rps / c.requests_per_second_per_pod)));
  c.mib_per_pod = working_set_bytes / (1024.0 * 1024.0);
  c.memory_mib = c.pods * c.mib_per_pod;
  c.cpu_millicores = target_rps / c.requests_per_cpu_second * 1000;
  return c;
}

std::optional<Spread> SpreadOf(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  Spread s;
  s.count = static_cast<int>(values.size());
  s.min = values.front();
  s.max = values.back();
  size_t mid = values.size() / 2;
  s.median = values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  return s;
}

}  // namespace podmeter::lab
