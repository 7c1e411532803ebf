#include "lab/kube_cold_start.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include "lab/cold_start.h"
#include "lab/process.h"
#include "lab/summary_math.h"

namespace podmeter::lab {
namespace {

using nlohmann::json;

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

json SpreadJson(const std::vector<double>& values) {
  auto s = SpreadOf(values);
  if (!s) return nullptr;
  return {{"min", s->min}, {"median", s->median}, {"max", s->max}, {"count", s->count}};
}

// The app's pods that are not being deleted.
std::vector<json> LivePods(const KubePods& pods, const std::string& app) {
  std::vector<json> out;
  auto list = pods.PodList(app);
  if (!list.ok()) return out;
  for (const json& p : (*list)["items"]) {
    if (!p["metadata"].contains("deletionTimestamp")) out.push_back(p);
  }
  return out;
}

bool PodReady(const json& pod) {
  for (const json& c : pod["status"].value("conditions", json::array())) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

// Until no pod of `app` is left at all (deleted ones included), or `seconds`.
void WaitNoPods(const KubePods& pods, const std::string& app, double seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    auto list = pods.PodList(app);
    if (list.ok() && (*list)["items"].empty()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

json OptJson(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

// podmeter's exec → listen of the pod (named once podmeter read the kubelet's pod list, by uid
// before), published at its next sample.
std::optional<double> PodmeterStartup(const std::string& url, const json& pod,
                                      const std::function<bool()>& interrupted) {
  std::string name = pod["metadata"].value("name", ""), uid = pod["metadata"].value("uid", "");
  for (int k = 0; k < 80 && !interrupted(); ++k) {
    std::string text = HttpGetOrEmpty(url);
    auto v = FindSample(text, "podmeter_container_startup_seconds", {{"pod", name}});
    if (!v) v = FindSample(text, "podmeter_container_startup_seconds", {{"pod", uid}});
    if (v) return v;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return std::nullopt;
}

// One start: 0 → 1, timed, back to 0.
json OneStart(KubePods* pods, const std::string& app, const ClusterColdStartOptions& o) {
  double requested = UnixNow();
  if (Status s = pods->Scale(app, 1); !s.ok()) return {{"error", s.message()}};
  std::optional<json> ready;
  double seen = 0;
  while (UnixNow() - requested < o.ready_timeout_seconds && !o.interrupted() && !ready) {
    for (const json& p : LivePods(*pods, app)) {
      if (PodReady(p)) ready = p;
    }
    seen = UnixNow();
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  json one = json::object();
  if (ready) {
    PodTimes t = PodTimesOf(*ready);
    one["pod"] = (*ready)["metadata"].value("name", "");
    one["scale_to_ready_seconds"] = seen - requested;
    if (t.scheduled && t.ready) one["scheduled_to_ready_seconds"] = *t.ready - *t.scheduled;
    if (t.started && t.ready) one["exec_to_ready_seconds"] = *t.ready - *t.started;
    std::string ip = (*ready)["status"].value("podIP", "");
    auto mine = FindSample(HttpGetOrEmpty("http://" + ip + ":8080/metrics"),
                           "refserver_startup_seconds", {});
    one["self_reported_seconds"] = OptJson(mine);
    one["exec_to_listen_seconds"] = OptJson(PodmeterStartup(o.podmeter_url, *ready, o.interrupted));
  } else {
    one["error"] = "no pod Ready after " + std::to_string(o.ready_timeout_seconds) + " s";
  }
  (void)pods->Scale(app, 0);
  (void)pods->DeletePods(app);
  WaitNoPods(*pods, app, 60);
  return one;
}

}  // namespace

json RunClusterColdStart(KubePods* pods, const std::vector<std::string>& apps,
                         const ClusterColdStartOptions& o) {
  json result = {{"scenario", "cold-start"}, {"start", UnixNow()}, {"starts", o.starts}};
  auto t0 = std::chrono::steady_clock::now();
  for (const std::string& app : apps) {  // nothing else of any app runs meanwhile
    (void)pods->RemoveHpa(app);
    (void)pods->Scale(app, 0);
    (void)pods->DeletePods(app);
  }
  for (const std::string& app : apps) WaitNoPods(*pods, app, 60);
  json runtimes = json::array();
  for (const std::string& app : apps) {
    const std::string runtime = app.substr(0, app.find('-'));
    std::map<std::string, std::vector<double>> figures;
    json starts = json::array();
    for (int i = 0; i < o.starts && !o.interrupted(); ++i) {
      std::printf("\r  cold-start %-8s %d/%d ", runtime.c_str(), i + 1, o.starts);
      std::fflush(stdout);
      json one = OneStart(pods, app, o);
      for (const char* k :
           {"scale_to_ready_seconds", "scheduled_to_ready_seconds", "exec_to_ready_seconds",
            "self_reported_seconds", "exec_to_listen_seconds"}) {
        if (one.contains(k) && one[k].is_number()) figures[k].push_back(one[k].get<double>());
      }
      starts.push_back(one);
    }
    json entry = {{"runtime", runtime}, {"app", app}, {"starts", starts}};
    for (const char* k :
         {"scale_to_ready_seconds", "scheduled_to_ready_seconds", "exec_to_ready_seconds",
          "self_reported_seconds", "exec_to_listen_seconds"}) {
      entry[k] = SpreadJson(figures[k]);
    }
    runtimes.push_back(entry);
  }
  std::printf("\n");
  result["runtimes"] = runtimes;
  result["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result["end"] = UnixNow();
  return result;
}

}  // namespace podmeter::lab
