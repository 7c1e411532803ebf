#include "lab/pod_list.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace podmeter::lab {

using nlohmann::json;

std::string FormatRfc3339(double unix_seconds) {
  // Truncated to the second, as the API server and the kubelet write metav1.Time.
  auto t = static_cast<std::time_t>(std::floor(unix_seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

json Condition(const char* type, bool status, double since) {
  return {{"type", type},
          {"status", status ? "True" : "False"},
          {"lastProbeTime", nullptr},
          {"lastTransitionTime", FormatRfc3339(since)}};
}

json ContainerStatus(const LabContainer& c) {
  json s = {{"name", c.name},
            {"image", c.image},
            {"imageID", ""},
            {"ready", c.ready},
            {"started", c.started_at.has_value()},
            {"restartCount", c.restart_count},
            {"lastState", json::object()}};
  if (!c.container_id.empty()) s["containerID"] = "containerd://" + c.container_id;
  if (c.started_at) {
    s["state"] = {{"running", {{"startedAt", FormatRfc3339(*c.started_at)}}}};
  } else {
    s["state"] = {
        {"waiting",
         {{"reason", c.waiting_reason.empty() ? "ContainerCreating" : c.waiting_reason}}}};
  }
  if (c.last_termination) {
    const LabTermination& t = *c.last_termination;
    s["lastState"] = {{"terminated",
                       {{"exitCode", t.exit_code},
                        {"reason", t.reason},
                        {"startedAt", FormatRfc3339(t.started_at)},
                        {"finishedAt", FormatRfc3339(t.finished_at)},
                        {"containerID", "containerd://" + t.container_id}}}};
  }
  return s;
}

}  // namespace

std::string PodListJson(const std::vector<LabPod>& pods) {
  json items = json::array();
  for (const LabPod& p : pods) {
    json containers = json::array();
    json statuses = json::array();
    bool all_ready = !p.containers.empty();
    for (const LabContainer& c : p.containers) {
      containers.push_back({{"name", c.name}, {"image", c.image}});
      statuses.push_back(ContainerStatus(c));
      all_ready = all_ready && c.ready;
    }
    double ready_change = p.ready_since ? *p.ready_since : p.not_ready_since.value_or(p.started);
    json labels = p.labels;
    if (!p.app.empty()) labels["app.kubernetes.io/name"] = p.app;
    items.push_back(
        {{"metadata",
          {{"name", p.name},
           {"namespace", p.namespace_name},
           {"uid", p.uid},
           {"creationTimestamp", FormatRfc3339(p.created)},
           {"labels", labels},
           {"annotations", p.annotations}}},
         {"spec", {{"nodeName", p.node}, {"containers", containers}, {"restartPolicy", "Always"}}},
         {"status",
          {{"phase", "Running"},
           {"qosClass", p.qos_class},
           {"hostIP", "127.0.0.1"},
           {"podIP", p.pod_ip},
           {"startTime", FormatRfc3339(p.started)},
           {"conditions",
            {Condition("PodScheduled", true, p.scheduled),
             Condition("Initialized", true, p.started),
             Condition("ContainersReady", all_ready, ready_change),
             Condition("Ready", all_ready, ready_change)}},
           {"containerStatuses", statuses}}}});
  }
  json list = {
      {"kind", "PodList"}, {"apiVersion", "v1"}, {"metadata", json::object()}, {"items", items}};
  return list.dump(1) + "\n";
}

Status WriteFileAtomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, tmp);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Status::FromErrno(err, tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return Status::FromErrno(errno, tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Status::FromErrno(errno, path);
  return Status::Ok();
}

}  // namespace podmeter::lab
