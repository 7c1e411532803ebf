#include "lab/suites.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>

namespace podmeter::lab {
namespace {

using nlohmann::json;

constexpr double kMiB = 1024.0 * 1024.0;

std::string RuntimeOfApp(const std::string& app) { return app.substr(0, app.find('-')); }

// j[key] as a number, when j is an object holding a number there.
std::optional<double> NumberAt(const json& j, const std::string& key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

// The figures of one k6 row of test `test`: <test>_rps, _avg_ms, …, _requests, _error_percent.
void AddTestFigures(json& figures, const std::string& test, const json& row) {
  for (const char* key : {"avg_ms", "min_ms", "max_ms", "std_ms", "p50_ms", "p90_ms", "p95_ms",
                          "p99_ms", "requests", "failed"}) {
    if (auto v = NumberAt(row, key)) figures[test + "_" + key] = *v;
  }
  if (auto v = NumberAt(row, "requests_per_second")) figures[test + "_rps"] = *v;
  auto requests = NumberAt(row, "requests");
  auto failed = NumberAt(row, "failed");
  if (requests && failed) {
    figures[test + "_successful"] = *requests - *failed;
    if (*requests > 0) {
      figures[test + "_error_percent"] = 100 * *failed / *requests;
      figures[test + "_success_percent"] = 100 * (*requests - *failed) / *requests;
    }
  }
}

// Sizes, memory and the resource monitor's spreads of one runtime as figures.
void AddCommonFigures(json& figures, const json& entry) {
  if (auto v = NumberAt(entry, "image_unpacked_bytes")) figures["image_mb"] = *v / 1e6;
  if (auto v = NumberAt(entry, "image_archive_bytes")) figures["image_archive_mb"] = *v / 1e6;
  if (auto v = NumberAt(entry, "binary_bytes")) {
    figures["binary_bytes"] = *v;
    figures["binary_mb"] = *v / 1e6;
  }
  if (auto v = NumberAt(entry, "idle_working_set_bytes")) figures["idle_mib"] = *v / kMiB;
  if (auto v = NumberAt(entry, "peak_working_set_bytes")) figures["load_mib"] = *v / kMiB;
  for (const char* stat : {"min", "max", "avg", "std"}) {
    if (auto v = NumberAt(entry.value("cpu_percent", json()), stat)) {
      figures[std::string("cpu_") + stat + "_percent"] = *v;
    }
    if (auto v = NumberAt(entry.value("ram_mib", json()), stat)) {
      figures[std::string("ram_") + stat + "_mib"] = *v;
    }
  }
}

// One runtime's entry of a board: its app's sizes, pods and k6 rows.
json RuntimeEntry(const std::string& app, const json& scenario, const json& pods,
                  const json& resources, const json& sizes, const json& binaries,
                  const std::map<std::string, std::string>& images) {
  const std::string runtime = RuntimeOfApp(app);
  json e = {{"runtime", runtime}, {"app", app}};
  auto image = images.find(app);
  if (image != images.end()) {
    e["image"] = image->second;
    const json size = sizes.is_object() ? sizes.value(image->second, json()) : json();
    if (auto v = NumberAt(size, "archive_bytes")) e["image_archive_bytes"] = *v;
    if (auto v = NumberAt(size, "unpacked_bytes")) e["image_unpacked_bytes"] = *v;
  }
  if (binaries.is_object() && binaries.contains(app)) {
    const json& b = binaries[app];
    e["binary_path"] = b.value("path", "");
    e["binary_kind"] = b.value("kind", "");
    if (auto v = NumberAt(b, "bytes")) e["binary_bytes"] = *v;
  }
  for (const json& p : pods) {
    if (p.value("app", "") != app) continue;
    if (auto v = NumberAt(p, "idle_working_set_bytes")) e["idle_working_set_bytes"] = *v;
    break;
  }
  double peak = 0, cpu = 0;
  for (const json& p : scenario.value("podmeter", json::array())) {
    if (p.value("app", "") != app) continue;
    peak = std::max(peak, p.value("peak_working_set_bytes", 0.0));
    cpu += p.value("cpu_seconds", 0.0);
  }
  e["peak_working_set_bytes"] = peak;
  e["cpu_seconds"] = cpu;
  if (resources.is_object() && resources.contains(runtime)) {
    for (const char* key : {"cpu_percent", "ram_mib", "window"}) {
      if (resources[runtime].contains(key)) e[key] = resources[runtime][key];
    }
  }
  json tests = json::object();
  json figures = json::object();
  const json k6 = scenario.value("k6", json::object());
  for (const json& row : k6.value("rows", json::array())) {
    if (row.value("runtime", "") != runtime) continue;
    tests[row.value("test", "")] = row;
    AddTestFigures(figures, row.value("test", ""), row);
  }
  AddCommonFigures(figures, e);
  e["tests"] = tests;
  e["figures"] = figures;
  return e;
}

std::string Fixed(double v, int digits) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

// A figure as the report writes it, by the suffix of its key.
std::string FormatFigure(const std::string& key, const json& figures) {
  auto v = NumberAt(figures, key);
  if (!v) return "-";
  auto ends = [&key](const std::string& s) {
    return key.size() >= s.size() && key.compare(key.size() - s.size(), s.size(), s) == 0;
  };
  if (ends("_ms")) return Fixed(*v, *v < 10 ? 3 : 1) + " ms";
  if (ends("_rps")) return Fixed(*v, 1) + " req/s";
  if (ends("_percent")) return Fixed(*v, 2) + " %";
  if (ends("_mib")) return Fixed(*v, 2) + " MiB";
  if (ends("_mb")) return Fixed(*v, 2) + " MB";
  return Fixed(*v, 0);
}

// The report's rows of each suite: (title, figure key), in the report's order.
using Rows = std::vector<std::pair<std::string, std::string>>;
Rows ReportRows(const std::string& suite) {
  if (suite == "fib") {
    Rows rows = {{"Docker image (unpacked)", "image_mb"},
                 {"Memory at idle (working set)", "idle_mib"},
                 {"Memory under load (peak working set)", "load_mib"},
                 {"Single request (avg)", "single_avg_ms"}};
    for (const char* t : {"load", "spike", "soak"}) {
      std::string T = t;
      rows.insert(rows.end(), {{T + ": requests/sec", T + "_rps"},
                               {T + ": avg response", T + "_avg_ms"},
                               {T + ": p95 response", T + "_p95_ms"},
                               {T + ": total requests", T + "_requests"},
                               {T + ": HTTP errors", T + "_error_percent"}});
    }
    return rows;
  }
  if (suite == "snowflake") {
    return {{"Response time min", "ids_min_ms"},      {"Response time max", "ids_max_ms"},
            {"Response time average", "ids_avg_ms"},  {"Response time std dev", "ids_std_ms"},
            {"Total requests", "ids_requests"},       {"Success rate", "ids_success_percent"},
            {"CPU usage min", "cpu_min_percent"},     {"CPU usage max", "cpu_max_percent"},
            {"CPU usage average", "cpu_avg_percent"}, {"CPU usage std dev", "cpu_std_percent"},
            {"RAM (working set) min", "ram_min_mib"}, {"RAM max", "ram_max_mib"},
            {"RAM average", "ram_avg_mib"},           {"RAM std dev", "ram_std_mib"},
            {"Binary size (bytes)", "binary_bytes"}};
  }
  return {{"P50", "main_p50_ms"},      {"P90", "main_p90_ms"},
          {"P95", "main_p95_ms"},      {"P99", "main_p99_ms"},
          {"Avg", "main_avg_ms"},      {"Successful", "main_successful"},
          {"Failed", "main_failed"},   {"Error rate", "main_error_percent"},
          {"Requests/sec", "main_rps"}};
}

// Sizes and resources, in every board.
const Rows& CommonRows() {
  static const Rows rows = {{"image archive (OCI, gzip)", "image_archive_mb"},
                            {"image unpacked", "image_mb"},
                            {kBinaryRow, "binary_mb"},
                            {"idle working set", "idle_mib"},
                            {"peak working set under load", "load_mib"},
                            {"CPU % of a core (avg over its load window)", "cpu_avg_percent"},
                            {"CPU % of a core (max)", "cpu_max_percent"}};
  return rows;
}

void WriteFigureTable(std::ostringstream& md, const json& runtimes, const Rows& rows) {
  md << "| |";
  for (const json& r : runtimes) md << " " << r.value("runtime", "") << " |";
  md << "\n|---|";
  for (size_t i = 0; i < runtimes.size(); ++i) md << "---|";
  md << "\n";
  for (const auto& [title, key] : rows) {
    md << "| " << title << " |";
    for (const json& r : runtimes)
      md << " " << FormatFigure(key, r.value("figures", json())) << " |";
    md << "\n";
  }
}

}  // namespace

const std::vector<Suite>& Suites() {
  static const std::vector<Suite> suites = {
      {"fib",
       "k8s-fib-rust-go-python.md",
       {"actix-api", "go-api", "flask-api"},
       {"single", "load", "spike", "soak"},
       {{"single request (avg)", "single_avg_ms", "go", "actix", 2.0, "~4 / ~2 ms"},
        {"single request (avg)", "single_avg_ms", "flask", "actix", 79.5, "~159 / ~2 ms"},
        {"load throughput", "load_rps", "actix", "go", 2.29, "160.6 / 70.0 req/s"},
        {"load throughput", "load_rps", "actix", "flask", 44.6, "160.6 / 3.6 req/s"},
        {"spike throughput", "spike_rps", "actix", "go", 2.25, "153.4 / 68.3 req/s"},
        {"spike throughput", "spike_rps", "actix", "flask", 48.5, "153.4 / 3.16 req/s"},
        {"spike p95", "spike_p95_ms", "go", "actix", 3.78, "2.33 s / 617 ms"},
        {"spike p95", "spike_p95_ms", "flask", "actix", 54.8, "33.8 s / 617 ms"},
        {"soak throughput", "soak_rps", "actix", "go", 2.21, "149.6 / 67.8 req/s"},
        {"soak throughput", "soak_rps", "actix", "flask", 55.4, "149.6 / 2.7 req/s"},
        {"soak p95", "soak_p95_ms", "go", "actix", 3.93, "712 / 181 ms"},
        {"soak p95", "soak_p95_ms", "flask", "actix", 75.1, "13.6 s / 181 ms"},
        {"memory at idle", "idle_mib", "go", "actix", 52.0, "104 / 2 Mi"},
        {"memory at idle", "idle_mib", "flask", "actix", 20.5, "41 / 2 Mi"},
        {"memory under load", "load_mib", "go", "actix", 54.5, "109 / 2 Mi"},
        {"memory under load", "load_mib", "flask", "actix", 20.5, "41 / 2 Mi"},
        {"image size", "image_mb", "go", "actix", 2.63,
         "231 / 88 MB (Go's image held the compiler)"},
        {"image size", "image_mb", "flask", "actix", 1.35, "119 / 88 MB"}}},
      {"snowflake",
       "snowflake-axum-fasthttp.md",
       {"rust-api", "fasthttp-api"},
       {"ids"},
       {{"avg response time", "ids_avg_ms", "fasthttp", "rust", 1.045, "371.37 / 355.31 ms"},
        {"response time std dev", "ids_std_ms", "fasthttp", "rust", 1.376, "133.66 / 97.15 ms"},
        {"max response time", "ids_max_ms", "fasthttp", "rust", 1.720, "986.48 / 573.50 ms"},
        {"avg CPU %", "cpu_avg_percent", "fasthttp", "rust", 1.186, "4.40 / 3.71 %"},
        {"max CPU %", "cpu_max_percent", "fasthttp", "rust", 2.646, "20.90 / 7.90 %"},
        {"avg RAM", "ram_avg_mib", "fasthttp", "rust", 1.002,
         "6077.74 / 6064.34 MB (the whole machine's RAM: a tie)"},
        {"binary size", "binary_bytes", "fasthttp", "rust", 8.770, "7,638,749 / 870,976 bytes"}}},
      {"sha256",
       "sha256-hyper-nethttp-k8s.md",
       {"hyper-api", "go-api"},
       {"main"},
       {{"successful requests (glibc run)", "main_successful", "hyper", "go", 0.760,
         "16,568,556 / 21,800,444"},
        {"successful requests (musl run)", "main_successful", "hyper", "go", 1.385,
         "13,238,995 / 9,562,037"},
        {"P50 (glibc)", "main_p50_ms", "hyper", "go", 1.469, "0.376 / 0.256 ms"},
        {"P50 (musl)", "main_p50_ms", "hyper", "go", 1.234, "0.338 / 0.274 ms"},
        {"P90 (glibc)", "main_p90_ms", "hyper", "go", 1.267, "0.740 / 0.584 ms"},
        {"P95 (glibc)", "main_p95_ms", "hyper", "go", 1.197, "0.965 / 0.806 ms"},
        {"P99 (glibc)", "main_p99_ms", "hyper", "go", 1.370, "1.874 / 1.368 ms"},
        {"P99 (musl)", "main_p99_ms", "hyper", "go", 0.718, "2.858 / 3.979 ms"},
        {"Avg (glibc)", "main_avg_ms", "hyper", "go", 1.357, "0.418 / 0.308 ms"}}}};
  return suites;
}

const Suite* FindSuite(const std::string& name) {
  for (const Suite& s : Suites()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::string ServerBinary(const std::vector<std::string>& argv) {
  if (argv.size() != 2 || argv[0] != "servers/run") return "";
  static const std::map<std::string, std::string> binaries = {
      {"rust", "servers/rust/target/release/refserver"},
      {"actix", "servers/rust/target/release/refserver-actix"},
      {"hyper", "servers/rust/target/release/refserver-hyper"},
      {"go", "servers/go/bin/refserver"},
      {"fasthttp", "servers/go/bin/refserver-fasthttp"},
      {"django", "servers/django/.venv/bin/python"},
      {"flask", "servers/flask/.venv/bin/python"}};
  auto it = binaries.find(argv[1]);
  return it == binaries.end() ? "" : it->second;
}

std::optional<double> ParseActiveRequests(std::string_view text) {
  constexpr std::string_view kName = "http_server_active_requests";
  std::optional<double> sum;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (line.substr(0, kName.size()) != kName || line.size() == kName.size()) continue;
    char after = line[kName.size()];
    if (after != ' ' && after != '{') continue;  // another metric with this prefix
    size_t value_at = line.find(' ', after == '{' ? line.find('}') : kName.size());
    if (value_at == std::string_view::npos) continue;
    std::string value(line.substr(value_at + 1));
    char* end = nullptr;
    double v = std::strtod(value.c_str(), &end);
    if (end == value.c_str()) continue;
    sum = sum.value_or(0) + v;
  }
  return sum;
}

json Stats(const std::vector<double>& values) {
  if (values.empty()) return nullptr;
  double sum = 0, lo = values.front(), hi = values.front();
  for (double v : values) {
    sum += v;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  double avg = sum / static_cast<double>(values.size());
  double ss = 0;
  for (double v : values) ss += (v - avg) * (v - avg);
  double std = values.size() > 1 ? std::sqrt(ss / static_cast<double>(values.size() - 1)) : 0;
  return {{"min", lo},
          {"max", hi},
          {"avg", avg},
          {"std", std},
          {"samples", static_cast<int>(values.size())}};
}

json SuiteBoard(const Suite& suite, const json& scenario, const json& pods, const json& resources,
                const json& sizes, const json& binaries,
                const std::map<std::string, std::string>& images) {
  json board = {{"suite", suite.name},
                {"report", suite.report},
                {"apps", suite.apps},
                {"runtimes", json::array()},
                {"comparisons", json::array()}};
  if (scenario.contains("k6")) {
    board["description"] = scenario["k6"].value("description", "");
    board["tests"] = scenario["k6"].value("tests", json::array());
  }
  std::map<std::string, json> figures;
  for (const std::string& app : suite.apps) {
    json e = RuntimeEntry(app, scenario, pods, resources, sizes, binaries, images);
    figures[e["runtime"].get<std::string>()] = e["figures"];
    board["runtimes"].push_back(std::move(e));
  }
  for (const ReportRatio& r : suite.ratios) {
    json c = {{"what", r.what},           {"figure", r.figure},
              {"numerator", r.numerator}, {"denominator", r.denominator},
              {"report", r.report},       {"report_source", r.source}};
    auto num = NumberAt(figures[r.numerator], r.figure);
    auto den = NumberAt(figures[r.denominator], r.figure);
    c["here"] = num && den && *den > 0 ? json(*num / *den) : json(nullptr);
    board["comparisons"].push_back(std::move(c));
  }
  return board;
}

std::string SuiteMarkdown(const json& board) {
  std::ostringstream md;
  const json& runtimes = board["runtimes"];
  md << "## Suite " << board.value("suite", "") << ": " << board.value("report", "") << "\n\n"
     << board.value("description", "") << "\n\n";
  WriteFigureTable(md, runtimes, ReportRows(board.value("suite", "")));
  md << "\nSizes and resources (CPU and RAM: podmeter every second over the runtime's own load "
        "window):\n\n";
  WriteFigureTable(md, runtimes, CommonRows());
  for (const json& r : runtimes) {
    if (r.contains("size_note")) {
      md << "\n- " << r.value("runtime", "") << ": " << r.value("size_note", "")
         << " (its image rows" << (r.value("binary_kind", "") == "binary" ? "" : " and binary row")
         << " show -)";
    }
  }
  md << "\n";
  md << "\nThe report's ratios beside this run's:\n\n| ratio | report | here | report's figures "
        "|\n|---|---|---|---|\n";
  for (const json& c : board["comparisons"]) {
    md << "| " << c.value("what", "") << ": " << c.value("numerator", "") << " / "
       << c.value("denominator", "") << " | " << Fixed(c.value("report", 0.0), 2) << "× | "
       << (c["here"].is_number() ? Fixed(c["here"].get<double>(), 2) + "×" : std::string("-"))
       << " | " << c.value("report_source", "") << " |\n";
  }
  md << "\n";
  return md.str();
}

}  // namespace podmeter::lab
