#include "lab/kube_pods.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>

#include "collectors/kube/pod_metadata.h"
#include "collectors/relay/exposition_parser.h"
#include "lab/manifest.h"

namespace podmeter::lab {
namespace {

using nlohmann::json;

const json kNull;

// j[a][b]… without creating anything; null when a step is missing.
const json& Path(const json& j, std::initializer_list<const char*> keys) {
  const json* at = &j;
  for (const char* k : keys) {
    if (!at->is_object()) return kNull;
    auto it = at->find(k);
    if (it == at->end()) return kNull;
    at = &*it;
  }
  return *at;
}

std::string Text(const json& j) { return j.is_string() ? j.get<std::string>() : ""; }
int Int(const json& j) { return j.is_number() ? j.get<int>() : 0; }
std::optional<double> Time(const json& j) {
  return j.is_string() ? ParseRfc3339(j.get<std::string>()) : std::nullopt;
}

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string AppOf(const json& object) {
  return Text(Path(object, {"metadata", "labels", "app.kubernetes.io/name"}));
}

// The condition `type` of a pod's status, or null.
const json& Condition(const json& pod, const std::string& type) {
  for (const auto& c : Path(pod, {"status", "conditions"})) {
    if (Text(Path(c, {"type"})) == type) return c;
  }
  return kNull;
}

// An HPA as POST creates it again: no uid, resourceVersion, status.
json Recreatable(const json& object) {
  json out = {{"apiVersion", object.value("apiVersion", "")},
              {"kind", object.value("kind", "")},
              {"metadata", {{"name", Path(object, {"metadata", "name"})}}},
              {"spec", Path(object, {"spec"})}};
  for (const char* k : {"labels", "annotations"}) {
    const json& v = Path(object, {"metadata", k});
    if (!v.is_null()) out["metadata"][k] = v;
  }
  if (out["metadata"].contains("annotations")) {
    out["metadata"]["annotations"].erase("kubectl.kubernetes.io/last-applied-configuration");
  }
  return out;
}

}  // namespace

bool DeploymentState::RolledOut() const {
  return observed_generation >= generation && updated == spec_replicas &&
         status_replicas == spec_replicas && ready == spec_replicas;
}

std::vector<ReplicaState> ReplicasFromPodList(const json& list,
                                              const std::vector<std::string>& apps) {
  std::vector<std::pair<std::pair<size_t, double>, ReplicaState>> keyed;
  for (const json& pod : Path(list, {"items"})) {
    if (!Path(pod, {"metadata", "deletionTimestamp"}).is_null()) continue;
    auto app = std::find(apps.begin(), apps.end(), AppOf(pod));
    if (app == apps.end()) continue;
    ReplicaState r;
    r.app = *app;
    r.pod = Text(Path(pod, {"metadata", "name"}));
    r.uid = Text(Path(pod, {"metadata", "uid"}));
    r.ip = Text(Path(pod, {"status", "podIP"}));
    const json& spec = Path(pod, {"spec", "containers"});
    if (spec.is_array() && !spec.empty()) {
      r.container = Text(Path(spec[0], {"name"}));
      const json& ports = Path(spec[0], {"ports"});
      if (ports.is_array() && !ports.empty()) r.port = Int(Path(ports[0], {"containerPort"}));
      std::string cpu = Text(Path(spec[0], {"resources", "limits", "cpu"}));
      if (!cpu.empty()) r.cpu_limit_millis = ParseCpuMillis(cpu);
    }
    for (const json& cs : Path(pod, {"status", "containerStatuses"})) {
      if (Text(Path(cs, {"name"})) != r.container) continue;
      std::string id = Text(Path(cs, {"containerID"}));
      r.container_id = id.substr(id.find("://") == std::string::npos ? 0 : id.find("://") + 3);
      r.restarts = Int(Path(cs, {"restartCount"}));
      r.ready = Path(cs, {"ready"}) == true;
      r.started_at = Time(Path(cs, {"state", "running", "startedAt"}));
    }
    double created = Time(Path(pod, {"metadata", "creationTimestamp"})).value_or(0);
    keyed.push_back({{static_cast<size_t>(app - apps.begin()), created}, std::move(r)});
  }
  std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second.pod < b.second.pod;
  });
  std::vector<ReplicaState> out;
  for (auto& [key, r] : keyed) out.push_back(std::move(r));
  return out;
}

std::vector<DeploymentState> DeploymentsFromList(const json& list) {
  std::vector<DeploymentState> out;
  for (const json& d : Path(list, {"items"})) {
    DeploymentState s;
    s.app = Text(Path(d, {"metadata", "name"}));
    s.spec_replicas = Int(Path(d, {"spec", "replicas"}));
    s.status_replicas = Int(Path(d, {"status", "replicas"}));
    s.ready = Int(Path(d, {"status", "readyReplicas"}));
    s.updated = Int(Path(d, {"status", "updatedReplicas"}));
    s.available = Int(Path(d, {"status", "availableReplicas"}));
    const json& g = Path(d, {"metadata", "generation"});
    const json& og = Path(d, {"status", "observedGeneration"});
    s.generation = g.is_number() ? g.get<int64_t>() : 0;
    s.observed_generation = og.is_number() ? og.get<int64_t>() : 0;
    out.push_back(s);
  }
  return out;
}

std::vector<HpaState> HpasFromList(const json& list) {
  std::vector<HpaState> out;
  for (const json& h : Path(list, {"items"})) {
    HpaState s;
    s.app = Text(Path(h, {"spec", "scaleTargetRef", "name"}));
    s.min_replicas = Int(Path(h, {"spec", "minReplicas"}));
    s.max_replicas = Int(Path(h, {"spec", "maxReplicas"}));
    s.current_replicas = Int(Path(h, {"status", "currentReplicas"}));
    s.desired_replicas = Int(Path(h, {"status", "desiredReplicas"}));
    for (const json& m : Path(h, {"spec", "metrics"})) {
      if (Text(Path(m, {"resource", "name"})) != "cpu") continue;
      const json& t = Path(m, {"resource", "target", "averageUtilization"});
      if (t.is_number()) s.cpu_target = t.get<int>();
    }
    for (const json& m : Path(h, {"status", "currentMetrics"})) {
      if (Text(Path(m, {"resource", "name"})) != "cpu") continue;
      const json& c = Path(m, {"resource", "current", "averageUtilization"});
      if (c.is_number()) s.cpu_utilization = c.get<int>();
    }
    out.push_back(s);
  }
  return out;
}

PodTimes PodTimesOf(const json& pod) {
  PodTimes t;
  t.created = Time(Path(pod, {"metadata", "creationTimestamp"}));
  const json& scheduled = Condition(pod, "PodScheduled");
  const json& ready = Condition(pod, "Ready");
  if (Text(Path(scheduled, {"status"})) == "True") {
    t.scheduled = Time(Path(scheduled, {"lastTransitionTime"}));
  }
  if (Text(Path(ready, {"status"})) == "True") t.ready = Time(Path(ready, {"lastTransitionTime"}));
  for (const json& cs : Path(pod, {"status", "containerStatuses"})) {
    t.started = Time(Path(cs, {"state", "running", "startedAt"}));
    break;
  }
  return t;
}

json TopFromPodMetrics(const json& list) {
  json out = json::object();
  for (const json& item : Path(list, {"items"})) {
    double cpu = 0, memory = 0;
    for (const json& c : Path(item, {"containers"})) {
      std::string q = Text(Path(c, {"usage", "cpu"}));
      double scale = 1000;  // cores
      if (!q.empty() && q.back() == 'n') scale = 1e-6;
      if (!q.empty() && q.back() == 'u') scale = 1e-3;
      if (!q.empty() && q.back() == 'm') scale = 1;
      if (scale != 1000) q.pop_back();
      cpu += std::strtod(q.c_str(), nullptr) * scale;
      memory +=
          static_cast<double>(ParseMemoryBytes(Text(Path(c, {"usage", "memory"}))).value_or(0));
    }
    std::string window = Text(Path(item, {"window"}));
    out[Text(Path(item, {"metadata", "name"}))] = {
        {"cpu_millicores", cpu},
        {"memory_bytes", memory},
        {"window_seconds",
         window.empty() ? json(nullptr) : json(std::strtod(window.c_str(), nullptr))}};
  }
  return out;
}

namespace {

// How many times an event happened: core/v1's count, or the series count of one recorded
// through events.k8s.io, at least once.
int Occurrences(const json& event) {
  int n = 1;
  for (const json* c : {&Path(event, {"count"}), &Path(event, {"series", "count"})}) {
    if (c->is_number_integer()) n = std::max(n, c->get<int>());
  }
  return n;
}

}  // namespace

int LivenessKills(const json& events, const std::string& pod) {
  int kills = 0;
  for (const json& e : Path(events, {"items"})) {
    if (Text(Path(e, {"involvedObject", "name"})) != pod) continue;
    if (Text(Path(e, {"reason"})) != "Killing") continue;
    if (Text(Path(e, {"message"})).find("liveness") == std::string::npos) continue;
    kills += Occurrences(e);
  }
  return kills;
}

StatusOr<int> LivenessProbeFailures(std::string_view probe_metrics,
                                    const std::string& namespace_name, const std::string& pod) {
  auto families = ParseExposition(probe_metrics);
  if (!families.ok())
    return Status::InvalidData("the kubelet's /metrics/probes: " + families.status().message());
  double failures = 0;
  for (const prometheus::MetricFamily& f : *families) {
    if (f.name != "prober_probe_total") continue;
    for (const prometheus::ClientMetric& m : f.metric) {
      std::map<std::string, std::string> labels;
      for (const auto& l : m.label) labels[l.name] = l.value;
      if (labels["probe_type"] == "Liveness" && labels["result"] == "failed" &&
          labels["namespace"] == namespace_name && labels["pod"] == pod) {
        failures += f.type == prometheus::MetricType::Counter ? m.counter.value : m.untyped.value;
      }
    }
  }
  return static_cast<int>(failures);
}

KubePods::KubePods(const KubeApi* api, KubePodsOptions options)
    : api_(api), o_(std::move(options)) {}

KubePods::~KubePods() { Stop(); }

std::string KubePods::DeploymentPath(const std::string& app) const {
  return "/apis/apps/v1/namespaces/" + o_.namespace_name + "/deployments/" + app;
}

std::string KubePods::HpaPath(const std::string& app) const {
  return "/apis/autoscaling/v2/namespaces/" + o_.namespace_name + "/horizontalpodautoscalers/" +
         app;
}

Status KubePods::Start() {
  for (const std::string& app : o_.apps) {
    auto d = api_->Get(DeploymentPath(app));
    if (!d.ok()) return d.status();
    base_deployments_[app] = *d;
    auto h = api_->Get(HpaPath(app));
    if (h.ok()) base_hpas_[app] = Recreatable(*h);
    auto svc = api_->Get("/api/v1/namespaces/" + o_.namespace_name + "/services/" + app);
    if (!svc.ok()) return svc.status();
    const json& ports = Path(*svc, {"spec", "ports"});
    int node_port = ports.is_array() && !ports.empty() ? Int(Path(ports[0], {"nodePort"})) : 0;
    if (node_port == 0) return Status::InvalidData("Service " + app + " has no NodePort");
    node_ports_[app] = node_port;
  }
  PollOnce(0);
  thread_ = std::thread([this] { Poll(); });
  return Status::Ok();
}

void KubePods::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void KubePods::Poll() {
  for (int round = 1; !stop_; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    PollOnce(round);
  }
}

void KubePods::PollOnce(int round) {
  auto pods = api_->Get("/api/v1/namespaces/" + o_.namespace_name + "/pods?labelSelector=" +
                        UrlEncode("app.kubernetes.io/component=reference-server"));
  std::optional<json> deployments, hpas;
  if (round % 4 == 0) {
    auto d = api_->Get("/apis/apps/v1/namespaces/" + o_.namespace_name + "/deployments");
    auto h = api_->Get("/apis/autoscaling/v2/namespaces/" + o_.namespace_name +
                       "/horizontalpodautoscalers");
    if (d.ok()) deployments = *d;
    if (h.ok()) hpas = *h;
  }
  double now = UnixNow();
  std::lock_guard<std::mutex> lock(mutex_);
  if (pods.ok()) {
    replicas_ = ReplicasFromPodList(*pods, o_.apps);
    for (ReplicaState& r : replicas_) {
      if (r.ready && !r.container_id.empty()) ready_seen_.emplace(r.container_id, now);
      auto it = ready_seen_.find(r.container_id);
      if (r.ready && it != ready_seen_.end()) r.ready_since = it->second;
    }
  }
  if (deployments) {
    deployments_.clear();
    for (auto& d : DeploymentsFromList(*deployments)) deployments_[d.app] = d;
  }
  if (hpas) {
    hpas_.clear();
    for (auto& h : HpasFromList(*hpas)) hpas_[h.app] = h;
  }
  if (recording_ && deployments) {
    for (const std::string& app : o_.apps) {
      const DeploymentState& d = deployments_[app];
      auto h = hpas_.find(app);
      json cpu = h != hpas_.end() && h->second.cpu_utilization ? json(*h->second.cpu_utilization)
                                                               : json(nullptr);
      timeline_[app].push_back({now, d.spec_replicas, d.ready, cpu});
    }
  }
}

std::vector<ReplicaState> KubePods::Replicas() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return replicas_;
}

bool KubePods::AllReady() const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const ReplicaState& r : replicas_) {
    if (!r.ready) return false;
  }
  return !replicas_.empty();
}

std::string KubePods::TargetUrl(const std::string& app) const {
  auto it = node_ports_.find(app);
  if (it == node_ports_.end()) return "";
  return "http://" + o_.node_ip + ":" + std::to_string(it->second);
}

std::map<std::string, DeploymentState> KubePods::Deployments() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return deployments_;
}

std::map<std::string, HpaState> KubePods::Hpas() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return hpas_;
}

json KubePods::Top() const {
  auto list = api_->Get("/apis/metrics.k8s.io/v1beta1/namespaces/" + o_.namespace_name + "/pods");
  return list.ok() ? TopFromPodMetrics(*list) : json(nullptr);
}

bool KubePods::Kill(const std::string& app, int index, const std::string& mode) {
  std::vector<ReplicaState> mine;
  for (ReplicaState& r : Replicas()) {
    if (r.app == app) mine.push_back(r);
  }
  if (index < 0 || static_cast<size_t>(index) >= mine.size()) return false;
  const ReplicaState& r = mine[static_cast<size_t>(index)];
  if (mode == "delete") {
    return api_
        ->Delete("/api/v1/namespaces/" + o_.namespace_name + "/pods/" + r.pod,
                 {{"gracePeriodSeconds", 0}})
        .ok();
  }
  if (mode != "sigkill" || r.container_id.empty()) return false;
  bool killed = false;
  for (const char* qos : {"", "/burstable", "/besteffort"}) {
    std::ifstream procs(o_.cgroup_pids_root + qos + "/pod" + r.uid + "/" + r.container_id +
                        "/cgroup.procs");
    for (int pid; procs >> pid;) killed = ::kill(pid, SIGKILL) == 0 || killed;
  }
  return killed;
}

Status KubePods::Scale(const std::string& app, int replicas) const {
  auto r =
      api_->Patch(DeploymentPath(app) + "/scale", {{"spec", {{"replicas", replicas}}}}, "merge");
  return r.ok() ? Status::Ok() : r.status();
}

Status KubePods::DeletePods(const std::string& app) const {
  auto list = PodList(app);
  if (!list.ok()) return list.status();
  for (const json& pod : Path(*list, {"items"})) {
    auto r = api_->Delete("/api/v1/namespaces/" + o_.namespace_name + "/pods/" +
                              Text(Path(pod, {"metadata", "name"})),
                          {{"gracePeriodSeconds", 0}});
    if (!r.ok() && r.status().code() != Status::Code::kNotFound) return r.status();
  }
  return Status::Ok();
}

StatusOr<json> KubePods::PodList(const std::string& app) const {
  return api_->Get("/api/v1/namespaces/" + o_.namespace_name +
                   "/pods?labelSelector=" + UrlEncode("app.kubernetes.io/name=" + app));
}

Status KubePods::RemoveHpa(const std::string& app) {
  auto r = api_->Delete(HpaPath(app));
  if (!r.ok() && r.status().code() != Status::Code::kNotFound) return r.status();
  return Status::Ok();
}

Status KubePods::RestoreHpa(const std::string& app) {
  auto base = base_hpas_.find(app);
  if (base == base_hpas_.end()) return Status::Ok();
  if (api_->Get(HpaPath(app)).ok()) return Status::Ok();
  auto r = api_->Post(
      "/apis/autoscaling/v2/namespaces/" + o_.namespace_name + "/horizontalpodautoscalers",
      base->second);
  return r.ok() ? Status::Ok() : r.status();
}

Status KubePods::SetMaxReplicas(int max_replicas) {
  for (auto& [app, hpa] : base_hpas_) {
    hpa["spec"]["maxReplicas"] = max_replicas;
    auto r = api_->Patch(HpaPath(app), {{"spec", {{"maxReplicas", max_replicas}}}}, "merge");
    if (!r.ok()) return r.status();
  }
  return Status::Ok();
}

Status KubePods::SetCpuLimit(const std::string& app, std::optional<int64_t> limit_millis) {
  const json& base = base_deployments_.at(app);
  const json& container = Path(base, {"spec", "template", "spec", "containers"})[0];
  std::string name = Text(Path(container, {"name"}));
  std::string base_cpu = Text(Path(container, {"resources", "limits", "cpu"}));
  json patch;
  if (!limit_millis || ParseCpuMillis(base_cpu) == limit_millis) {
    // As applied: resources, strategy (the squeeze replaces every pod at once) and the HPA.
    patch = {
        {"spec",
         {{"strategy", Path(base, {"spec", "strategy"})},
          {"template",
           {{"spec",
             {{"containers", json::array({{{"name", name},
                                           {"resources", Path(container, {"resources"})}}})}}}}}}}};
    auto r = api_->Patch(DeploymentPath(app), patch);
    if (!r.ok()) return r.status();
    return RestoreHpa(app);
  }
  // The squeeze as the reference did it: the Deployment redeployed at request = limit, no HPA.
  if (Status s = RemoveHpa(app); !s.ok()) return s;
  std::string cpu = std::to_string(*limit_millis) + "m";
  patch = {
      {"spec",
       {{"strategy", {{"rollingUpdate", {{"maxUnavailable", "100%"}}}}},
        {"template",
         {{"spec",
           {{"containers",
             json::array({{{"name", name},
                           {"resources",
                            {{"requests", {{"cpu", cpu}}}, {"limits", {{"cpu", cpu}}}}}}})}}}}}}}};
  auto r = api_->Patch(DeploymentPath(app), patch);
  return r.ok() ? Status::Ok() : r.status();
}

Status KubePods::WaitRolledOut(const std::vector<std::string>& apps, double timeout,
                               bool ready_too) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
  std::string pending;
  while (std::chrono::steady_clock::now() < deadline) {
    if (o_.interrupted()) return Status::Unavailable("interrupted");
    pending.clear();
    for (const std::string& app : apps) {
      auto d = api_->Get(DeploymentPath(app));
      if (!d.ok()) return d.status();
      json list = {{"items", json::array({*d})}};
      DeploymentState st = DeploymentsFromList(list).front();
      bool replaced = st.observed_generation >= st.generation && st.updated == st.spec_replicas &&
                      st.status_replicas == st.spec_replicas;
      if (!(ready_too ? st.RolledOut() : replaced)) {
        pending += (pending.empty() ? "" : ", ") + app;
      }
    }
    if (pending.empty()) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return Status::Unavailable("not rolled out after " + std::to_string(static_cast<int>(timeout)) +
                             " s: " + pending);
}

void KubePods::BeginScenario(const std::string& scenario) {
  if (scenario == "squeeze") {
    // Every pod replaced by a squeezed one; Ready or not (at 50m Django may never be).
    Status s = WaitRolledOut(o_.apps, o_.rollout_timeout_seconds / 2, false);
    if (s.ok()) s = WaitRolledOut(o_.apps, 20);
    if (!s.ok()) std::cout << "  squeeze: " << s.message() << " (k6 starts anyway)\n";
  }
  std::lock_guard<std::mutex> lock(mutex_);
  recording_ = true;
  timeline_ = json::object();
  rollout_started_.clear();
  restarts_at_begin_.clear();
  for (const ReplicaState& r : replicas_) restarts_at_begin_[r.pod] = r.restarts;
}

json HpaSummary(const json& timeline, const std::map<std::string, HpaState>& hpas) {
  json rows = json::array();
  for (auto it = timeline.begin(); it != timeline.end(); ++it) {
    const json& samples = it.value();
    if (!samples.is_array() || samples.empty()) continue;
    int max_seen = 0, scale_ups = 0, previous = -1;
    json peak = nullptr, last_cpu = nullptr;
    for (const json& s : samples) {  // [t, spec replicas, ready, cpu % or null]
      int spec = s[1].get<int>();
      max_seen = std::max(max_seen, spec);
      if (previous >= 0 && spec > previous) ++scale_ups;
      previous = spec;
      if (s[3].is_number()) {
        last_cpu = s[3];
        if (peak.is_null() || s[3].get<int>() > peak.get<int>()) peak = s[3];
      }
    }
    json row = {{"app", it.key()},
                {"pods_at_start", samples.front()[1]},
                {"pods_at_end", samples.back()[1]},
                {"ready_at_end", samples.back()[2]},
                {"max_pods", max_seen},
                {"scale_ups", scale_ups},
                {"cpu_utilization_peak_percent", peak},
                {"cpu_utilization_end_percent", last_cpu}};
    auto h = hpas.find(it.key());
    if (h != hpas.end()) {
      row["cpu_target_percent"] = h->second.cpu_target ? json(*h->second.cpu_target) : json();
      row["min_replicas"] = h->second.min_replicas;
      row["max_replicas"] = h->second.max_replicas;
    }
    rows.push_back(row);
  }
  return rows;
}

// Every kubelet's probe counters, through the API server's node proxy; none (and why, printed)
// when a node does not answer.
std::vector<std::string> KubePods::NodesProbeMetrics() const {
  auto nodes = api_->Get("/api/v1/nodes");
  if (!nodes.ok()) {
    std::cout << "  probes: " << nodes.status().message() << "\n";
    return {};
  }
  std::vector<std::string> texts;
  for (const json& n : Path(*nodes, {"items"})) {
    std::string name = Text(Path(n, {"metadata", "name"}));
    auto m = api_->GetText("/api/v1/nodes/" + name + "/proxy/metrics/probes");
    if (!m.ok()) {
      std::cout << "  probes: " << m.status().message() << "\n";
      return {};
    }
    texts.push_back(std::move(*m));
  }
  return texts;
}

json KubePods::EndScenario(const std::string& scenario) {
  json out = json::object();
  std::vector<ReplicaState> now;
  std::map<std::string, int> begin;
  std::map<std::string, HpaState> hpas;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    recording_ = false;
    out["replicas"] = timeline_;
    now = replicas_;
    begin = restarts_at_begin_;
    hpas = hpas_;
  }
  json events;
  std::vector<std::string> probes;  // every node's /metrics/probes
  if (scenario == "squeeze") {
    auto e = api_->Get("/api/v1/namespaces/" + o_.namespace_name + "/events");
    if (e.ok()) events = *e;
    probes = NodesProbeMetrics();
  }
  json kubelet = json::array();
  for (const ReplicaState& r : now) {
    json row = {{"app", r.app},
                {"pod", r.pod},
                {"restarts", r.restarts},
                {"restarts_during", r.restarts - (begin.count(r.pod) ? begin[r.pod] : 0)},
                {"ready", r.ready}};
    if (!events.is_null()) row["liveness_kills"] = LivenessKills(events, r.pod);
    if (!probes.empty()) {
      int failures = 0;
      for (const std::string& text : probes) {
        auto n = LivenessProbeFailures(text, o_.namespace_name, r.pod);
        if (n.ok()) failures += *n;
      }
      row["liveness_failures"] = failures;
    }
    kubelet.push_back(row);
  }
  out["kubelet"] = kubelet;
  out["kubectl_top"] = Top();  // metrics-server's last window, for podmeter beside it
  if (scenario == "hpa") out["hpa"] = HpaSummary(out["replicas"], hpas);
  if (scenario == "rolling-update") {
    // Back to v1: the VERSION variable taken out again (a third revision, v1's template).
    for (const std::string& app : o_.apps) {
      const json& c =
          Path(base_deployments_.at(app), {"spec", "template", "spec", "containers"})[0];
      json env = json::array({{{"name", "VERSION"}, {"$patch", "delete"}}});
      json patch = {{"spec",
                     {{"template",
                       {{"spec",
                         {{"containers",
                           json::array({{{"name", Text(Path(c, {"name"}))}, {"env", env}}})}}}}}}}};
      auto r = api_->Patch(DeploymentPath(app), patch);
      if (!r.ok()) std::cout << "  rolling-update: back to v1: " << r.status().message() << "\n";
    }
  }
  return out;
}

Status KubePods::StartRollout(const std::string& app) {
  const json& c = Path(base_deployments_.at(app), {"spec", "template", "spec", "containers"})[0];
  json env = json::array({{{"name", "VERSION"}, {"value", "v2"}}});
  json patch = {
      {"spec",
       {{"template",
         {{"spec",
           {{"containers", json::array({{{"name", Text(Path(c, {"name"}))}, {"env", env}}})}}}}}}}};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    rollout_started_[app] = UnixNow();
  }
  auto r = api_->Patch(DeploymentPath(app), patch);
  return r.ok() ? Status::Ok() : r.status();
}

json KubePods::RolloutResult(const std::string& app, double timeout) {
  Status s = WaitRolledOut({app}, timeout);
  double done = UnixNow();
  json out = {{"app", app}, {"rolled_out", s.ok()}};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = rollout_started_.find(app);
    if (it != rollout_started_.end() && s.ok()) out["rollout_seconds"] = done - it->second;
  }
  auto d = api_->Get(DeploymentPath(app));
  auto sets = api_->Get("/apis/apps/v1/namespaces/" + o_.namespace_name +
                        "/replicasets?labelSelector=" + UrlEncode("app.kubernetes.io/name=" + app));
  if (!d.ok() || !sets.ok()) return out;
  const char* kRevision = "deployment.kubernetes.io/revision";
  std::string revision = Text(Path(*d, {"metadata", "annotations", kRevision}));
  int old_left = 0;
  for (const json& rs : Path(*sets, {"items"})) {
    if (Text(Path(rs, {"metadata", "annotations", kRevision})) == revision) {
      out["new_replicaset"] = Path(rs, {"metadata", "name"});
      out["new_replicas"] = Int(Path(rs, {"status", "replicas"}));
      out["new_ready"] = Int(Path(rs, {"status", "readyReplicas"}));
      out["revision"] = revision;
    } else {
      old_left += Int(Path(rs, {"status", "replicas"}));
    }
  }
  out["old_replicas_left"] = old_left;
  return out;
}

Status KubePods::Settle() {
  for (const std::string& app : o_.apps) {
    auto d = api_->Get(DeploymentPath(app));
    if (!d.ok()) return d.status();
    int base = Int(Path(base_deployments_.at(app), {"spec", "replicas"}));
    if (Int(Path(*d, {"spec", "replicas"})) == base) continue;
    // An HPA keeps its scale-up for 5 minutes: off, back to the base, on again afterwards.
    if (Status s = RemoveHpa(app); !s.ok()) return s;
    if (Status s = Scale(app, base); !s.ok()) return s;
  }
  Status rolled = WaitRolledOut(o_.apps, o_.rollout_timeout_seconds);
  for (const std::string& app : o_.apps) {
    if (Status s = RestoreHpa(app); !s.ok()) return s;
  }
  return rolled;
}

}  // namespace podmeter::lab
