#include "lab/cold_start.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "collectors/base/file_util.h"
#include "lab/process.h"
#include "lab/summary_math.h"

namespace podmeter::lab {
namespace {

using nlohmann::json;

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::optional<ReplicaState> FindPod(PodManager* pods, const std::string& name) {
  for (ReplicaState& r : pods->Replicas()) {
    if (r.pod == name) return r;
  }
  return std::nullopt;
}

json SpreadJson(const std::vector<double>& values) {
  auto s = SpreadOf(values);
  if (!s) return nullptr;
  return {{"min", s->min}, {"median", s->median}, {"max", s->max}, {"count", s->count}};
}

json OptJson(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

}  // namespace

std::optional<double> FindSample(const std::string& text, const std::string& name,
                                 const std::vector<std::pair<std::string, std::string>>& labels) {
  for (std::string_view line : SplitLines(text)) {
    if (line.substr(0, name.size()) != name || line.size() <= name.size()) continue;
    char next = line[name.size()];
    if (next != '{' && next != ' ') continue;
    size_t close = next == '{' ? line.find('}') : name.size();
    if (close == std::string_view::npos) continue;
    std::string_view label_text = line.substr(name.size(), close - name.size());
    bool all = true;
    for (const auto& [k, v] : labels) {
      std::string pair = k + "=\"" + v + "\"";
      size_t at = label_text.find(pair);
      // The pair must start a label: after '{' or ','.
      all = all && at != std::string_view::npos && at > 0 &&
            (label_text[at - 1] == '{' || label_text[at - 1] == ',');
    }
    if (!all) continue;
    std::string value(line.substr(close + 1));
    char* end = nullptr;
    double v = std::strtod(value.c_str(), &end);
    if (end != value.c_str()) return v;
  }
  return std::nullopt;
}

json RunColdStart(PodManager* pods, const std::vector<ColdStartApp>& apps,
                  const ColdStartOptions& o) {
  json result = {{"scenario", "cold-start"}, {"start", UnixNow()}, {"starts", o.starts}};
  auto t0 = std::chrono::steady_clock::now();
  const std::string podmeter_url =
      "http://127.0.0.1:" + std::to_string(o.podmeter_port) + "/metrics";
  json runtimes = json::array();
  for (const ColdStartApp& a : apps) {
    const std::string runtime = a.app.name.substr(0, a.app.name.find('-'));
    std::vector<double> listen, ready, self;
    json starts = json::array();
    for (int i = 0; i < o.starts && !o.interrupted(); ++i) {
      std::printf("\r  cold-start %-8s %d/%d ", runtime.c_str(), i + 1, o.starts);
      std::fflush(stdout);
      auto pod = pods->AddReplica(a.app, 0, a.argv, a.port);
      if (!pod.ok()) {
        starts.push_back({{"error", pod.status().message()}});
        break;
      }
      // Ready: the lab's prober saw /health answer (the PodManager loop starts the container).
      std::optional<ReplicaState> state;
      auto deadline =
          std::chrono::steady_clock::now() + std::chrono::duration<double>(o.ready_timeout_seconds);
      while (std::chrono::steady_clock::now() < deadline && !o.interrupted()) {
        state = FindPod(pods, *pod);
        if (state && state->ready_since && state->started_at) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      json one = {{"pod", *pod}};
      if (state && state->ready_since && state->started_at) {
        double r = *state->ready_since - *state->started_at;
        ready.push_back(r);
        one["exec_to_ready_seconds"] = r;
        // The server's own clock: main → listening.
        auto mine =
            FindSample(HttpGetOrEmpty("http://127.0.0.1:" + std::to_string(a.port) + "/metrics"),
                       "refserver_startup_seconds", {});
        if (mine) self.push_back(*mine);
        one["self_reported_seconds"] = OptJson(mine);
        // podmeter's exec → listen, labelled by the pod's name once it read the PodList (by
        // its uid before); it measures at the listen, published at its next sample (1 s).
        std::optional<double> seen;
        for (int k = 0; k < 50 && !seen && !o.interrupted(); ++k) {
          std::string text = HttpGetOrEmpty(podmeter_url);
          seen = FindSample(text, "podmeter_container_startup_seconds", {{"pod", *pod}});
          if (!seen) {
            seen = FindSample(text, "podmeter_container_startup_seconds", {{"pod", state->uid}});
          }
          if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        if (seen) listen.push_back(*seen);
        one["exec_to_listen_seconds"] = OptJson(seen);
      } else {
        one["error"] = "not ready after " + std::to_string(o.ready_timeout_seconds) + " s";
      }
      Status removed = pods->RemoveReplica(*pod);
      if (!removed.ok()) one["remove_error"] = removed.message();
      starts.push_back(one);
    }
    runtimes.push_back({{"runtime", runtime},
                        {"app", a.app.name},
                        {"starts", starts},
                        {"exec_to_listen_seconds", SpreadJson(listen)},
                        {"exec_to_ready_seconds", SpreadJson(ready)},
                        {"self_reported_seconds", SpreadJson(self)}});
  }
  std::printf("\n");
  result["runtimes"] = runtimes;
  result["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result["end"] = UnixNow();
  return result;
}

}  // namespace podmeter::lab
