// The summary's arithmetic on Prometheus answers: the soak's RSS slope and leak verdict, the
// cost projection for 100 req/s and the cold-start statistics. Pure functions, no I/O;
// thread-safe. docs/lab.md states the formulas and thresholds.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "collectors/base/status.h"

namespace podmeter::lab {

/// One series of a query_range answer: its labels and (unix seconds, value) samples in time order.
struct RangeSeries {
  std::map<std::string, std::string> labels;
  std::vector<std::pair<double, double>> samples;
};

/// The series of one /api/v1/query_range answer (the whole JSON document). NaN/±Inf samples are
/// dropped. An error says what is wrong (not JSON, status not "success", not a matrix).
StatusOr<std::vector<RangeSeries>> ParseQueryRange(const std::string& answer);

/// The time a counter was rising: from its first sample to the last sample that is higher than
/// the one before (k6 keeps pushing a finished target's counters, flat). nullopt if it never rose.
std::optional<std::pair<double, double>> ActiveWindow(const RangeSeries& counter);

/// Least squares y = intercept + slope × t.
struct LinearFit {
  double slope = 0, intercept = 0;
  double r2 = 0;  ///< 1 − SS_res/SS_tot; 0 when y is constant (no trend to explain)
  int samples = 0;
};
/// nullopt with fewer than 2 samples or all at one time.
std::optional<LinearFit> FitLine(const std::vector<std::pair<double, double>>& samples);

/// The leak check's thresholds (docs/lab.md "Soak").
struct LeakThresholds {
  double warmup_fraction = 0.25;     ///< the start of the window left out …
  double max_warmup_seconds = 120;   ///< … but never more than this
  int min_samples = 5;               ///< fewer after the warm-up: "insufficient data"
  double growing_mib_per_hour = 10;  ///< growing when the slope is at least this …
  double growing_min_r2 = 0.5;  ///< … the line explains at least this much of the variance …
  double growing_min_rise_mib = 1.0;  ///< … and the fitted rise over the window is at least this
};

struct LeakCheck {
  double window_start = 0, window_end = 0;  ///< the fitted part (after the warm-up)
  double warmup_seconds = 0;
  int samples = 0;
  double slope_bytes_per_second = 0, slope_mib_per_hour = 0, r2 = 0;
  double rise_mib = 0;  ///< slope × fitted window
  double mean_bytes = 0;
  std::string verdict;  ///< "stable", "growing (possible leak)" or "insufficient data"
};

/// Fits `memory` (bytes) over [start, end] minus the warm-up.
LeakCheck CheckLeak(const RangeSeries& memory, double start, double end,
                    const LeakThresholds& t = {});

/// The largest sample of `series` in [start, end]; nullopt if none.
std::optional<double> MaxInWindow(const RangeSeries& series, double start, double end);

/// Pods and memory to serve `target_rps` (docs/lab.md "Cost projection").
struct CostProjection {
  double requests_per_cpu_second = 0;
  double cpu_limit_cores = 0;
  double requests_per_second_per_pod = 0;  ///< requests_per_cpu_second × cpu_limit_cores
  int pods = 0;                            ///< ceil(target / per pod), at least 1
  double mib_per_pod = 0;
  double memory_mib = 0;      ///< pods × mib_per_pod
  double cpu_millicores = 0;  ///< target / requests_per_cpu_second × 1000: the CPU actually used
  double target_rps = 0;
};
/// nullopt when a figure is missing (no CPU used, no limit, no memory).
std::optional<CostProjection> ProjectCost(double requests, double cpu_seconds,
                                          double cpu_limit_cores, double working_set_bytes,
                                          double target_rps = 100);

/// min / median / max of `values` (median of an even count: mean of the middle two).
struct Spread {
  double min = 0, median = 0, max = 0;
  int count = 0;
};
std::optional<Spread> SpreadOf(std::vector<double> values);

}  // namespace podmeter::lab
