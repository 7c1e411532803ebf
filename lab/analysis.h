// What the summary computes from the run's Prometheus after the scenarios: the soak's memory
// trend per pod (leak verdict) and the cost projection per runtime. The queries are here, the
// arithmetic in lab/summary_math.h. Single-threaded.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "collectors/base/status.h"

namespace podmeter::lab {

struct AnalysisOptions {
  std::string prometheus;  ///< e.g. http://127.0.0.1:19090
  std::string run_id;      ///< k6's run_id tag
  std::string namespace_name = "podmeter-bench";
};

/// GET /api/v1/query_range?query=…&start=…&end=…&step=… (unix seconds); the answer's body.
StatusOr<std::string> QueryPrometheusRange(const std::string& prometheus, const std::string& query,
                                           double start, double end, double step);

/// The runtime of an app ("rust-api" → "rust"), as k6's runtime tag names it.
std::string RuntimeOf(const std::string& app);

/// The soak's memory trend per pod from recorded query_range answers: `k6_requests` (k6's request
/// counter summed by runtime: each runtime's load window), `rss` and `working_set` (podmeter's
/// series with pod and app labels). One entry per pod: its window, RSS and working-set fits and
/// the verdict (from RSS).
nlohmann::json LeakChecksFromAnswers(const std::string& k6_requests, const std::string& rss,
                                     const std::string& working_set);

/// The cost projection per runtime from the load scenario's summary entry (k6 rows, podmeter
/// CPU seconds), the CPU limit of each app (millicores) and a recorded working-set answer over
/// the load scenario (`k6_requests` gives each runtime's window; without data the scenario's
/// podmeter peak is used).
nlohmann::json CostProjectionsFromAnswers(const nlohmann::json& load_scenario,
                                          const std::map<std::string, int64_t>& cpu_limit_millis,
                                          const std::string& k6_requests,
                                          const std::string& working_set);

/// The suites' resource monitor from recorded query_range answers: `k6_requests` (each runtime's
/// window), `cpu` (podmeter's CPU rate in cores, by pod and app) and `working_set` (bytes). Per
/// runtime: {window, cpu_percent, ram_mib}, the spreads (Stats) of its pods' per-second samples
/// inside its window (CPU as % of one core, like top; RAM as working set in MiB).
nlohmann::json ResourceStatsFromAnswers(const std::string& k6_requests, const std::string& cpu,
                                        const std::string& working_set);

/// The same three, querying the run's Prometheus over the scenario's [start, end]. Errors are
/// returned as {"error": "..."}.
nlohmann::json LeakChecks(const AnalysisOptions& o, const nlohmann::json& soak_scenario);
nlohmann::json CostProjections(const AnalysisOptions& o, const nlohmann::json& load_scenario,
                               const std::map<std::string, int64_t>& cpu_limit_millis);
nlohmann::json ResourceStats(const AnalysisOptions& o, const nlohmann::json& suite_scenario);

}  // namespace podmeter::lab
