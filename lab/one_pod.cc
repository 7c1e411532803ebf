#include "lab/one_pod.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <sstream>
#include <thread>

#include "lab/cgroups.h"
#include "lab/manifest.h"
#include "lab/pod_manager.h"

namespace podmeter::lab {
namespace {

StatusOr<AppSpec> ReadDeployment(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  auto app = ParseDeployment(text.str());
  if (!app.ok()) return Status::InvalidData(path + ": " + app.status().message());
  if (app->containers.size() != 1) {
    return Status::InvalidData(path + ": the lab runs pods of one container");
  }
  return app;
}

// The replica once its container runs, or nullopt after `seconds`.
std::optional<ReplicaState> WaitRunning(const PodManager& pods, double seconds,
                                        const std::function<bool()>& interrupted) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline && !interrupted()) {
    for (const ReplicaState& r : pods.Replicas()) {
      if (r.pid > 0) return r;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::nullopt;
}

void Print(const ReplicaState& r, const std::string& qos, std::ostream& out) {
  out << "pod=" << r.pod << "\nuid=" << r.uid << "\nqos=" << qos << "\npod_cgroup=" << r.pod_cgroup
      << "\ncontainer=" << r.container << "\ncontainer_id=" << r.container_id
      << "\ncontainer_cgroup=" << r.container_cgroup << "\npid=" << r.pid << std::endl;
}

}  // namespace

Status RunOnePod(const OnePodOptions& o, const std::function<bool()>& interrupted,
                 std::ostream& out) {
  auto app = ReadDeployment(o.deployment);
  if (!app.ok()) return app.status();
  auto cgroups = LabCgroups::Detect();
  if (!cgroups.ok()) return cgroups.status();
  const bool had_kubepods = cgroups->Exists("kubepods");
  std::error_code ec;
  std::filesystem::create_directories(o.log_dir, ec);
  PodManagerOptions pm;
  pm.pods_file = o.pods_file;
  pm.log_dir = o.log_dir;
  pm.workdir = o.workdir;
  pm.cpus = o.cpus;
  pm.liveness = false;  // COMMAND is not the image's server: its /health may never answer
  Status result;
  {
    PodManager pods(&cgroups.value(), pm);
    auto name = pods.AddReplica(*app, 0, o.command, o.port);
    if (!name.ok()) {
      result = Status::Unavailable("creating the pod cgroup failed: " + name.status().message());
    } else {
      pods.Start();
      auto running = WaitRunning(pods, 10, interrupted);
      if (!running) {
        result = Status::Unavailable("the container did not start: " + pods.last_error());
      } else {
        Print(*running, app->QosClass(), out);
        auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(o.seconds);
        while (!interrupted() && std::chrono::steady_clock::now() < end) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
    }
    pods.Shutdown();  // kills the container, removes its and the pod's cgroups
  }
  if (!had_kubepods) (void)cgroups.value().RemoveAll();
  out << "# removed the pod and its cgroups" << std::endl;
  return result;
}

}  // namespace podmeter::lab
