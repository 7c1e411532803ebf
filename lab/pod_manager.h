// Runs the lab's pods like a kubelet with the cgroupfs driver: each replica is a pod cgroup with
// one cgroup per container, the container's process started inside it, probed
// for readiness and liveness over HTTP like the kubelet (a container failing its liveness probe
// gets SIGTERM, SIGKILL after the pod's termination grace period), restarted into a new container
// cgroup when it exits (restartPolicy Always, with the kubelet's back-off), and the whole state
// written as a kubelet PodList for podmeter's --pods-file. Each pod has its own directory for
// what the Deployment keeps in an emptyDir (PROMETHEUS_MULTIPROC_DIR). One thread (Start)
// drives it every 50 ms; each probe runs on its own thread (std::async) and is collected by a
// later round, so a slow probe never delays a restart or another pod's probe. The other
// methods are thread-safe.
#pragma once

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "lab/backoff.h"
#include "lab/cgroups.h"
#include "lab/manifest.h"
#include "lab/pod_list.h"
#include "lab/pods.h"
#include "lab/probe.h"

namespace podmeter::lab {

struct PodManagerOptions {
  std::string pods_file;  ///< the PodList podmeter reads
  std::string log_dir;    ///< one log file per container
  std::string workdir;    ///< where commands run (the repository)
  std::string namespace_name = "podmeter-bench";
  std::string node = "lab";
  std::string cpus;  ///< cpuset for every pod, e.g. "0"
  /// Per pod <volume_dir>/<pod>/: the Deployment's PROMETHEUS_MULTIPROC_DIR (an emptyDir on a
  /// node: one per pod, kept across container restarts) is moved there. Empty: left as is.
  std::string volume_dir;
  double backoff_base_seconds = 10;  ///< the kubelet's: 10 s doubling, capped at 30× (5 min)
  bool liveness = true;  ///< run the manifest's liveness probes (off for a foreign command)
};

class PodManager final : public Pods {
 public:
  PodManager(LabCgroups* cgroups, PodManagerOptions options);
  ~PodManager();
  PodManager(const PodManager&) = delete;
  PodManager& operator=(const PodManager&) = delete;

  /// Adds replica `index` of `app`, its first container running `argv` with PORT=`port`; the
  /// loop starts it at its next round. Returns the new pod's name.
  StatusOr<std::string> AddReplica(const AppSpec& app, int index, std::vector<std::string> argv,
                                   int port);
  /// Deletes a pod: SIGKILL to its processes, its container and pod cgroups removed, gone from
  /// the PodList. NotFound if no such pod.
  Status RemoveReplica(const std::string& pod);
  void Start();
  /// Stops the loop, kills every process and removes every cgroup made.
  void Shutdown();

  /// One round: reap exits, restart due containers, probe, write the PodList if it changed.
  void Tick();

  std::string Mode() const override { return "host"; }
  std::vector<ReplicaState> Replicas() const override;
  bool AllReady() const override;
  /// http://127.0.0.1:<port of the app's first replica>.
  std::string TargetUrl(const std::string& app) const override;
  /// Everything but hpa and rolling-update (no controller here).
  bool Supports(const std::string& scenario) const override;
  void BeginScenario(const std::string& scenario) override;
  /// {"kubelet": [{app, pod, restarts, restarts_during, liveness_kills, ready}]}, as on a node.
  nlohmann::json EndScenario(const std::string& scenario) override;
  std::vector<std::string> KillModes() const override { return {"sigkill"}; }
  /// SIGKILL the main process of a replica (the pod-kill scenario); false if not running.
  bool Kill(const std::string& app, int index);
  bool Kill(const std::string& app, int index, const std::string& mode) override;
  /// Sets the CPU limit of every pod and container of `app` (the squeeze scenario); nullopt
  /// removes it.
  Status SetCpuLimit(const std::string& app, std::optional<int64_t> limit_millis) override;
  /// The last problem starting a container, if any (for progress output).
  std::string last_error() const;
  /// Waits up to 30 s for every replica to be Ready.
  Status Settle() override;

 private:
  // One probe of one replica: its spec, result and the probe in flight.
  struct Prober {
    std::optional<ProbeSpec> spec;
    ProbeResult result{false, 3};
    double next_at = 0;
    std::future<std::pair<int, double>> inflight;  ///< (HTTP status or -1, finished at)
    std::string container_id;                      ///< the container it probes
    int failures = 0;                              ///< probes that failed, ever
  };
  struct Replica {
    AppSpec app;
    ContainerSpec spec;
    int index = 0;
    std::vector<std::string> argv;
    int port = 0;
    LabPod pod;
    std::string pod_rel, container_rel, volume;
    int pid = 0;
    double started_at = 0, next_start_at = 0;
    std::optional<double> kill_at;  ///< terminating (liveness): SIGKILL at this time
    int liveness_kills = 0;
    int restarts_at_begin = 0, liveness_kills_at_begin = 0, liveness_failures_at_begin = 0;
    RestartBackoff backoff;
    Prober readiness, liveness;
  };
  Status StartContainer(Replica& r, double now);
  void Reap(double now);
  void StartProbe(Replica& r, Prober& p, double now);
  /// The prober's result after a finished probe of the running container, with its time.
  std::optional<std::pair<bool, double>> CollectProbe(Replica& r, Prober& p);
  void ApplyReadiness(Replica& r);
  void ApplyLiveness(Replica& r, double now);
  void WritePodList();

  LabCgroups* cgroups_;
  PodManagerOptions options_;
  mutable std::mutex mutex_;
  std::vector<Replica> replicas_;  // GUARDED_BY(mutex_)
  bool dirty_ = true;              // GUARDED_BY(mutex_)
  std::string last_error_;         // GUARDED_BY(mutex_)
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

/// A random RFC 4122 version-4 uuid / 64 hex digits, from /dev/urandom.
std::string RandomUuid();
std::string RandomHex(size_t digits);
double NowSeconds();

}  // namespace podmeter::lab
