// podmeter-lab: the reference servers as pods in real cgroups on one machine, with podmeter and a
// real Prometheus watching them. See docs/lab.md.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "collectors/base/file_util.h"
#include "lab/analysis.h"
#include "lab/benchmark.h"
#include "lab/cgroups.h"
#include "lab/cluster_session.h"
#include "lab/cold_start.h"
#include "lab/image_sizes.h"
#include "lab/kube_api.h"
#include "lab/kube_cold_start.h"
#include "lab/kube_pods.h"
#include "lab/manifest.h"
#include "lab/one_pod.h"
#include "lab/pod_list.h"
#include "lab/pod_manager.h"
#include "lab/process.h"
#include "lab/report.h"
#include "lab/suites.h"
#include "lab/summary_markdown.h"

namespace fs = std::filesystem;
using namespace podmeter;
using namespace podmeter::lab;

namespace {

std::atomic<bool> g_interrupted{false};
void OnSignal(int) { g_interrupted = true; }
bool Interrupted() { return g_interrupted.load(); }

struct RunOptions {
  std::string stack = "k8s/base";
  std::vector<std::string> apps = {"rust-api", "go-api", "django-api"};
  int replicas = 1;
  double hold_seconds = 0;
  std::string profile = "quick";
  std::vector<std::string> scenarios = AllScenarios();
  std::string results = "results";
  bool pod_kill = true;
  int cold_starts = 5;
  int base_port = 18080;
  int podmeter_port = 10101;
  int prometheus_port = 19090;
  bool cluster = false;  // --cluster: the Deployments of k8s/base on scripts/cluster's node
  int max_replicas = 0;  // --max-replicas: every HPA's maxReplicas (0: as applied)
  std::vector<std::string> suites;  // --suite: the reports' suites (lab/suites.h) instead
  bool image_build = true;  // the apps' images without a size built for it (lab/image_sizes.h)
};

std::string Join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

int Fail(const std::string& sentence) {
  std::cerr << "podmeter-lab: " << sentence << "\n";
  return 1;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A child process of the lab (podmeter, Prometheus), killed with its group on exit.
struct Service {
  std::string name;
  int pid = 0;
  ~Service() { Stop(); }
  void Stop() {
    if (pid <= 0) return;
    ::kill(-pid, SIGTERM);
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 50 && ::waitpid(pid, nullptr, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    pid = 0;
  }
};

// The value of the first sample of `name` whose line contains every fragment in `needles`.
std::optional<double> Sample(const std::string& text, const std::string& name,
                             const std::vector<std::string>& needles) {
  for (std::string_view line : SplitLines(text)) {
    if (line.substr(0, name.size() + 1) != name + "{") continue;
    bool all = true;
    for (const auto& n : needles) all = all && line.find(n) != std::string_view::npos;
    if (!all) continue;
    return std::strtod(std::string(line.substr(line.rfind(' ') + 1)).c_str(), nullptr);
  }
  return std::nullopt;
}

// Scrapes podmeter every second and evaluates rules/podmeter.rules.yml of the checkout at `repo`
// (an absolute path: Prometheus resolves relative rule files against the config's directory).
std::string PrometheusConfig(const std::string& podmeter_target, const std::string& repo) {
  return "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
         "rule_files:\n  - '" +
         fs::absolute(JoinPath(repo, "rules/podmeter.rules.yml")).lexically_normal().string() +
         "'\nscrape_configs:\n  - job_name: podmeter\n    static_configs:\n      - targets: "
         "['" +
         podmeter_target + "']\n";
}

std::string LocalUrl(int port) { return "http://127.0.0.1:" + std::to_string(port); }
std::string K6Bin(const std::string& repo) { return JoinPath(repo, ".cache/bin/k6"); }
std::string PodmeterBin(const std::string& repo) {
  return JoinPath(repo, "build/exporter/podmeter");
}
bool Wants(const RunOptions& o, const std::string& scenario) {
  return std::find(o.scenarios.begin(), o.scenarios.end(), scenario) != o.scenarios.end();
}

// What must hold before a run changes anything: root, the tools, podmeter built, writable
// cgroups and no kubepods tree yet. The lab's cgroups, or why not in one sentence.
StatusOr<LabCgroups> CheckPrerequisites(const RunOptions& o, const std::string& repo) {
  if (::geteuid() != 0) return Status::PermissionDenied("run it as root: the lab creates cgroups.");
  for (const char* tool : {"prometheus", "curl"}) {
    if (std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) != 0) {
      return Status::NotFound(std::string(tool) + " is not installed: run scripts/setup first.");
    }
  }
  if (!o.scenarios.empty() && ::access(K6Bin(repo).c_str(), X_OK) != 0) {
    return Status::NotFound("k6 is not installed: run scripts/setup-k6 first.");
  }
  if (::access(PodmeterBin(repo).c_str(), X_OK) != 0) {
    return Status::NotFound("build podmeter first: scripts/build.");
  }
  auto cgroups = LabCgroups::Detect();
  if (!cgroups.ok()) return Status::Unavailable(cgroups.status().message() + ".");
  if (fs::exists("/sys/fs/cgroup/memory/kubepods") || fs::exists("/sys/fs/cgroup/kubepods")) {
    return Status::Unavailable(
        "kubepods cgroups already exist (a killed run, or a kubelet on this machine): "
        "run podmeter-lab clean first.");
  }
  return cgroups;
}

// results/<run id>/ and its logs/; the id is the start's UTC time.
struct RunDir {
  std::string id, dir;
};
RunDir MakeRunDir(const std::string& results) {
  char id[32];
  std::time_t t = std::time(nullptr);
  std::strftime(id, sizeof(id), "%Y%m%dT%H%M%SZ", std::gmtime(&t));
  RunDir run{id, JoinPath(results, id)};
  fs::create_directories(JoinPath(run.dir, "logs"));
  std::cout << "run " << run.id << ": results in " << run.dir << "\n";
  return run;
}

Status BuildServers(const std::string& repo) {
  std::cout << "building the reference servers ...\n" << std::flush;
  if (std::system(("cd '" + repo + "' && servers/build all").c_str()) != 0) {
    return Status::Unavailable("building the reference servers failed (see above).");
  }
  return Status::Ok();
}

// lab/images.json: the local command of each image.
StatusOr<nlohmann::json> ReadImages(const std::string& repo) {
  auto images = nlohmann::json::parse(Slurp(JoinPath(repo, "lab/images.json")), nullptr, false);
  if (images.is_discarded()) return Status::InvalidData("lab/images.json is not valid JSON.");
  return images;
}

// Every Deployment of --apps in --stack with its image's command and its first port (then one
// port per replica).
StatusOr<std::vector<ColdStartApp>> ReadApps(const RunOptions& o, const std::string& repo,
                                             const nlohmann::json& images) {
  std::vector<ColdStartApp> apps;
  int port = o.base_port;
  for (const std::string& app_name : o.apps) {
    std::string path = JoinPath(JoinPath(repo, o.stack), app_name + "-deployment.yaml");
    auto app = ParseDeployment(Slurp(path));
    if (!app.ok()) return Status::InvalidData(path + ": " + app.status().message());
    const std::string& image = app->containers.front().image;
    if (!images.contains(image)) {
      return Status::InvalidData("lab/images.json has no command for image " + image + ".");
    }
    apps.push_back({*app, images.at(image).get<std::vector<std::string>>(), port});
    port += o.replicas;
  }
  return apps;
}

// One replica per app: the servers on CPU 0 and k6 on CPU 1, so load and servers don't share a
// core. More replicas need both cores (2 × 500m per app): nothing pinned, as on a node.
std::string ServerCpus(const RunOptions& o) { return o.replicas > 1 ? "" : "0"; }
std::string K6Cpus(const RunOptions& o) { return o.replicas > 1 ? "0-1" : "1"; }

PodManagerOptions PodOptions(const RunOptions& o, const std::string& repo, const RunDir& run) {
  PodManagerOptions pm;
  pm.pods_file = JoinPath(run.dir, "pods.json");
  pm.log_dir = JoinPath(run.dir, "logs");
  pm.volume_dir = JoinPath(run.dir, "volumes");
  pm.workdir = repo;
  pm.cpus = ServerCpus(o);
  // The kubelet's back-off as it is (10 s doubling, 5 min cap, reset after 10 min running).
  return pm;
}

// summary.json's "host": how this host stood in for a node.
nlohmann::json HostDetails(const RunOptions& o) {
  std::string cpus = ServerCpus(o);
  return {{"server_cpus", cpus.empty() ? "all" : cpus},
          {"k6_cpus", K6Cpus(o)},
          {"replicas", o.replicas},
          {"note", "pods on CPU " + (cpus.empty() ? std::string("0-1 (unpinned)") : cpus) +
                       ", k6 on CPU " + K6Cpus(o) +
                       "; readiness and liveness probes, restart back-off and PodList as the "
                       "kubelet's; no controller (no HPA, no rolling update, no new pod after "
                       "a kill), one replica per app unless --replicas"}};
}

// What a run starts: the pods, podmeter and Prometheus. Stop() stops them in reverse order and
// removes the cgroups; unwinding (an exception) stops them in the same order.
struct Stack {
  Stack(LabCgroups* lab_cgroups, PodManagerOptions pod_options)
      : cgroups(lab_cgroups), options(std::move(pod_options)), pods(lab_cgroups, options) {}
  void Stop() {
    prometheus.Stop();
    podmeter.Stop();
    pods.Shutdown();
    (void)cgroups->RemoveAll();
  }
  LabCgroups* cgroups;
  PodManagerOptions options;
  PodManager pods;
  Service podmeter{"podmeter"}, prometheus{"prometheus"};
};

// podmeter first, so that it measures the pods' start-up. The relay may take 0.9 s of the 1 s
// interval: Django's /metrics waits for a free gunicorn worker under load and missed the default
// 500 ms in about a fifth of the rounds (holes in its server-side latency).
Status StartPodmeter(Stack& stack, const RunOptions& o, const std::string& repo,
                     const RunDir& run) {
  // podmeter refuses a --pods-file that does not exist (exit 2): start it on an empty list.
  if (Status s = WriteFileAtomically(stack.options.pods_file, PodListJson({})); !s.ok()) return s;
  auto pid = StartInCgroup(
      {PodmeterBin(repo), "--listen", "127.0.0.1:" + std::to_string(o.podmeter_port), "--pods-file",
       stack.options.pods_file, "--interval", "1", "--relay-timeout", "0.9"},
      {}, {}, JoinPath(run.dir, "logs/podmeter.log"), repo);
  if (!pid.ok()) return Status::Unavailable("starting podmeter: " + pid.status().message());
  stack.podmeter.pid = *pid;
  if (!WaitHttpReady(stack.podmeter.pid, o.podmeter_port, "/healthz", 15, Interrupted)) {
    return Status::Unavailable("podmeter did not become healthy; see " + run.dir +
                               "/logs/podmeter.log.");
  }
  return Status::Ok();
}

Status StartPrometheus(Service& prometheus, const std::string& podmeter_target, const RunOptions& o,
                       const std::string& repo, const RunDir& run) {
  std::ofstream(JoinPath(run.dir, "prometheus.yml")) << PrometheusConfig(podmeter_target, repo);
  auto pid = StartInCgroup({"prometheus", "--config.file=" + JoinPath(run.dir, "prometheus.yml"),
                            "--storage.tsdb.path=" + JoinPath(run.dir, "prometheus"),
                            "--web.listen-address=127.0.0.1:" + std::to_string(o.prometheus_port),
                            "--web.enable-remote-write-receiver"},
                           {}, {}, JoinPath(run.dir, "logs/prometheus.log"), repo);
  if (!pid.ok()) return Status::Unavailable("starting prometheus: " + pid.status().message());
  prometheus.pid = *pid;
  if (!WaitHttpReady(prometheus.pid, o.prometheus_port, "/-/ready", 30, Interrupted)) {
    return Status::Unavailable("prometheus did not become ready; see " + run.dir +
                               "/logs/prometheus.log.");
  }
  return Status::Ok();
}

nlohmann::json RunColdStartScenario(PodManager* pods, const std::vector<ColdStartApp>& apps,
                                    const RunOptions& o) {
  std::cout << "scenario cold-start (" << o.cold_starts << " starts per runtime)\n";
  ColdStartOptions co;
  co.starts = o.cold_starts;
  co.podmeter_port = o.podmeter_port;
  co.interrupted = Interrupted;
  return RunColdStart(pods, apps, co);
}

Status AddReplicas(PodManager& pods, const std::vector<ColdStartApp>& apps, int replicas) {
  for (const ColdStartApp& a : apps) {
    for (int i = 0; i < replicas; ++i) {
      auto added = pods.AddReplica(a.app, i, a.argv, a.port + i);
      if (!added.ok()) {
        return Status::Unavailable("creating the pod cgroup failed: " + added.status().message());
      }
    }
  }
  return Status::Ok();
}

// Waits up to 180 s for every pod's readiness probe (or Ctrl-C).
Status WaitAllReady(const PodManager& pods, const RunOptions& o, const RunDir& run) {
  auto start = std::chrono::steady_clock::now();
  std::cout << "starting " << o.apps.size() * static_cast<size_t>(o.replicas)
            << " pods (servers on CPU "
            << (ServerCpus(o).empty() ? std::string("0-1, unpinned") : ServerCpus(o)) << ") ...\n";
  while (!pods.AllReady() && !g_interrupted) {
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(180)) {
      return Status::Unavailable("pods were not ready after 180 s; last error: " +
                                 pods.last_error() + "; logs in " + run.dir + "/logs.");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::cout << "all pods ready; podmeter http://127.0.0.1:" << o.podmeter_port
            << "/metrics, prometheus http://127.0.0.1:" << o.prometheus_port << "\n";
  return Status::Ok();
}

// A server's own refserver_startup_seconds from its /metrics.
std::optional<double> SelfReportedStartup(const std::string& ip, int port) {
  std::string text = HttpGetOrEmpty("http://" + ip + ":" + std::to_string(port) + "/metrics");
  auto v = Sample(text + "\n", "refserver_startup_seconds", {});
  if (!v) {  // an unlabelled gauge: "name value"
    for (std::string_view line : SplitLines(text)) {
      if (line.substr(0, 26) == "refserver_startup_seconds ") {
        v = std::strtod(std::string(line.substr(26)).c_str(), nullptr);
      }
    }
  }
  return v;
}

// The pods at rest: podmeter's figures and each server's own start-up, a few seconds after every
// pod is ready and before any load.
struct IdleFigures {
  std::vector<ReplicaState> replicas;  // the pods at rest (on a node, scenarios replace pods)
  std::map<std::string, PodFigures> by_pod;
  nlohmann::json self_reported = nlohmann::json::object();  // start-up seconds by pod
};
IdleFigures MeasureIdle(const Pods& pods, const std::string& podmeter_url) {
  std::this_thread::sleep_for(std::chrono::seconds(3));
  IdleFigures idle;
  idle.by_pod = ParsePodFigures(HttpGetOrEmpty(podmeter_url));
  idle.replicas = pods.Replicas();
  for (const ReplicaState& r : pods.Replicas()) {
    auto v = SelfReportedStartup(r.ip, r.port);
    if (v) idle.self_reported[r.pod] = *v;
  }
  return idle;
}

// Every k6 scenario of --scenarios; their summary entries.
nlohmann::json RunK6Scenarios(Pods* pods, const RunOptions& o, const std::string& repo,
                              const RunDir& run, const std::string& podmeter_url,
                              const std::string& k6_cpus) {
  std::vector<std::string> k6_scenarios = o.scenarios;
  std::erase(k6_scenarios, "cold-start");
  BenchmarkOptions bo;
  bo.repo = repo;
  bo.results_dir = run.dir;
  bo.run_id = run.id;
  bo.profile = o.profile;
  bo.k6_bin = K6Bin(repo);
  bo.podmeter_url = podmeter_url;
  bo.k6_cpus = k6_cpus;
  bo.prometheus_port = o.prometheus_port;
  bo.scenarios = k6_scenarios;
  bo.interrupted = Interrupted;
  Benchmark bench(bo, pods);
  return bench.RunAll();
}

// No scenarios: hold the stack for --hold seconds, showing what podmeter sees; kill one replica
// halfway unless --no-pod-kill.
void HoldStack(PodManager& pods, const RunOptions& o) {
  std::string url = LocalUrl(o.podmeter_port) + "/metrics";
  auto hold_start = std::chrono::steady_clock::now();
  bool killed = !o.pod_kill;
  while (!g_interrupted) {
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - hold_start).count();
    if (elapsed >= o.hold_seconds) break;
    if (!killed && elapsed >= o.hold_seconds / 2) {
      killed = pods.Kill(o.apps.front(), 0);
      std::cout << "\npod-kill: SIGKILL to " << o.apps.front() << " replica 0\n";
    }
    auto figures = ParsePodFigures(HttpGetOrEmpty(url));
    std::printf("\r  %4.0f/%.0f s ", elapsed, o.hold_seconds);
    for (const ReplicaState& r : pods.Replicas()) {
      std::printf(" %s %s %.1fMiB r=%d ", r.app.c_str(), r.ready ? "ready" : "down",
                  figures[r.pod].working_set / 1048576.0, r.restarts);
    }
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  std::cout << "\n";
}

// summary.json's leak_check (from the soak) and cost_projection (from the load), queried from the
// run's Prometheus.
void AddAnalyses(nlohmann::json& summary, const Pods& pods, const std::string& namespace_name,
                 const RunOptions& o, const RunDir& run, const nlohmann::json& scenarios) {
  AnalysisOptions ao{LocalUrl(o.prometheus_port), run.id, namespace_name};
  std::map<std::string, int64_t> limits;
  for (const ReplicaState& r : pods.Replicas()) {
    if (r.cpu_limit_millis) limits[r.app] = *r.cpu_limit_millis;
  }
  for (const auto& sc : scenarios) {
    if (sc.value("scenario", "") == "soak") summary["leak_check"] = LeakChecks(ao, sc);
    if (sc.value("scenario", "") == "load") {
      summary["cost_projection"] = CostProjections(ao, sc, limits);
    }
  }
}

const PodFigures& FiguresOf(const std::map<std::string, PodFigures>& figures,
                            const std::string& pod) {
  static const PodFigures kNone;
  auto it = figures.find(pod);
  return it == figures.end() ? kNone : it->second;
}

nlohmann::json OrNull(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

// summary.json's pods: each replica at rest and at the end.
nlohmann::json PodEntries(const Pods& pods, const IdleFigures& idle,
                          const std::map<std::string, PodFigures>& final_figures) {
  nlohmann::json entries = nlohmann::json::array();
  // The pods at rest and any started since (HPA, squeeze, rolling update), each once.
  // A pod still running is reported as it is now (its restarts since rest included).
  std::vector<ReplicaState> all = idle.replicas;
  for (const ReplicaState& r : pods.Replicas()) {
    bool seen = false;
    for (ReplicaState& a : all) {
      if (a.pod != r.pod) continue;
      a = r;
      seen = true;
    }
    if (!seen) all.push_back(r);
  }
  for (const ReplicaState& r : all) {
    const PodFigures& f = FiguresOf(final_figures, r.pod);
    const PodFigures& at_rest = FiguresOf(idle.by_pod, r.pod);
    entries.push_back({{"app", r.app},
                       {"pod", r.pod},
                       {"startup_seconds",
                        OrNull(f.startup_seconds ? f.startup_seconds : at_rest.startup_seconds)},
                       {"self_reported_startup_seconds", idle.self_reported.contains(r.pod)
                                                             ? idle.self_reported.at(r.pod)
                                                             : nlohmann::json(nullptr)},
                       {"idle_working_set_bytes", at_rest.working_set},
                       {"idle_rss_bytes", at_rest.rss},
                       {"working_set_bytes", f.working_set},
                       {"rss_bytes", f.rss},
                       {"restarts_observed", f.restarts},
                       {"kubelet_restarts", r.restarts}});
  }
  return entries;
}

// Each app's image, as its Deployment in --stack names it.
std::map<std::string, std::string> AppImages(const RunOptions& o, const std::string& repo) {
  std::map<std::string, std::string> images;
  for (const std::string& app : o.apps) {
    auto d = ParseDeployment(Slurp(JoinPath(JoinPath(repo, o.stack), app + "-deployment.yaml")));
    if (d.ok() && !d->containers.empty()) images[app] = d->containers.front().image;
  }
  return images;
}

// On this host, the images of the run's apps that sizes.json has no size for: built now by
// scripts/images (once; later runs find them), after the measurements. Per image still without
// a size: why (the scoreboards print it beside the "-").
std::map<std::string, std::string> BuildMissingImages(const RunOptions& o, const std::string& repo,
                                                      const RunDir& run, const std::string& mode) {
  std::vector<std::string> wanted;
  for (const auto& [app, image] : AppImages(o, repo)) wanted.push_back(image);
  std::vector<std::string> missing = ImagesWithoutSize(ImageSizes(), wanted);
  std::map<std::string, std::string> why;
  if (missing.empty()) return why;
  std::string names;
  for (const auto& image : missing) names += " " + ImageArchiveName(image);
  std::string reason;
  if (mode != "host") {
    reason = "not in " + ImageSizesPath() + " (scripts/images build" + names + ")";
  } else if (!o.image_build) {
    reason = "not built on this machine (--no-image-build; scripts/images build" + names + ")";
  } else {
    std::string log = JoinPath(run.dir, "logs/images.log");
    std::cout << "images: no size yet for" << names << ": scripts/images build" << names
              << " (once; log: " << log << ")" << std::endl;
    auto t0 = std::chrono::steady_clock::now();
    Status built = BuildImages(repo, missing, log, 1800, Interrupted);
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("images: %s after %.0f s\n", built.ok() ? "built" : built.message().c_str(), took);
    reason = built.ok() ? "scripts/images build wrote no size for it" : built.message();
  }
  for (const auto& image : ImagesWithoutSize(ImageSizes(), missing)) why[image] = reason;
  return why;
}

// summary.json's images: each app's image (from its Deployment in --stack) as scripts/images
// measured it. On the host the lab runs the same servers from the checkout, not the image: the
// sizes are the image's.
nlohmann::json ImageEntries(const RunOptions& o, const std::string& repo,
                            const nlohmann::json& sizes,
                            const std::map<std::string, std::string>& missing) {
  nlohmann::json out = nlohmann::json::array();
  for (const std::string& app_name : o.apps) {
    auto app =
        ParseDeployment(Slurp(JoinPath(JoinPath(repo, o.stack), app_name + "-deployment.yaml")));
    if (!app.ok() || app->containers.empty()) continue;
    const std::string& image = app->containers.front().image;
    nlohmann::json e = {{"app", app_name}, {"runtime", RuntimeOf(app_name)}, {"image", image}};
    if (sizes.is_object() && sizes.contains(image)) {
      for (const char* k : {"unpacked_bytes", "layer_gzip_bytes", "archive_bytes",
                            "entrypoint_bytes", "manifest_digest"}) {
        if (sizes[image].contains(k)) e[k] = sizes[image][k];
      }
    } else {
      auto why = missing.find(image);
      e["error"] = "no size for " + image + ": " +
                   (why != missing.end() ? why->second : "not in " + ImageSizesPath());
    }
    out.push_back(e);
  }
  return out;
}

// Each app's image (its Deployment in --stack) and what a user deploys of its server: the binary
// it runs here (Rust, Go), or for Python, which ships no binary, its whole image unpacked (the
// interpreter, its libraries, the standard library, the venv and the app; from `sizes`).
void ServerFiles(const RunOptions& o, const std::string& repo, const nlohmann::json& sizes,
                 std::map<std::string, std::string>* images, nlohmann::json* binaries) {
  auto commands = ReadImages(repo);
  *images = AppImages(o, repo);
  for (const auto& [app, image] : *images) {
    if (!commands.ok() || !commands->contains(image)) continue;
    std::string rel = ServerBinary(commands->at(image).get<std::vector<std::string>>());
    if (rel.ends_with("python")) {
      if (!sizes.is_object() || !sizes.contains(image)) continue;
      (*binaries)[app] = {{"path", ImageSizesPath() + " (" + image + ")"},
                          {"bytes", sizes[image].value("unpacked_bytes", nlohmann::json())},
                          {"kind", "image"}};
      continue;
    }
    std::error_code ec;
    fs::path real = fs::canonical(JoinPath(repo, rel), ec);
    if (rel.empty() || ec) continue;
    auto bytes = fs::file_size(real, ec);
    if (ec) continue;
    (*binaries)[app] = {{"path", real.string()}, {"bytes", bytes}, {"kind", "binary"}};
  }
}

// summary.json's servers: per app its image with the image's sizes (scripts/images) and the
// binary its server runs here; then suites: one scoreboard per suite scenario of the run
// (lab/suites.h), with the resource monitor from the run's Prometheus.
void AddServersAndSuites(nlohmann::json& summary, const RunOptions& o, const std::string& repo,
                         const std::string& namespace_name, const RunDir& run,
                         const std::map<std::string, std::string>& missing) {
  nlohmann::json sizes = ImageSizes();
  std::map<std::string, std::string> images;
  nlohmann::json binaries = nlohmann::json::object();
  ServerFiles(o, repo, sizes, &images, &binaries);
  // Why an app's image has no size (and a Python app no deployable size): for the boards.
  std::map<std::string, std::string> notes;
  for (const auto& [app, image] : images) {
    auto why = missing.find(image);
    if (ImagesWithoutSize(sizes, {image}).empty()) continue;
    notes[RuntimeOf(app)] = "no size for " + image + ": " +
                            (why != missing.end() ? why->second : "not in " + ImageSizesPath());
  }
  nlohmann::json servers = nlohmann::json::array();
  for (const std::string& app : o.apps) {
    nlohmann::json e = {{"app", app}, {"runtime", RuntimeOf(app)}};
    if (images.count(app)) {
      e["image"] = images[app];
      if (sizes.is_object() && sizes.contains(images[app])) {
        e["image_archive_bytes"] = sizes[images[app]].value("archive_bytes", nlohmann::json());
        e["image_unpacked_bytes"] = sizes[images[app]].value("unpacked_bytes", nlohmann::json());
      }
    }
    if (binaries.contains(app)) {
      e["binary_path"] = binaries[app]["path"];
      e["binary_bytes"] = binaries[app]["bytes"];
      e["binary_kind"] = binaries[app]["kind"];
    }
    if (notes.count(RuntimeOf(app))) e["size_note"] = notes[RuntimeOf(app)];
    servers.push_back(e);
  }
  summary["servers"] = servers;
  nlohmann::json boards = nlohmann::json::object();
  for (const auto& sc : summary["scenarios"]) {
    const Suite* suite = FindSuite(sc.value("scenario", ""));
    if (suite == nullptr) continue;
    nlohmann::json resources =
        ResourceStats({LocalUrl(o.prometheus_port), run.id, namespace_name}, sc);
    boards[suite->name] =
        SuiteBoard(*suite, sc, summary["pods"], resources, sizes, binaries, images);
    for (auto& e : boards[suite->name]["runtimes"]) {
      if (notes.count(e.value("runtime", ""))) e["size_note"] = notes[e.value("runtime", "")];
    }
  }
  if (!boards.empty()) summary["suites"] = boards;
}

// While Prometheus is still up: report.html of the run.
void WriteRunReport(const RunOptions& o, const std::string& repo, const RunDir& run) {
  auto charts = WriteReport({repo, run.dir, LocalUrl(o.prometheus_port)});
  if (charts.ok()) {
    std::cout << "report: " << JoinPath(run.dir, "report.html") << " (" << *charts
              << " charts with data)\n";
  } else {
    std::cerr << "podmeter-lab: report.html: " << charts.status().message() << "\n";
  }
}

// After the scenarios: summary.json, summary.md (also printed), metrics-final.txt, report.html.
struct ResultContext {
  const Pods* pods;
  std::string namespace_name, podmeter_url;
  nlohmann::json mode_details = nlohmann::json::object();  // summary.json's "cluster"
};
void WriteResults(const ResultContext& ctx, const RunOptions& o, const std::string& repo,
                  const RunDir& run, const nlohmann::json& scenarios, const IdleFigures& idle) {
  std::string last = HttpGetOrEmpty(ctx.podmeter_url);
  auto final_figures = ParsePodFigures(last);
  nlohmann::json summary = {{"run_id", run.id},
                            {"profile", o.profile},
                            {"mode", ctx.pods->Mode()},
                            {"pods", nlohmann::json::array()},
                            {"scenarios", scenarios}};
  if (!ctx.mode_details.empty()) summary[ctx.pods->Mode()] = ctx.mode_details;
  // From the run's Prometheus, after its last scrape and k6's last push.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  AddAnalyses(summary, *ctx.pods, ctx.namespace_name, o, run, scenarios);
  summary["pods"] = PodEntries(*ctx.pods, idle, final_figures);
  std::map<std::string, std::string> missing = BuildMissingImages(o, repo, run, ctx.pods->Mode());
  summary["images"] = ImageEntries(o, repo, ImageSizes(), missing);
  AddServersAndSuites(summary, o, repo, ctx.namespace_name, run, missing);
  std::ofstream(JoinPath(run.dir, "summary.json")) << summary.dump(2) << "\n";
  std::ofstream(JoinPath(run.dir, "summary.md")) << SummaryMarkdown(summary);
  std::ofstream(JoinPath(run.dir, "metrics-final.txt")) << last;
  std::cout << SummaryMarkdown(summary);
  if (!scenarios.empty()) WriteRunReport(o, repo, run);
}

// The run on a started stack: podmeter and Prometheus up, cold start (nothing else runs yet),
// the pods, their idle figures, the k6 scenarios (or a hold), the results.
Status RunOnStack(Stack& stack, const RunOptions& o, const std::string& repo, const RunDir& run,
                  const nlohmann::json& images) {
  // Every Deployment read before anything starts; the pods are created after podmeter.
  auto apps = ReadApps(o, repo, images);
  if (!apps.ok()) return apps.status();
  if (Status s = StartPodmeter(stack, o, repo, run); !s.ok()) return s;
  if (Status s = StartPrometheus(stack.prometheus, "127.0.0.1:" + std::to_string(o.podmeter_port),
                                 o, repo, run);
      !s.ok()) {
    return s;
  }
  stack.pods.Start();
  nlohmann::json scenarios = nlohmann::json::array();
  if (Wants(o, "cold-start")) scenarios.push_back(RunColdStartScenario(&stack.pods, *apps, o));
  if (Status s = AddReplicas(stack.pods, *apps, o.replicas); !s.ok()) return s;
  if (Status s = WaitAllReady(stack.pods, o, run); !s.ok()) return s;
  std::string podmeter_url = LocalUrl(o.podmeter_port) + "/metrics";
  IdleFigures idle = MeasureIdle(stack.pods, podmeter_url);
  if (!o.scenarios.empty()) {
    for (auto& sc : RunK6Scenarios(&stack.pods, o, repo, run, podmeter_url, K6Cpus(o))) {
      scenarios.push_back(std::move(sc));
    }
  } else {
    HoldStack(stack.pods, o);
  }
  WriteResults({&stack.pods, stack.options.namespace_name, podmeter_url, HostDetails(o)}, o, repo,
               run, scenarios, idle);
  return Status::Ok();
}

int Run(const RunOptions& o, const std::string& repo) {
  auto cgroups = CheckPrerequisites(o, repo);
  if (!cgroups.ok()) return Fail(cgroups.status().message());
  RunDir run = MakeRunDir(o.results);
  if (Status s = BuildServers(repo); !s.ok()) return Fail(s.message());
  auto images = ReadImages(repo);
  if (!images.ok()) return Fail(images.status().message());
  Stack stack(&cgroups.value(), PodOptions(o, repo, run));
  Status s = RunOnStack(stack, o, repo, run, *images);
  stack.Stop();
  if (!s.ok()) return Fail(s.message());
  std::cout << (g_interrupted ? "interrupted: " : "")
            << "stopped everything and removed the cgroups\n";
  return g_interrupted ? 130 : 0;
}

// --cluster: the run on scripts/cluster's node. Everything it applies is put back by the caller
// (ClusterSession::Restore), whatever happens here.
StatusOr<KubeConfig> ClusterKubeConfig(const std::string& repo) {
  FILE* pipe = ::popen(("'" + JoinPath(repo, "scripts/cluster") + "' kubeconfig").c_str(), "r");
  if (pipe == nullptr) return Status::IoError("cannot run scripts/cluster kubeconfig");
  char buf[4096] = {0};
  std::string path = std::fgets(buf, sizeof(buf), pipe) != nullptr ? buf : "";
  ::pclose(pipe);
  while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.pop_back();
  std::string text = Slurp(path);
  if (text.empty()) {
    return Status::Unavailable("no kubeconfig at '" + path +
                               "': start the node (scripts/cluster up)");
  }
  return ParseKubeConfig(text);
}

nlohmann::json ClusterDetails(const KubePods& pods, const RunOptions& o) {
  nlohmann::json hpa = nlohmann::json::object();
  for (const auto& [app, h] : pods.Hpas()) hpa[app] = h.max_replicas;
  nlohmann::json d = {{"node", "podmeter-node"}, {"hpa_max_replicas", hpa}};
  d["note"] = o.max_replicas > 0
                  ? "HPA maxReplicas lowered to " + std::to_string(o.max_replicas) +
                        " (--max-replicas): k8s/base's 10 per app does not fit this node"
                  : "HPAs as in k8s/base (maxReplicas 10)";
  return d;
}

Status RunClusterScenarios(ClusterSession& session, const KubeApi& api, const RunOptions& o,
                           const std::string& repo, const RunDir& run) {
  std::cout << "applying " << o.stack << " (" << Join(o.apps, ", ") << ", podmeter) ...\n";
  if (Status s = session.Apply(); !s.ok()) return s;
  auto podmeter_ip = session.WaitPodmeter(180, Interrupted);
  if (!podmeter_ip.ok()) return podmeter_ip.status();
  std::string podmeter_url = "http://" + *podmeter_ip + ":10101/metrics";
  KubePodsOptions ko;
  ko.apps = o.apps;
  ko.interrupted = Interrupted;
  ko.rollout_timeout_seconds = o.profile == "tiny" ? 120 : 240;
  KubePods pods(&api, ko);
  if (Status s = pods.Start(); !s.ok()) return s;
  if (o.max_replicas > 0) {
    if (Status s = pods.SetMaxReplicas(o.max_replicas); !s.ok()) return s;
  }
  if (Status s = pods.Settle(); !s.ok()) return s;
  Service prometheus{"prometheus"};
  if (Status s = StartPrometheus(prometheus, *podmeter_ip + ":10101", o, repo, run); !s.ok()) {
    return s;
  }
  std::cout << "all pods ready; podmeter " << podmeter_url << ", prometheus "
            << LocalUrl(o.prometheus_port) << "\n";
  nlohmann::json scenarios = nlohmann::json::array();
  if (Wants(o, "cold-start") && !g_interrupted) {
    std::cout << "scenario cold-start (" << o.cold_starts << " starts per runtime, 0 → 1)\n";
    scenarios.push_back(
        RunClusterColdStart(&pods, o.apps, {o.cold_starts, podmeter_url, 120, Interrupted}));
    if (Status s = pods.Settle(); !s.ok()) return s;
  }
  // pods.json: the apps' pods as the API lists them (report.html reads their namespace and apps).
  if (auto list = api.Get("/api/v1/namespaces/" + ko.namespace_name + "/pods?labelSelector=" +
                          UrlEncode("app.kubernetes.io/component=reference-server"));
      list.ok()) {
    std::ofstream(JoinPath(run.dir, "pods.json")) << list->dump(1) << "\n";
  }
  IdleFigures idle = MeasureIdle(pods, podmeter_url);
  nlohmann::json details = ClusterDetails(pods, o);
  details["kubectl_top_idle"] = pods.Top();
  if (!o.scenarios.empty() && !g_interrupted) {
    for (auto& sc : RunK6Scenarios(&pods, o, repo, run, podmeter_url, "0-1")) {
      scenarios.push_back(std::move(sc));
    }
  }
  nlohmann::json hpa = ClusterDetails(pods, o);  // maxReplicas as applied (and as lowered)
  details["hpa_max_replicas"] = hpa["hpa_max_replicas"];
  WriteResults({&pods, ko.namespace_name, podmeter_url, details}, o, repo, run, scenarios, idle);
  pods.Stop();
  return Status::Ok();
}

int RunCluster(const RunOptions& o, const std::string& repo) {
  if (::geteuid() != 0)
    return Fail("run it as root: the cluster's kubeconfig and pods are root's.");
  if (std::system("command -v prometheus >/dev/null 2>&1") != 0) {
    return Fail("prometheus is not installed: run scripts/setup first.");
  }
  if (!o.scenarios.empty() && ::access(K6Bin(repo).c_str(), X_OK) != 0) {
    return Fail("k6 is not installed: run scripts/setup-k6 first.");
  }
  auto config = ClusterKubeConfig(repo);
  if (!config.ok()) return Fail(config.status().message() + ".");
  KubeApi api(*config);
  RunDir run = MakeRunDir(o.results);
  ClusterSession session(&api, {repo, run.dir, o.stack, o.apps});
  if (Status s = session.Check(); !s.ok()) return Fail(s.message() + ".");
  Status s = Status::Ok();
  try {
    s = RunClusterScenarios(session, api, o, repo, run);
  } catch (const std::exception& e) {
    s = Status::Unavailable(std::string("internal error: ") + e.what());
  }
  std::cout << "giving the cluster back as it was ...\n" << std::flush;
  Status restored = session.Restore();
  if (!restored.ok()) std::cerr << "podmeter-lab: " << restored.message() << "\n";
  if (!s.ok() && !g_interrupted) {
    return Fail(s.message() + (restored.ok() ? "; the cluster was put back as it was." : "."));
  }
  std::cout << (g_interrupted ? "interrupted: " : "")
            << (restored.ok() ? "stopped everything; the cluster is as it was before the run\n"
                              : "stopped everything; see above for what could not be put back\n");
  return g_interrupted ? 130 : (restored.ok() ? 0 : 1);
}

// The newest results/<run id>/cluster-before.json under `results` ("" if none); run ids sort
// by time.
std::string NewestClusterRecord(const std::string& results) {
  std::string newest;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(results, ec)) {
    std::string f = JoinPath(e.path().string(), "cluster-before.json");
    if (fs::exists(f) && (newest.empty() || f > newest)) newest = f;
  }
  return newest;
}

// clean --cluster: a killed `run --cluster` (SIGKILL: no unwinding) left k8s/base's objects
// applied; put the cluster back as its cluster-before.json recorded it.
int CleanCluster(const std::string& repo, const std::string& run_dir, const std::string& results) {
  if (::geteuid() != 0) return Fail("run it as root: the cluster's kubeconfig is root's.");
  std::string file =
      run_dir.empty() ? NewestClusterRecord(results) : JoinPath(run_dir, "cluster-before.json");
  if (file.empty() || !fs::exists(file)) {
    return Fail("no cluster-before.json " +
                (run_dir.empty() ? "under " + results + "/*/" : "in " + run_dir) +
                ": no --cluster run to clean up after.");
  }
  auto record = ParseBeforeRecord(nlohmann::json::parse(Slurp(file), nullptr, false));
  if (!record.ok()) return Fail(file + ": " + record.status().message() + ".");
  if (record->restored) {
    std::cout << file << ": that run gave the cluster back itself; nothing to do\n";
    return 0;
  }
  for (const std::string& u : record->unknown) {
    std::cerr << "podmeter-lab: " << u << " existed before the run but " << file
              << " has not its state: left as it is\n";
  }
  auto config = ClusterKubeConfig(repo);
  if (!config.ok()) return Fail(config.status().message() + ".");
  KubeApi api(*config);
  ClusterSessionOptions so;
  so.repo = repo;
  so.run_dir = fs::path(file).parent_path().string();
  ClusterSession session(&api, so);
  session.Resume(std::move(record.value()));
  std::cout << "giving the cluster back as " << file << " recorded it ...\n" << std::flush;
  Status s = session.Restore();
  if (!s.ok()) return Fail(s.message() + ".");
  std::cout << "the cluster is as it was before that run\n";
  return 0;
}

int Clean() {
  if (::geteuid() != 0) return Fail("run it as root: cleaning removes cgroups.");
  auto cgroups = LabCgroups::Detect();
  if (!cgroups.ok()) return Fail(cgroups.status().message() + ".");
  Status s = cgroups.value().RemoveAll();
  if (!s.ok()) return Fail("could not remove every lab cgroup: " + s.message());
  std::cout << "removed the lab's kubepods cgroups and killed what ran in them\n";
  return 0;
}

// The flags of `podmeter-lab run`, into `o`.
void AddRunFlags(CLI::App* run, RunOptions* o) {
  run->add_option("--stack", o->stack, "Directory with the Deployments")->capture_default_str();
  run->add_option("--apps", o->apps, "Deployments to run")->capture_default_str();
  run->add_option("--replicas", o->replicas, "Replicas per app")
      ->check(CLI::Range(1, 10))
      ->capture_default_str();
  run->add_option("--profile", o->profile,
                  "quick (≤ 10 min), full (the reference durations) or tiny (a test)")
      ->check(CLI::IsMember({"quick", "full", "tiny"}))
      ->capture_default_str();
  run->add_option("--scenarios", o->scenarios, "Scenarios to run; 'none' holds the stack instead")
      ->delimiter(',')
      ->capture_default_str();
  run->add_option("--suite", o->suites,
                  "Reproduce reference reports instead: fib, snowflake, sha256 (their apps and "
                  "k6 suites, each with its own scoreboard; docs/lab.md)")
      ->delimiter(',')
      ->check(CLI::IsMember({"fib", "snowflake", "sha256"}));
  run->add_option("--hold", o->hold_seconds, "With --scenarios none: seconds to keep the stack up")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  run->add_option("--results", o->results, "Where results/<run id>/ goes")->capture_default_str();
  run->add_flag("!--no-pod-kill", o->pod_kill, "Do not kill a replica halfway");
  run->add_flag("!--no-image-build", o->image_build,
                "Do not build the apps' images that have no size in sizes.json yet (their sizes "
                "stay '-'; scripts/images build)");
  run->add_option("--cold-starts", o->cold_starts, "Starts per runtime in the cold-start scenario")
      ->check(CLI::Range(1, 20))
      ->capture_default_str();
  run->add_flag("--cluster", o->cluster,
                "Run on scripts/cluster's Kubernetes node: k8s/base applied through the API, "
                "k6 against the NodePorts, the cluster put back afterwards (docs/lab.md)");
  run->add_option("--max-replicas", o->max_replicas,
                  "With --cluster: every HPA's maxReplicas (k8s/base: 10), for a small node")
      ->check(CLI::Range(1, 10));
}

// The flags of `podmeter-lab pod`, into `o`.
void AddPodFlags(CLI::App* pod, OnePodOptions* o) {
  pod->add_option("--deployment", o->deployment,
                  "The Deployment (e.g. k8s/base/rust-api-deployment.yaml)")
      ->required()
      ->check(CLI::ExistingFile);
  pod->add_option("--pods-file", o->pods_file, "Where the PodList goes (podmeter --pods-file)")
      ->capture_default_str();
  pod->add_option("--logs", o->log_dir, "Directory of the container's log")->capture_default_str();
  pod->add_option("--port", o->port, "PORT for the container (its readiness probe's port)")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  pod->add_option("--cpus", o->cpus, "cpuset of the pod (default: inherit)");
  pod->add_option("--seconds", o->seconds, "Remove the pod after this long at the latest")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  pod->add_option("command", o->command, "The container's command and arguments, after --")
      ->required();
}

int OnePod(OnePodOptions o, const std::string& repo) {
  if (::geteuid() != 0) return Fail("run it as root: the lab creates cgroups.");
  o.workdir = repo;
  Status s = RunOnePod(o, Interrupted, std::cout);
  return s.ok() ? 0 : Fail(s.message() + ".");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"podmeter-lab: the Rust vs Go vs Django benchmark on one machine, no cluster."};
  app.require_subcommand(1);
  RunOptions o;
  std::string repo = fs::current_path().string();
  app.add_option("--repo", repo, "The podmeter checkout (k8s/, servers/, build/)")
      ->capture_default_str();
  CLI::App* run =
      app.add_subcommand("run", "Run the reference servers as pods with podmeter and Prometheus");
  AddRunFlags(run, &o);
  CLI::App* clean = app.add_subcommand("clean", "Remove what a killed run left behind");
  bool clean_cluster = false;
  std::string clean_run, clean_results = "results";
  clean->add_flag("--cluster", clean_cluster,
                  "After a killed run --cluster: put k8s/base's objects back as the run found "
                  "them (its cluster-before.json)");
  clean->add_option("--run", clean_run,
                    "With --cluster: the run's results/<run id> directory "
                    "(default: the newest under --results)");
  clean->add_option("--results", clean_results, "Where the runs are")->capture_default_str();
  CLI::App* report =
      app.add_subcommand("report", "Regenerate report.html of a finished run from its Prometheus");
  std::string report_run;
  report->add_option("--run", report_run, "The run's directory, results/<run id>")->required();
  CLI::App* pod = app.add_subcommand(
      "pod", "Lay out one pod of a Deployment as `run` does and run a command as its container");
  OnePodOptions pod_options;
  AddPodFlags(pod, &pod_options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  ::signal(SIGINT, OnSignal);
  ::signal(SIGTERM, OnSignal);
  ::signal(SIGPIPE, SIG_IGN);
  if (*clean) return clean_cluster ? CleanCluster(repo, clean_run, clean_results) : Clean();
  if (*pod) return OnePod(pod_options, repo);
  if (*report) {
    auto charts = RegenerateReport(repo, report_run);
    if (!charts.ok()) return Fail(charts.status().message() + ".");
    std::cout << JoinPath(report_run, "report.html") << ": " << *charts << " charts with data\n";
    return 0;
  }
  if (*run) {
    if (o.scenarios == std::vector<std::string>{"none"}) {
      o.scenarios.clear();
      if (o.hold_seconds <= 0) o.hold_seconds = 20;
    }
    if (!o.suites.empty()) {
      if (run->count("--scenarios") > 0 || run->count("--apps") > 0) {
        std::cerr << "podmeter-lab: --suite chooses the apps and scenarios itself\n";
        return 2;
      }
      o.scenarios = o.suites;
      o.apps.clear();
      for (const std::string& name : o.suites) {
        for (const std::string& a : FindSuite(name)->apps) {
          if (std::find(o.apps.begin(), o.apps.end(), a) == o.apps.end()) o.apps.push_back(a);
        }
      }
    }
    for (const std::string& sc : o.scenarios) {
      if (std::find(AllScenarios().begin(), AllScenarios().end(), sc) == AllScenarios().end() &&
          FindSuite(sc) == nullptr) {
        std::cerr << "podmeter-lab: unknown scenario '" << sc << "'\n";
        return 2;
      }
    }
    if (run->count("--scenarios") == 0 && o.suites.empty()) {
      // hpa and rolling-update need a node: asked for by name they are skipped with a word.
      if (!o.cluster)
        std::erase_if(o.scenarios,
                      [](const std::string& sc) { return sc == "hpa" || sc == "rolling-update"; });
    }
    if (o.cluster) return RunCluster(o, repo);
    try {
      return Run(o, repo);
    } catch (const std::exception& e) {
      // Unwinding stopped the services and the pods; the QoS parents go too.
      auto cgroups = LabCgroups::Detect();
      if (cgroups.ok()) (void)cgroups.value().RemoveAll();
      return Fail(std::string("internal error: ") + e.what() +
                  "; stopped everything and removed the cgroups.");
    }
  }
  return 2;
}
