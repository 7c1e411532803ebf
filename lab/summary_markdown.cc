#include "lab/summary_markdown.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <sstream>
#include <vector>

#include "lab/analysis.h"
#include "lab/suites.h"

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

// e[key] when e points at an object that has it, else null.
const nlohmann::json& Cell(const nlohmann::json* e, const char* key) {
  return e != nullptr ? At(*e, key) : kMissing;
}

// The runtimes of the run's pods, in the order they first appear.
std::vector<std::string> Runtimes(const nlohmann::json& s) {
  std::vector<std::string> runtimes;
  for (const auto& p : At(s, "pods")) {
    std::string r = RuntimeOf(p.value("app", ""));
    if (std::find(runtimes.begin(), runtimes.end(), r) == runtimes.end()) runtimes.push_back(r);
  }
  return runtimes;
}

// The runtime's entry in the cold-start scenario, or null.
const nlohmann::json* ColdStartOf(const nlohmann::json& s, const std::string& runtime) {
  const nlohmann::json* cold = FindScenario(s, "cold-start");
  return cold != nullptr ? FindByRuntime(At(*cold, "runtimes"), runtime) : nullptr;
}

// The first pod of the runtime, or null.
const nlohmann::json* FirstPodOf(const nlohmann::json& s, const std::string& runtime) {
  for (const auto& p : At(s, "pods")) {
    if (RuntimeOf(p.value("app", "")) == runtime) return &p;
  }
  return nullptr;
}

// The runtime's k6 row in the load scenario, or null.
const nlohmann::json* LoadRowOf(const nlohmann::json& s, const std::string& runtime) {
  const nlohmann::json* load = FindScenario(s, "load");
  return load != nullptr ? FindByRuntime(At(At(*load, "k6"), "rows"), runtime) : nullptr;
}

// The runtime's k6 row in scenario `name`, or null.
const nlohmann::json* RowOf(const nlohmann::json& s, const std::string& name,
                            const std::string& runtime) {
  const nlohmann::json* sc = FindScenario(s, name);
  return sc != nullptr ? FindByRuntime(At(At(*sc, "k6"), "rows"), runtime) : nullptr;
}

// The largest n of compute-scaling (500k in every profile but tiny): "n: server median ms".
std::string ComputeCell(const nlohmann::json* row) {
  if (row == nullptr || !At(*row, "compute").is_array() || At(*row, "compute").empty()) return "-";
  const nlohmann::json& last = At(*row, "compute").back();
  return Num(At(last, "server_median_ms"), 1, 2) + " ms (n=" + Num(At(last, "n"), 1, 0) + ")";
}

// The app's row of the hpa scenario's table, or null.
const nlohmann::json* HpaRowOf(const nlohmann::json& s, const std::string& runtime) {
  const nlohmann::json* sc = FindScenario(s, "hpa");
  if (sc == nullptr) return nullptr;
  for (const auto& r : At(*sc, "hpa")) {
    if (RuntimeOf(Str(At(r, "app"))) == runtime) return &r;
  }
  return nullptr;
}

// Container restarts the kubelet (on the host: the lab's pod manager) counted during every
// scenario but pod-kill (which kills on purpose); null without the scenarios' kubelet rows.
nlohmann::json CrashesOf(const nlohmann::json& s, const std::string& runtime) {
  nlohmann::json total;
  for (const auto& sc : At(s, "scenarios")) {
    if (Str(At(sc, "scenario")) == "pod-kill") continue;
    for (const auto& k : At(sc, "kubelet")) {
      if (RuntimeOf(Str(At(k, "app"))) != runtime) continue;
      total = (total.is_number() ? total.get<int>() : 0) + k.value("restarts_during", 0);
    }
  }
  return total;
}

using RuntimeCell = std::function<std::string(const std::string& runtime)>;

// "| title | cell(runtime) | …" for every runtime.
void WriteBoardRow(std::ostream& md, const std::vector<std::string>& runtimes,
                   const std::string& title, const RuntimeCell& cell) {
  md << "| " << title << " | ";
  for (const auto& r : runtimes) md << cell(r) << " | ";
  md << "\n";
}

// The scoreboard: one column per runtime, one row per headline figure.
void WriteScoreboard(std::ostream& md, const nlohmann::json& s,
                     const std::vector<std::string>& runtimes) {
  md << "## Scoreboard\n\n| | ";
  for (const auto& r : runtimes) md << r << " | ";
  md << "\n|---|";
  for (size_t i = 0; i < runtimes.size(); ++i) md << "---|";
  md << "\n";
  const nlohmann::json& cost = At(s, "cost_projection");
  const nlohmann::json& leak = At(s, "leak_check");
  auto row = [&](const std::string& title, const RuntimeCell& cell) {
    WriteBoardRow(md, runtimes, title, cell);
  };
  row("image size (unpacked; gzip layer)", [&](const std::string& r) {
    const nlohmann::json* i = FindByRuntime(At(s, "images"), r);
    if (i == nullptr || !At(*i, "unpacked_bytes").is_number()) return std::string("-");
    return Num(At(*i, "unpacked_bytes"), 1e-6, 1) + " MB (" +
           Num(At(*i, "layer_gzip_bytes"), 1e-6, 1) + " MB)";
  });
  row("cold start exec→listen (podmeter, median)", [&](const std::string& r) {
    return SpreadMs(Cell(ColdStartOf(s, r), "exec_to_listen_seconds"));
  });
  row("cold start exec→ready (probe, median)", [&](const std::string& r) {
    return SpreadMs(Cell(ColdStartOf(s, r), "exec_to_ready_seconds"));
  });
  row("cold start self-reported (median)", [&](const std::string& r) {
    return SpreadMs(Cell(ColdStartOf(s, r), "self_reported_seconds"));
  });
  row("idle working set", [&](const std::string& r) {
    return Num(Cell(FirstPodOf(s, r), "idle_working_set_bytes"), 1.0 / 1048576, 2) + " MiB";
  });
  row("load p95",
      [&](const std::string& r) { return Num(Cell(LoadRowOf(s, r), "p95_ms"), 1, 1) + " ms"; });
  row("requests per CPU-second (load)", [&](const std::string& r) {
    return Num(Cell(FindByRuntime(cost, r), "requests_per_cpu_second"), 1, 0);
  });
  row("soak RSS slope", [&](const std::string& r) {
    const nlohmann::json* e = FindByRuntime(leak, r);
    if (e == nullptr || !e->contains("rss")) return std::string("-");
    return Num(At(At(*e, "rss"), "slope_mib_per_hour"), 1, 1) + " MiB/h, " +
           e->value("verdict", "");
  });
  row("compute, largest n (server, median)",
      [&](const std::string& r) { return ComputeCell(RowOf(s, "compute-scaling", r)); });
  row("spike p95", [&](const std::string& r) {
    return Num(Cell(RowOf(s, "spike", r), "p95_ms"), 1, 1) + " ms";
  });
  row("spike throughput", [&](const std::string& r) {
    return Num(Cell(RowOf(s, "spike", r), "requests_per_second"), 1, 0) + " req/s";
  });
  row("squeeze (50m) failures", [&](const std::string& r) {
    return Num(Cell(RowOf(s, "squeeze", r), "failed_rate"), 100, 2) + " %";
  });
  if (Str(At(s, "mode")) == "cluster") {
    row("K8s pod readiness Scheduled→Ready (API, median)", [&](const std::string& r) {
      return Num(At(Cell(ColdStartOf(s, r), "scheduled_to_ready_seconds"), "median"), 1, 0) + " s";
    });
    row("HPA pods needed (most in hpa)", [&](const std::string& r) {
      const nlohmann::json* h = HpaRowOf(s, r);
      if (h == nullptr) return std::string("-");
      bool maxed = At(*h, "max_pods") == At(*h, "max_replicas");
      return Num(At(*h, "max_pods"), 1, 0) + (maxed ? " (maxed)" : "");
    });
  }
  row("pod crashes across all tests (kubelet)",
      [&](const std::string& r) { return Num(CrashesOf(s, r), 1, 0); });
  row(kBinaryRow, [&](const std::string& r) {
    return Num(Cell(FindByRuntime(At(s, "servers"), r), "binary_bytes"), 1e-6, 2) + " MB";
  });
  row("pods for 100 req/s",
      [&](const std::string& r) { return Num(Cell(FindByRuntime(cost, r), "pods"), 1, 0); });
  row("memory for 100 req/s", [&](const std::string& r) {
    return Num(Cell(FindByRuntime(cost, r), "memory_mib"), 1, 1) + " MiB";
  });
  for (const auto& r : runtimes) {
    const nlohmann::json* server = FindByRuntime(At(s, "servers"), r);
    if (server != nullptr && server->contains("size_note")) {
      md << "\n- " << r << ": " << server->value("size_note", "") << " (its size rows show -)";
    }
  }
}

// The cold-start scenario: every runtime's start-up spreads.
void WriteColdStart(std::ostream& md, const nlohmann::json& cold) {
  md << "\n## Cold start (" << cold.value("starts", 0)
     << " starts per runtime from nothing; median (min–max))\n\n"
        "| runtime | exec→listen (podmeter) | exec→ready (readiness probe) | self-reported | "
        "starts |\n|---|---|---|---|---|\n";
  for (const auto& r : cold.value("runtimes", nlohmann::json::array())) {
    md << "| " << r.value("runtime", "") << " | " << SpreadMs(At(r, "exec_to_listen_seconds"))
       << " | " << SpreadMs(At(r, "exec_to_ready_seconds")) << " | "
       << SpreadMs(At(r, "self_reported_seconds")) << " | " << At(r, "starts").size() << " |\n";
  }
  bool node = false;
  for (const auto& r : cold.value("runtimes", nlohmann::json::array())) {
    node = node || r.contains("scheduled_to_ready_seconds");
  }
  if (!node) return;
  md << "\nOn the node (API conditions, whole seconds; scale request → Ready seen by the lab):\n\n"
        "| runtime | Scheduled→Ready | scale→Ready |\n|---|---|---|\n";
  for (const auto& r : cold.value("runtimes", nlohmann::json::array())) {
    md << "| " << r.value("runtime", "") << " | " << SpreadMs(At(r, "scheduled_to_ready_seconds"))
       << " | " << SpreadMs(At(r, "scale_to_ready_seconds")) << " |\n";
  }
}

// The soak's memory trend per pod (summary.json's leak_check array).
void WriteSoakTrend(std::ostream& md, const nlohmann::json& leak) {
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
    md << "| " << e.value("app", "") << " | " << Num(Width(At(e, "fitted_window")), 1, 0) << " s | "
       << rss.value("samples", 0) << " | " << Num(At(rss, "slope_mib_per_hour"), 1, 2)
       << " MiB/h | " << Num(At(rss, "r2"), 1, 2) << " | "
       << (e.contains("working_set") ? Num(At(At(e, "working_set"), "slope_mib_per_hour"), 1, 2)
                                     : "-")
       << " MiB/h | " << e.value("verdict", "") << " |\n";
  }
}

// What 100 req/s costs per runtime (summary.json's cost_projection array).
void WriteCostProjection(std::ostream& md, const nlohmann::json& cost) {
  md << "\n## Cost projection: 100 req/s (req/s per pod = requests per CPU-second × CPU "
        "limit)\n\n| runtime | requests per CPU-s | CPU limit | req/s per pod | pods | MiB "
        "per pod | memory | CPU used |\n|---|---|---|---|---|---|---|---|\n";
  for (const auto& e : cost) {
    md << "| " << e.value("runtime", "") << " | "
       << Num(e.value("requests_per_cpu_second", kMissing), 1, 0) << " | "
       << Num(e.value("cpu_limit_cores", kMissing), 1000, 0) << "m | "
       << Num(e.value("requests_per_second_per_pod", kMissing), 1, 1) << " | "
       << Num(e.value("pods", kMissing), 1, 0) << " | "
       << Num(e.value("mib_per_pod", kMissing), 1, 1) << " MiB | "
       << Num(e.value("memory_mib", kMissing), 1, 1) << " MiB | "
       << Num(e.value("cpu_millicores", kMissing), 1, 0) << "m |\n";
  }
}

// Every pod's start-up, idle and final memory, restarts.
void WritePods(std::ostream& md, const nlohmann::json& pods) {
  md << "\n## Pods\n\n| app | start-up (podmeter, exec→listen) | self-reported | idle working "
        "set | "
        "idle RSS | working set at end | restarts |\n|---|---|---|---|---|---|---|\n";
  for (const auto& p : pods) {
    md << "| " << Str(At(p, "app")) << " | " << Num(At(p, "startup_seconds"), 1e3, 1) << " ms | "
       << Num(At(p, "self_reported_startup_seconds"), 1e3, 1) << " ms | "
       << Num(At(p, "idle_working_set_bytes"), 1.0 / 1048576, 2) << " MiB | "
       << Num(At(p, "idle_rss_bytes"), 1.0 / 1048576, 2) << " MiB | "
       << Num(At(p, "working_set_bytes"), 1.0 / 1048576, 2) << " MiB | "
       << Num(At(p, "restarts_observed"), 1, 0) << " |\n";
  }
}

// podmeter's figures of the runtime's pod in a scenario (the last one whose app is
// "<runtime>-…"), or null.
const nlohmann::json* ScenarioPodOf(const nlohmann::json& sc, const std::string& runtime) {
  const nlohmann::json* pod = nullptr;
  for (const auto& p : At(sc, "podmeter")) {
    if (Str(At(p, "app")).rfind(runtime + "-", 0) == 0) pod = &p;
  }
  return pod;
}

// One runtime's row of a scenario table: k6's figures, podmeter's, and the pod-kill recovery.
void WriteScenarioRow(std::ostream& md, const nlohmann::json& sc, const nlohmann::json& row) {
  std::string runtime = row.value("runtime", "");
  const nlohmann::json* pod = ScenarioPodOf(sc, runtime);
  double requests = row.value("requests", 0.0);
  double cpu = pod != nullptr ? pod->value("cpu_seconds", 0.0) : 0.0;
  md << "| " << runtime << " | " << Num(At(row, "requests"), 1, 0) << " | "
     << Num(At(row, "requests_per_second"), 1, 1) << " | " << Num(At(row, "p50_ms"), 1, 1)
     << " ms | " << Num(At(row, "p95_ms"), 1, 1) << " ms | " << Num(At(row, "p99_ms"), 1, 1)
     << " ms | " << Num(At(row, "failed_rate"), 100, 2) << " % | " << Num(nlohmann::json(cpu), 1, 2)
     << " | " << (cpu > 0 ? Num(nlohmann::json(requests / cpu), 1, 0) : "-") << " | "
     << (pod != nullptr ? Num(At(*pod, "throttled_ratio"), 100, 0) : "-") << " % | "
     << (pod != nullptr ? Num(At(*pod, "peak_working_set_bytes"), 1.0 / 1048576, 1) : "-")
     << " MiB |\n";
  if (row.contains("pod_kill")) {
    md << "|  | " << (row.contains("kill") ? Str(At(row, "kill")) + ": " : std::string())
       << "recovery " << Num(At(At(row, "pod_kill"), "recovery_seconds"), 1, 0)
       << " s (client), Ready again after " << Num(At(row, "recovery_seconds_ready"), 1, 1)
       << " s, failed " << Num(At(At(row, "pod_kill"), "failed"), 1, 0)
       << " |  |  |  |  |  |  |  |  |  |\n";
  }
}

// hpa: replicas and CPU against the target per app (the reference's Test 3 table).
void WriteHpa(std::ostream& md, const nlohmann::json& rows) {
  md << "\n### HPA\n\n| app | pods at start | pods at end | most pods | scale-ups | CPU peak | "
        "CPU at end | target | maxReplicas |\n|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows) {
    md << "| " << Str(At(r, "app")) << " | " << Num(At(r, "pods_at_start"), 1, 0) << " | "
       << Num(At(r, "pods_at_end"), 1, 0) << " | " << Num(At(r, "max_pods"), 1, 0) << " | "
       << Num(At(r, "scale_ups"), 1, 0) << " | " << Num(At(r, "cpu_utilization_peak_percent"), 1, 0)
       << " % | " << Num(At(r, "cpu_utilization_end_percent"), 1, 0) << " % | "
       << Num(At(r, "cpu_target_percent"), 1, 0) << " % | " << Num(At(r, "max_replicas"), 1, 0)
       << " |\n";
  }
}

// rolling-update: requests and latency before and during the rollout, the new ReplicaSet.
void WriteRollingUpdate(std::ostream& md, const nlohmann::json& rows) {
  md << "\n### Rollout v1 → v2 (maxSurge 1, maxUnavailable 0)\n\n| runtime | requests | failed | "
        "success | p95 before | p95 during | rollout | new ReplicaSet ready |\n"
        "|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows) {
    const nlohmann::json& ro = At(r, "rollout");
    md << "| " << Str(At(r, "runtime")) << " | " << Num(At(r, "requests"), 1, 0) << " | "
       << Num(At(r, "failed"), 1, 0) << " | "
       << (At(r, "failed_rate").is_number() ? Num(1 - At(r, "failed_rate").get<double>(), 100, 2)
                                            : std::string("-"))
       << " % | " << Num(At(r, "p95_ms_before"), 1, 1) << " ms | "
       << Num(At(r, "p95_ms_during"), 1, 1) << " ms | " << Num(At(ro, "rollout_seconds"), 1, 1)
       << " s | " << Num(At(ro, "new_ready"), 1, 0) << "/" << Num(At(ro, "new_replicas"), 1, 0)
       << " |\n";
  }
}

// The kubelet's restarts during a scenario (and, in the squeeze, those its liveness probe made)
// beside podmeter's.
void WriteRestarts(std::ostream& md, const nlohmann::json& sc) {
  bool any = false;
  for (const auto& k : At(sc, "kubelet")) {
    any = any || k.value("restarts", 0) > 0 || k.value("liveness_failures", 0) > 0;
  }
  if (!any) return;
  md << "\n### Restarts\n\n| pod | kubelet restarts | liveness probe failures | by the liveness "
        "probe | podmeter restarts |\n|---|---|---|---|---|\n";
  for (const auto& k : At(sc, "kubelet")) {
    nlohmann::json podmeter;
    for (const auto& p : At(sc, "podmeter")) {
      if (Str(At(p, "pod")) == Str(At(k, "pod"))) podmeter = At(p, "restarts");
    }
    md << "| " << Str(At(k, "pod")) << " | " << Num(At(k, "restarts"), 1, 0) << " | "
       << Num(At(k, "liveness_failures"), 1, 0) << " | " << Num(At(k, "liveness_kills"), 1, 0)
       << " | " << Num(podmeter, 1, 0) << " |\n";
  }
}

// A k6 scenario's table: one row per runtime.
void WriteScenario(std::ostream& md, const nlohmann::json& sc) {
  md << "\n## " << Str(At(sc, "scenario"))
     << "\n\n| runtime | requests | req/s | p50 | p95 | p99 | errors | CPU-s | req per CPU-s | "
        "throttled | peak working set |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
  if (!sc.contains("k6") || !At(sc, "k6").contains("rows")) return;
  for (const auto& row : At(At(sc, "k6"), "rows")) WriteScenarioRow(md, sc, row);
  if (At(sc, "hpa").is_array()) WriteHpa(md, At(sc, "hpa"));
  if (Str(At(sc, "scenario")) == "rolling-update") WriteRollingUpdate(md, At(At(sc, "k6"), "rows"));
  WriteRestarts(md, sc);
}

// The reference report's "Memory per pod (idle / under load)" measured both ways: podmeter's
// working set and CPU beside metrics-server's (`kubectl top`, its last 15 s window, rounded
// where kubectl shows it), per pod at rest and at the end of the load scenario.
void WritePodmeterVsTop(std::ostream& md, const nlohmann::json& s) {
  const nlohmann::json& idle_top = At(At(s, "cluster"), "kubectl_top_idle");
  const nlohmann::json* load = FindScenario(s, "load");
  const nlohmann::json& load_top = load != nullptr ? At(*load, "kubectl_top") : kMissing;
  if (!idle_top.is_object() && !load_top.is_object()) return;
  md << "\n## podmeter vs kubectl top (metrics-server: its last window, ~15 s)\n\n| pod | idle "
        "working set (podmeter) | idle memory (top) | working set after load (podmeter) | memory "
        "after load (top) | CPU over load (podmeter, mean) | CPU at end of load (top) "
        "|\n|---|---|---|---|---|---|---|\n";
  std::vector<std::string> pods;
  for (const auto& p : At(s, "pods")) pods.push_back(Str(At(p, "pod")));
  if (load != nullptr) {
    for (const auto& p : At(*load, "podmeter")) {
      if (std::find(pods.begin(), pods.end(), Str(At(p, "pod"))) == pods.end()) {
        pods.push_back(Str(At(p, "pod")));
      }
    }
  }
  double seconds = load != nullptr ? load->value("seconds", 0.0) : 0.0;
  for (const std::string& pod : pods) {
    nlohmann::json idle_ws, load_ws, load_cpu;
    for (const auto& p : At(s, "pods")) {
      if (Str(At(p, "pod")) == pod) idle_ws = At(p, "idle_working_set_bytes");
    }
    if (load != nullptr) {
      for (const auto& p : At(*load, "podmeter")) {
        if (Str(At(p, "pod")) != pod) continue;
        load_ws = At(p, "working_set_bytes_end");
        if (seconds > 0) load_cpu = p.value("cpu_seconds", 0.0) / seconds * 1000;
      }
    }
    const double kMiB = 1.0 / 1048576;
    md << "| " << pod << " | " << Num(idle_ws, kMiB, 2) << " MiB | "
       << Num(At(At(idle_top, pod.c_str()), "memory_bytes"), kMiB, 2) << " MiB | "
       << Num(load_ws, kMiB, 2) << " MiB | "
       << Num(At(At(load_top, pod.c_str()), "memory_bytes"), kMiB, 2) << " MiB | "
       << Num(load_cpu, 1, 1) << "m | "
       << Num(At(At(load_top, pod.c_str()), "cpu_millicores"), 1, 1) << "m |\n";
  }
}

}  // namespace

std::string SummaryMarkdown(const nlohmann::json& s) {
  std::ostringstream md;
  std::string mode = Str(At(s, "mode"));
  md << "# podmeter lab run " << Str(At(s, "run_id")) << " (" << Str(At(s, "profile"))
     << (mode.empty() ? "" : ", " + mode) << ")\n\n";
  if (mode == "cluster") {
    md << "**Mode: node.** On a Kubernetes node (`podmeter-lab run --cluster`): the Deployments, "
          "Services and HPAs of k8s/base, k6 against the NodePorts, podmeter's DaemonSet. "
       << Str(At(At(s, "cluster"), "note")) << ".\n\n";
  } else if (mode == "host") {
    md << "**Mode: lab.** On this host (`podmeter-lab run`): pods in kubelet-shaped cgroups, no "
          "Kubernetes";
    std::string note = Str(At(At(s, "host"), "note"));
    md << (note.empty() ? "" : "; " + note) << ".\n\n";
  }
  // A run of suites only (--suite) has their scoreboards instead of the main one.
  bool only_suites = !At(s, "scenarios").empty();
  for (const auto& sc : At(s, "scenarios")) {
    only_suites = only_suites && FindSuite(sc.value("scenario", "")) != nullptr;
  }
  if (!only_suites) WriteScoreboard(md, s, Runtimes(s));
  for (const auto& item : At(s, "suites").items()) md << SuiteMarkdown(item.value());
  if (const nlohmann::json* cold = FindScenario(s, "cold-start")) WriteColdStart(md, *cold);
  if (At(s, "leak_check").is_array()) WriteSoakTrend(md, At(s, "leak_check"));
  if (At(s, "cost_projection").is_array()) WriteCostProjection(md, At(s, "cost_projection"));
  WritePods(md, At(s, "pods"));
  WritePodmeterVsTop(md, s);
  for (const auto& sc : At(s, "scenarios")) {
    if (sc.value("scenario", "") == "cold-start") continue;        // its table is above
    if (FindSuite(sc.value("scenario", "")) != nullptr) continue;  // its scoreboard is above
    WriteScenario(md, sc);
  }
  return md.str();
}

}  // namespace podmeter::lab
