// The suites: one reference report each (../shared/reference/), reproduced through the lab with
// its own k6 script (k6/<suite>.js) and its own scoreboard, with the report's columns and its
// ratios beside ours. The boards are computed from summary.json's pieces; pure, thread-safe
// (docs/lab.md, "Suites").
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace podmeter::lab {

/// A ratio the report states that a run can measure too: figure of `numerator`'s runtime over
/// `denominator`'s (e.g. actix's load throughput over Flask's), and what the report had.
struct ReportRatio {
  std::string what;         ///< "load throughput (req/s)"
  std::string figure;       ///< a key of the board's per-runtime figures: "load_rps"
  std::string numerator;    ///< runtime (k6's tag): "actix"
  std::string denominator;  ///< "flask"
  double report = 0;        ///< the report's ratio
  std::string source;       ///< the report's numbers it comes from: "160.6 / 3.6 req/s"
};

struct Suite {
  std::string name;                ///< the lab's scenario and k6/<name>.js
  std::string report;              ///< the report's file in ../shared/reference/
  std::vector<std::string> apps;   ///< the Deployments of k8s/base it runs, in order
  std::vector<std::string> tests;  ///< its k6 tests (k6/lib/bench.js), in order
  std::vector<ReportRatio> ratios;
};

/// The scoreboards' row of what a user deploys of a server: the binary (Rust, Go) or, for Python,
/// which ships none, its image unpacked (interpreter, its libraries, stdlib, venv, app).
inline constexpr const char* kBinaryRow =
    "binary (Python: its image unpacked — interpreter, stdlib, venv, app)";

/// fib, snowflake, sha256.
const std::vector<Suite>& Suites();
/// The suite of that name, or nullptr.
const Suite* FindSuite(const std::string& name);

/// The file a server of the lab runs (its argv from lab/images.json: "servers/run NAME"),
/// relative to the checkout: the Rust and Go binaries; for Django and Flask the venv's python
/// (whose size says nothing: the boards use their image's instead, kBinaryRow). Empty if
/// unknown.
std::string ServerBinary(const std::vector<std::string>& argv);

/// The suite's scoreboard (summary.json's suites.<name>) from the run's pieces:
/// - `scenario`: the suite's entry in summary.json's scenarios (k6 rows per runtime and test,
///   podmeter's figures per pod);
/// - `pods`: summary.json's pods (idle working set);
/// - `resources`: per runtime {cpu_percent, ram_mib} spreads over its window (ResourceStats);
/// - `sizes`: scripts/images' sizes.json (image → archive_bytes, unpacked_bytes) or null;
/// - `binaries`: per app {path, bytes, kind}: the server's binary on this host (kind "binary"),
///   for Python its image unpacked (kind "image");
/// - `images`: per app its image (k8s/base's).
nlohmann::json SuiteBoard(const Suite& suite, const nlohmann::json& scenario,
                          const nlohmann::json& pods, const nlohmann::json& resources,
                          const nlohmann::json& sizes, const nlohmann::json& binaries,
                          const std::map<std::string, std::string>& images);

/// summary.md's section for one board: the report's columns, one row per runtime, and the
/// report's ratios beside the run's.
std::string SuiteMarkdown(const nlohmann::json& board);

/// A reference server's requests in flight from its /metrics text: the gauge
/// `http_server_active_requests` (servers/README.md; for gunicorn the sum over its live workers),
/// summed over its series; nullopt when the text has no such sample.
std::optional<double> ParseActiveRequests(std::string_view metrics_text);

/// {min, max, avg, std, samples} of `values` (std: sample standard deviation, 0 for one value);
/// null when empty.
nlohmann::json Stats(const std::vector<double>& values);

}  // namespace podmeter::lab
