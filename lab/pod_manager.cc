#include "lab/pod_manager.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>

#include "collectors/base/file_util.h"
#include "lab/process.h"

namespace podmeter::lab {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string RandomHex(size_t digits) {
  static thread_local std::random_device rd;
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < digits; ++i) out += kHex[rd() % 16];
  return out;
}

std::string RandomUuid() {
  std::string h = RandomHex(32);
  h[12] = '4';
  h[16] = "89ab"[std::random_device()() % 4];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

PodManager::PodManager(LabCgroups* cgroups, PodManagerOptions options)
    : cgroups_(cgroups), options_(std::move(options)) {}

PodManager::~PodManager() { Shutdown(); }

StatusOr<std::string> PodManager::AddReplica(const AppSpec& app, int index,
                                             std::vector<std::string> argv, int port) {
  Replica r;
  r.app = app;
  r.spec = app.containers.front();
  r.index = index;
  r.argv = std::move(argv);
  r.port = port;
  r.backoff = RestartBackoff(options_.backoff_base_seconds, 30 * options_.backoff_base_seconds);
  r.readiness.spec = r.spec.readiness;
  if (r.spec.readiness)
    r.readiness.result = ProbeResult(false, r.spec.readiness->failure_threshold,
                                     r.spec.readiness->success_threshold);
  if (options_.liveness) r.liveness.spec = r.spec.liveness;
  if (r.liveness.spec) r.liveness.result = ProbeResult(true, r.liveness.spec->failure_threshold);
  double now = NowSeconds();
  LabPod& p = r.pod;
  p.uid = RandomUuid();
  p.name = app.name + "-" + RandomHex(9) + "-" + RandomHex(5);
  p.namespace_name = options_.namespace_name;
  p.node = options_.node;
  p.qos_class = app.QosClass();
  p.labels = app.labels;
  auto name = app.labels.find("app.kubernetes.io/name");
  p.app = name != app.labels.end() ? name->second : app.name;
  p.annotations = app.annotations;
  if (p.annotations.count("podmeter.io/port"))
    p.annotations["podmeter.io/port"] = std::to_string(port);
  p.created = p.scheduled = p.started = now;
  p.not_ready_since = now;
  LabContainer c;
  c.name = r.spec.name;
  c.image = r.spec.image;
  p.containers.push_back(c);
  r.pod_rel = LabCgroups::QosParent(p.qos_class) + "/pod" + p.uid;
  if (!options_.volume_dir.empty()) r.volume = JoinPath(options_.volume_dir, p.name);
  CgroupLimits pod_limits;
  pod_limits.cpu_request_millis = r.spec.cpu_request_millis;
  pod_limits.cpu_limit_millis = r.spec.cpu_limit_millis;
  pod_limits.memory_limit_bytes = r.spec.memory_limit_bytes;
  pod_limits.cpus = options_.cpus;
  Status s = cgroups_->Create(r.pod_rel, pod_limits);
  if (!s.ok()) return s;
  std::string pod_name = p.name;
  std::lock_guard<std::mutex> lock(mutex_);
  replicas_.push_back(std::move(r));
  dirty_ = true;
  return pod_name;
}

Status PodManager::RemoveReplica(const std::string& pod) {
  // Waited for after the lock is released.
  std::future<std::pair<int, double>> probe, live_probe;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = std::find_if(replicas_.begin(), replicas_.end(),
                           [&](const Replica& r) { return r.pod.name == pod; });
    if (it == replicas_.end()) return Status::NotFound("no pod " + pod);
    Replica& r = *it;
    if (r.pid > 0) {
      ::kill(-r.pid, SIGKILL);
      ::kill(r.pid, SIGKILL);
      ::waitpid(r.pid, nullptr, 0);
    }
    Status s = r.container_rel.empty() ? Status::Ok() : cgroups_->Remove(r.container_rel);
    Status p = cgroups_->Remove(r.pod_rel);
    probe = std::move(r.readiness.inflight);
    live_probe = std::move(r.liveness.inflight);
    if (!r.volume.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(r.volume, ec);
    }
    replicas_.erase(it);
    WritePodList();
    dirty_ = false;
    if (!s.ok()) return s;
    if (!p.ok()) return p;
  }
  return Status::Ok();
}

Status PodManager::StartContainer(Replica& r, double now) {
  std::string id = RandomHex(64);
  std::string rel = r.pod_rel + "/" + id;
  CgroupLimits limits;
  limits.cpu_request_millis = r.spec.cpu_request_millis;
  limits.cpu_limit_millis = r.spec.cpu_limit_millis;
  limits.memory_limit_bytes = r.spec.memory_limit_bytes;
  limits.cpus = options_.cpus;
  limits.oom_group = true;  // the kubelet's default since 1.28 (v2 only; v1 has no such file)
  Status s = cgroups_->Create(rel, limits);
  if (!s.ok()) return s;
  auto env = r.spec.env;
  std::erase_if(env, [](const auto& kv) { return kv.first == "PORT" || kv.first == "HOST"; });
  env.emplace_back("PORT", std::to_string(r.port));
  env.emplace_back("HOST", "127.0.0.1");
  env.emplace_back("MACHINE_ID", std::to_string(r.index));
  env.emplace_back("REFSERVER_PREBUILT", "1");  // run() built them before any pod started
  for (auto& [key, value] : env) {              // the pod's emptyDir: its own, kept across restarts
    if (key == "PROMETHEUS_MULTIPROC_DIR" && !r.volume.empty()) {
      value = JoinPath(r.volume, std::filesystem::path(value).filename().string());
    }
  }
  std::string log = JoinPath(options_.log_dir, r.pod.name + "_" + r.spec.name + ".log");
  auto pid = StartInCgroup(r.argv, env, cgroups_->ProcsFiles(rel), log, options_.workdir);
  if (!pid.ok()) {
    (void)cgroups_->Remove(rel);
    return pid.status();
  }
  r.pid = *pid;
  r.container_rel = rel;
  r.started_at = now;
  r.kill_at.reset();
  for (Prober* p : {&r.readiness, &r.liveness}) {
    p->next_at = now + (p->spec ? p->spec->initial_delay_seconds : 0);
    p->result.Reset();
  }
  LabContainer& c = r.pod.containers.front();
  c.container_id = id;
  c.started_at = now;
  c.waiting_reason.clear();
  c.ready = !r.spec.readiness;  // without a probe a running container is ready
  return Status::Ok();
}

void PodManager::Reap(double now) {
  for (Replica& r : replicas_) {
    if (r.pid <= 0) continue;
    int wstatus = 0;
    pid_t got = ::waitpid(r.pid, &wstatus, WNOHANG);
    if (got != r.pid) continue;
    LabContainer& c = r.pod.containers.front();
    LabTermination t;
    t.started_at = r.started_at;
    t.finished_at = now;
    t.container_id = c.container_id;
    if (WIFSIGNALED(wstatus)) {
      t.exit_code = 128 + WTERMSIG(wstatus);
      t.reason = cgroups_->OomKills(r.container_rel) > 0 ? "OOMKilled" : "Error";
    } else {
      t.exit_code = WEXITSTATUS(wstatus);
      t.reason = t.exit_code == 0 ? "Completed" : "Error";
    }
    (void)cgroups_->Remove(r.container_rel);  // the runtime removes the dead container's cgroup
    // Gone: a squeeze's SetCpuLimit during the back-off must not write into it (it failed there,
    // and the next container started at the squeeze's 50m for the rest of the run).
    r.container_rel.clear();
    c.last_termination = t;
    c.started_at.reset();
    c.ready = false;
    c.waiting_reason = "CrashLoopBackOff";
    ++c.restart_count;
    r.pid = 0;
    r.kill_at.reset();
    r.next_start_at = now + r.backoff.OnExit(r.started_at, now);
    r.pod.ready_since.reset();
    r.pod.not_ready_since = now;
    dirty_ = true;
  }
}

void PodManager::StartProbe(Replica& r, Prober& p, double now) {
  bool on_hold = &p == &r.liveness && r.kill_at;  // until a new container runs
  if (!p.spec || r.pid <= 0 || on_hold || now < p.next_at || p.inflight.valid()) return;
  p.next_at = now + p.spec->period_seconds;
  p.container_id = r.pod.containers.front().container_id;
  p.inflight = std::async(std::launch::async,
                          [port = r.port, path = p.spec->path,
                           timeout_ms = static_cast<int>(p.spec->timeout_seconds * 1000)] {
                            int status = HttpGetStatus(port, path, timeout_ms);
                            return std::make_pair(status, NowSeconds());
                          });
}

std::optional<std::pair<bool, double>> PodManager::CollectProbe(Replica& r, Prober& p) {
  if (!p.inflight.valid() ||
      p.inflight.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    return std::nullopt;
  }
  auto [status, finished_at] = p.inflight.get();
  // A probe of a container that has exited or been replaced says nothing, nor a liveness probe
  // of one being killed (readiness goes on: it turns unready while it shuts down).
  bool on_hold = &p == &r.liveness && r.kill_at;
  if (r.pid <= 0 || on_hold || p.container_id != r.pod.containers.front().container_id) {
    return std::nullopt;
  }
  bool ok = ProbeSucceeded(status);
  if (!ok) ++p.failures;
  return std::make_pair(p.result.Record(ok), finished_at);
}

void PodManager::ApplyReadiness(Replica& r) {
  auto result = CollectProbe(r, r.readiness);
  LabContainer& c = r.pod.containers.front();
  if (!result || result->first == c.ready) return;
  c.ready = result->first;
  if (c.ready) {
    r.pod.ready_since = result->second;
    r.pod.not_ready_since.reset();
  } else {
    r.pod.ready_since.reset();
    r.pod.not_ready_since = result->second;
  }
  dirty_ = true;
}

// Liveness failed failureThreshold times in a row: the kubelet kills the container with the
// pod's grace period (SIGTERM, SIGKILL when it runs out); Reap sees the exit and restarts it.
void PodManager::ApplyLiveness(Replica& r, double now) {
  auto result = CollectProbe(r, r.liveness);
  if (!result || result->first) return;
  ++r.liveness_kills;
  r.kill_at = now + r.app.termination_grace_seconds;
  ::kill(-r.pid, SIGTERM);
  ::kill(r.pid, SIGTERM);
  last_error_ =
      r.pod.name + ": container " + r.spec.name + " failed liveness probe, will be restarted";
}

void PodManager::WritePodList() {
  std::vector<LabPod> pods;
  for (const Replica& r : replicas_) pods.push_back(r.pod);
  Status s = WriteFileAtomically(options_.pods_file, PodListJson(pods));
  if (!s.ok()) last_error_ = s.message();
}

void PodManager::Tick() {
  std::lock_guard<std::mutex> lock(mutex_);
  double now = NowSeconds();
  Reap(now);
  for (Replica& r : replicas_) {
    if (r.pid > 0 && r.kill_at && now >= *r.kill_at) {  // the grace period ran out
      ::kill(-r.pid, SIGKILL);
      ::kill(r.pid, SIGKILL);
    }
    if (r.pid > 0 || now < r.next_start_at) continue;
    Status s = StartContainer(r, now);
    if (!s.ok()) {
      last_error_ = r.pod.name + ": " + s.message();
      r.next_start_at = now + r.backoff.OnExit(now, now);
    }
    dirty_ = true;
  }
  if (dirty_) {  // a started container is in the PodList before it can listen
    WritePodList();
    dirty_ = false;
  }
  for (Replica& r : replicas_) {
    ApplyReadiness(r);
    ApplyLiveness(r, NowSeconds());
    StartProbe(r, r.readiness, NowSeconds());
    StartProbe(r, r.liveness, NowSeconds());
  }
  if (dirty_) {
    WritePodList();
    dirty_ = false;
  }
}

void PodManager::Start() {
  thread_ = std::thread([this] {
    while (!stop_) {
      Tick();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
}

void PodManager::Shutdown() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  for (Replica& r : replicas_) {
    if (r.pid > 0) {
      ::kill(-r.pid, SIGTERM);
      ::kill(r.pid, SIGTERM);
    }
  }
  for (Replica& r : replicas_) {
    if (r.pid > 0) {
      for (int i = 0; i < 50 && ::waitpid(r.pid, nullptr, WNOHANG) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      ::kill(-r.pid, SIGKILL);
      ::waitpid(r.pid, nullptr, 0);
      r.pid = 0;
    }
    if (!r.container_rel.empty()) (void)cgroups_->Remove(r.container_rel);
    (void)cgroups_->Remove(r.pod_rel);
    if (!r.volume.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(r.volume, ec);
    }
  }
  replicas_.clear();
}

std::vector<ReplicaState> PodManager::Replicas() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<ReplicaState> out;
  for (const Replica& r : replicas_) {
    const LabContainer& c = r.pod.containers.front();
    ReplicaState s;
    s.app = r.app.name;
    s.pod = r.pod.name;
    s.uid = r.pod.uid;
    s.container = c.name;
    s.container_id = c.container_id;
    s.port = r.port;
    s.pid = r.pid;
    s.restarts = c.restart_count;
    s.ready = c.ready;
    s.cpu_limit_millis = r.spec.cpu_limit_millis;
    s.pod_cgroup = r.pod_rel;
    if (r.pid > 0) {
      s.started_at = r.started_at;
      s.container_cgroup = r.container_rel;
    }
    if (c.ready) s.ready_since = r.pod.ready_since;
    out.push_back(std::move(s));
  }
  return out;
}

bool PodManager::AllReady() const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Replica& r : replicas_) {
    if (!r.pod.containers.front().ready) return false;
  }
  return !replicas_.empty();
}

bool PodManager::Kill(const std::string& app, int index) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Replica& r : replicas_) {
    if (r.app.name == app && r.index == index && r.pid > 0) return ::kill(r.pid, SIGKILL) == 0;
  }
  return false;
}

bool PodManager::Kill(const std::string& app, int index, const std::string& mode) {
  return mode == "sigkill" && Kill(app, index);
}

std::string PodManager::TargetUrl(const std::string& app) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Replica& r : replicas_) {
    if (r.app.name == app) return "http://127.0.0.1:" + std::to_string(r.port);
  }
  return "";
}

bool PodManager::Supports(const std::string& scenario) const {
  return scenario != "hpa" && scenario != "rolling-update";
}

void PodManager::BeginScenario(const std::string& /*scenario*/) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Replica& r : replicas_) {
    r.restarts_at_begin = r.pod.containers.front().restart_count;
    r.liveness_kills_at_begin = r.liveness_kills;
    r.liveness_failures_at_begin = r.liveness.failures;
  }
}

nlohmann::json PodManager::EndScenario(const std::string& /*scenario*/) {
  std::lock_guard<std::mutex> lock(mutex_);
  nlohmann::json kubelet = nlohmann::json::array();
  for (const Replica& r : replicas_) {
    const LabContainer& c = r.pod.containers.front();
    kubelet.push_back({{"app", r.app.name},
                       {"pod", r.pod.name},
                       {"restarts", c.restart_count},
                       {"restarts_during", c.restart_count - r.restarts_at_begin},
                       {"liveness_kills", r.liveness_kills - r.liveness_kills_at_begin},
                       {"liveness_failures", r.liveness.failures - r.liveness_failures_at_begin},
                       {"ready", c.ready}});
  }
  return {{"kubelet", kubelet}};
}

Status PodManager::SetCpuLimit(const std::string& app, std::optional<int64_t> limit_millis) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Replica& r : replicas_) {
    if (r.app.name != app) continue;
    // v1 rejects a child quota above its parent's: lower the container first, raise the pod first.
    bool lowering =
        limit_millis && (!r.spec.cpu_limit_millis || *limit_millis < *r.spec.cpu_limit_millis);
    std::vector<std::string> order = {r.pod_rel};
    if (!r.container_rel.empty())
      order.insert(lowering ? order.begin() : order.end(), r.container_rel);
    for (const std::string& rel : order) {
      Status s = cgroups_->SetCpuLimit(rel, limit_millis);
      if (!s.ok()) return s;
    }
    r.spec.cpu_limit_millis = limit_millis;
  }
  return Status::Ok();
}

Status PodManager::Settle() {
  for (int i = 0; i < 300 && !AllReady(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return AllReady() ? Status::Ok() : Status::Unavailable("pods not ready after 30 s");
}

std::string PodManager::last_error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_error_;
}

}  // namespace podmeter::lab
