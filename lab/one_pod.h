// `podmeter-lab pod`: one pod of a Deployment laid out exactly as `podmeter-lab run` lays out its
// pods (PodManager, LabCgroups: the kubelet's cgroupfs layout and values), running a given
// command as its container, its PodList written for podmeter's --pods-file. Used by the cgroup v2
// VM test (tests/vm) and to look at the lab's cgroups by hand.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "collectors/base/status.h"

namespace podmeter::lab {

struct OnePodOptions {
  std::string deployment;               ///< an apps/v1 Deployment YAML file
  std::string pods_file = "pods.json";  ///< the PodList podmeter reads
  std::string log_dir = ".";            ///< the container's log: <pod>_<container>.log
  std::string workdir = ".";            ///< where the command runs
  std::string cpus;                     ///< cpuset of the pod; empty = inherit
  int port = 18080;                     ///< PORT for the container (its readiness probe's port)
  double seconds = 600;                 ///< at most this long, then everything is removed
  std::vector<std::string> command;     ///< the container's argv (PATH searched)
};

/// Creates the pod, starts its container and prints, once it runs, shell-sourceable lines
/// (`pod=`, `uid=`, `qos=`, `pod_cgroup=`, `container=`, `container_id=`, `container_cgroup=`,
/// `pid=`; cgroups relative to the hierarchy roots), then keeps it (restarted if it exits, as
/// `run` does) until `interrupted` returns true or `seconds` pass; then kills it and removes its
/// cgroups (and kubepods/ with its QoS levels when this call created them). Later lines start
/// with '#'. Errors: one sentence.
Status RunOnePod(const OnePodOptions& options, const std::function<bool()>& interrupted,
                 std::ostream& out);

}  // namespace podmeter::lab
