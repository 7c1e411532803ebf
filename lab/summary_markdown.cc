#include "lab/summary_markdown.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <sstream>
#include <vector>

#include "lab/analysis.h"

namespace podmeter::lab {
namespace {

const nlohmann::json kMissing;

std::string Str(const nlohmann::json& j) { return j.is_string() ? j.get<std::string>() : ""; }

// b - a of a [a, b] pair of numbers, else null.
nlohmann::json Width(const nlohmann::json& w) {
  if (!w.is_array() || w.size() != 2 || !w[0].is_number() || !w[1].is_number()) return nullptr;
  return w[1].get<double>() - w[0].get<double>();
}

// j[key] when j is an object that has it, else null (const operator[] must not miss).
const nlohmann::json& At(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return kMissing;
  auto it = j.find(key);
  return it == j.end() ? kMissing : *it;
}

std::string Num(const nlohmann::json& v, double scale, int digits) {
  if (!v.is_number()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v.get<double>() * scale);
  return buf;
}

// "median (min–max)" of a {min, median, max} object, in ms.
std::string SpreadMs(const nlohmann::json& s) {
  if (!s.is_object()) return "-";
  int digits = s.value("median", 0.0) < 0.01 ? 2 : 1;
  return Num(At(s, "median"), 1e3, digits) + " ms (" + Num(At(s, "min"), 1e3, digits) + "–" +
         Num(At(s, "max"), 1e3, digits) + ")";
}

const nlohmann::json* FindScenario(const nlohmann::json& s, const std::string& name) {
  if (!s.contains("scenarios")) return nullptr;
  for (const auto& sc : At(s, "scenarios")) {
    if (sc.value("scenario", "") == name) return &sc;
  }
  return nullptr;
}

const nlohmann::json* FindByRuntime(const nlohmann::json& list, const std::string& runtime) {
  if (!list.is_array()) return nullptr;
  for (const auto& e : list) {
    if (e.value("runtime", "") == runtime) return &e;
  }
  return nullptr;
}

}  // namespace

std::string SummaryMarkdown(const nlohmann::json& s) {
  std::ostringstream md;
  auto num = Num;
  static const nlohmann::json kNull;
  md << "# podmeter lab run " << Str(At(s, "run_id")) << " (" << Str(At(s, "profile")) << ")\n\n";
  std::vector<std::string> runtimes;
  for (const auto& p : At(s, "pods")) {
    std::string r = RuntimeOf(p.value("app", ""));
    if (std::find(runtimes.begin(), runtimes.end(), r) == runtimes.end()) runtimes.push_back(r);
  }
  const nlohmann::json* cold = FindScenario(s, "cold-start");
  const nlohmann::json* load = FindScenario(s, "load");
  auto cell = [](const nlohmann::json* e, const char* key) -> const nlohmann::json& {
    return e != nullptr && e->contains(key) ? (*e)[key] : kNull;
  };
  // The scoreboard.
  md << "## Scoreboard\n\n| | ";
  for (const auto& r : runtimes) md << r << " | ";
  md << "\n|---|";
  for (size_t i = 0; i < runtimes.size(); ++i) md << "---|";
  md << "\n";
  auto board_row = [&](const std::string& title,
                       const std::function<std::string(const std::string&)>& f) {
    md << "| " << title << " | ";
    for (const auto& r : runtimes) md << f(r) << " | ";
    md << "\n";
  };
  auto cold_of = [&](const std::string& r) {
    return cold != nullptr
               ? cold->contains("runtimes") ? FindByRuntime(At((*cold), "runtimes"), r) : nullptr
               : nullptr;
  };
  board_row("cold start exec→listen (podmeter, median)", [&](const std::string& r) {
    return SpreadMs(cell(cold_of(r), "exec_to_listen_seconds"));
  });
  board_row("cold start exec→ready (probe, median)", [&](const std::string& r) {
    return SpreadMs(cell(cold_of(r), "exec_to_ready_seconds"));
  });
  board_row("cold start self-reported (median)", [&](const std::string& r) {
    return SpreadMs(cell(cold_of(r), "self_reported_seconds"));
  });
  auto pod_of = [&](const std::string& r) -> const nlohmann::json* {
    for (const auto& p : At(s, "pods")) {
      if (RuntimeOf(p.value("app", "")) == r) return &p;
    }
    return nullptr;
  };
  board_row("idle working set", [&](const std::string& r) {
    return num(cell(pod_of(r), "idle_working_set_bytes"), 1.0 / 1048576, 2) + " MiB";
  });
  auto load_row = [&](const std::string& r) -> const nlohmann::json* {
    if (load == nullptr || !load->contains("k6")) return nullptr;
    const nlohmann::json& k6 = At((*load), "k6");
    return k6.contains("rows") ? FindByRuntime(At(k6, "rows"), r) : nullptr;
  };
  board_row("load p95",
            [&](const std::string& r) { return num(cell(load_row(r), "p95_ms"), 1, 1) + " ms"; });
  const nlohmann::json& cost = s.contains("cost_projection") ? At(s, "cost_projection") : kNull;
  board_row("requests per CPU-second (load)", [&](const std::string& r) {
    return num(cell(FindByRuntime(cost, r), "requests_per_cpu_second"), 1, 0);
  });
  const nlohmann::json& leak = s.contains("leak_check") ? At(s, "leak_check") : kNull;
  board_row("soak RSS slope", [&](const std::string& r) {
    const nlohmann::json* e = FindByRuntime(leak, r);
    if (e == nullptr || !e->contains("rss")) return std::string("-");
    return num(At(At(*e, "rss"), "slope_mib_per_hour"), 1, 1) + " MiB/h, " +
           e->value("verdict", "");
  });
  board_row("pods for 100 req/s",
            [&](const std::string& r) { return num(cell(FindByRuntime(cost, r), "pods"), 1, 0); });
  board_row("memory for 100 req/s", [&](const std::string& r) {
    return num(cell(FindByRuntime(cost, r), "memory_mib"), 1, 1) + " MiB";
  });

  if (cold != nullptr) {
    md << "\n## Cold start (" << cold->value("starts", 0)
       << " starts per runtime from nothing; median (min–max))\n\n"
          "| runtime | exec→listen (podmeter) | exec→ready (readiness probe) | self-reported | "
          "starts |\n|---|---|---|---|---|\n";
    for (const auto& r : cold->value("runtimes", nlohmann::json::array())) {
      md << "| " << r.value("runtime", "") << " | " << SpreadMs(At(r, "exec_to_listen_seconds"))
         << " | " << SpreadMs(At(r, "exec_to_ready_seconds")) << " | "
         << SpreadMs(At(r, "self_reported_seconds")) << " | " << At(r, "starts").size() << " |\n";
    }
  }
  if (leak.is_array()) {
    md << "\n## Soak: memory trend (least squares after the warm-up; growing = ≥ 10 MiB/h, "
          "R² ≥ 0.5 and ≥ 1 MiB risen)\n\n| pod | fitted window | samples | RSS slope | R² | "
          "working set slope | verdict |\n|---|---|---|---|---|---|---|\n";
    for (const auto& e : leak) {
      if (!e.contains("rss")) {
        md << "| " << e.value("pod", e.value("error", std::string("?")))
           << " | - | - | - | - | - | - |\n";
        continue;
      }
      const auto& rss = At(e, "rss");
      md << "| " << e.value("app", "") << " | " << num(Width(At(e, "fitted_window")), 1, 0)
         << " s | " << rss.value("samples", 0) << " | " << num(At(rss, "slope_mib_per_hour"), 1, 2)
         << " MiB/h | " << num(At(rss, "r2"), 1, 2) << " | "
         << (e.contains("working_set") ? num(At(At(e, "working_set"), "slope_mib_per_hour"), 1, 2)
                                       : "-")
         << " MiB/h | " << e.value("verdict", "") << " |\n";
    }
  }
  if (cost.is_array()) {
    md << "\n## Cost projection: 100 req/s (req/s per pod = requests per CPU-second × CPU "
          "limit)\n\n| runtime | requests per CPU-s | CPU limit | req/s per pod | pods | MiB "
          "per pod | memory | CPU used |\n|---|---|---|---|---|---|---|---|\n";
    for (const auto& e : cost) {
      md << "| " << e.value("runtime", "") << " | "
         << num(e.value("requests_per_cpu_second", kNull), 1, 0) << " | "
         << num(e.value("cpu_limit_cores", kNull), 1000, 0) << "m | "
         << num(e.value("requests_per_second_per_pod", kNull), 1, 1) << " | "
         << num(e.value("pods", kNull), 1, 0) << " | " << num(e.value("mib_per_pod", kNull), 1, 1)
         << " MiB | " << num(e.value("memory_mib", kNull), 1, 1) << " MiB | "
         << num(e.value("cpu_millicores", kNull), 1, 0) << "m |\n";
    }
  }

  md << "\n## Pods\n\n| app | start-up (podmeter, exec→listen) | self-reported | idle working "
        "set | "
        "idle RSS | working set at end | restarts |\n|---|---|---|---|---|---|---|\n";
  for (const auto& p : At(s, "pods")) {
    md << "| " << Str(At(p, "app")) << " | " << num(At(p, "startup_seconds"), 1e3, 1) << " ms | "
       << num(At(p, "self_reported_startup_seconds"), 1e3, 1) << " ms | "
       << num(At(p, "idle_working_set_bytes"), 1.0 / 1048576, 2) << " MiB | "
       << num(At(p, "idle_rss_bytes"), 1.0 / 1048576, 2) << " MiB | "
       << num(At(p, "working_set_bytes"), 1.0 / 1048576, 2) << " MiB | "
       << num(At(p, "restarts_observed"), 1, 0) << " |\n";
  }
  for (const auto& sc : At(s, "scenarios")) {
    if (sc.value("scenario", "") == "cold-start") continue;  // its table is above
    md << "\n## " << Str(At(sc, "scenario"))
       << "\n\n| runtime | requests | req/s | p50 | p95 | p99 | errors | CPU-s | req per CPU-s | "
          "throttled | peak working set |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
    if (!sc.contains("k6") || !At(sc, "k6").contains("rows")) continue;
    for (const auto& row : At(At(sc, "k6"), "rows")) {
      std::string runtime = row.value("runtime", "");
      nlohmann::json pod;
      for (const auto& p : At(sc, "podmeter")) {
        if (Str(At(p, "app")).rfind(runtime + "-", 0) == 0) pod = p;
      }
      double requests = row.value("requests", 0.0);
      double cpu = pod.is_object() ? pod.value("cpu_seconds", 0.0) : 0.0;
      md << "| " << runtime << " | " << num(At(row, "requests"), 1, 0) << " | "
         << num(At(row, "requests_per_second"), 1, 1) << " | " << num(At(row, "p50_ms"), 1, 1)
         << " ms | " << num(At(row, "p95_ms"), 1, 1) << " ms | " << num(At(row, "p99_ms"), 1, 1)
         << " ms | " << num(At(row, "failed_rate"), 100, 2) << " % | "
         << num(nlohmann::json(cpu), 1, 2) << " | "
         << (cpu > 0 ? num(nlohmann::json(requests / cpu), 1, 0) : "-") << " | "
         << (pod.is_object() ? num(At(pod, "throttled_ratio"), 100, 0) : "-") << " % | "
         << (pod.is_object() ? num(At(pod, "peak_working_set_bytes"), 1.0 / 1048576, 1) : "-")
         << " MiB |\n";
      if (row.contains("pod_kill")) {
        md << "|  | recovery " << num(At(At(row, "pod_kill"), "recovery_seconds"), 1, 0)
           << " s, failed " << num(At(At(row, "pod_kill"), "failed"), 1, 0)
           << " |  |  |  |  |  |  |  |  |  |\n";
      }
    }
  }
  return md.str();
}

}  // namespace podmeter::lab
