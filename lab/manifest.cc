#include "lab/manifest.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdlib>

namespace podmeter::lab {
namespace {

std::optional<double> ParseNumber(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string str(s);
  char* end = nullptr;
  double v = std::strtod(str.c_str(), &end);
  if (end != str.c_str() + str.size() || !std::isfinite(v) || v < 0) return std::nullopt;
  return v;
}

// n[k1][k2]…, or an undefined node when any level is missing (yaml-cpp throws on a missing
// intermediate key).
YAML::Node At(const YAML::Node& n, std::initializer_list<const char*> path) {
  YAML::Node cur;
  cur.reset(n);
  for (const char* key : path) {
    if (!cur || !cur.IsMap() || !cur[key]) return YAML::Node(YAML::NodeType::Undefined);
    cur.reset(cur[key]);  // not operator=, which would overwrite the node itself
  }
  return cur;
}

std::string Scalar(const YAML::Node& n, const std::string& fallback = "") {
  return n && n.IsScalar() ? n.as<std::string>() : fallback;
}

std::map<std::string, std::string> StringMap(const YAML::Node& n) {
  std::map<std::string, std::string> out;
  if (!n || !n.IsMap()) return out;
  for (const auto& kv : n) out[kv.first.as<std::string>()] = Scalar(kv.second);
  return out;
}

StatusOr<ProbeSpec> ParseProbe(const YAML::Node& n, const std::map<std::string, int>& ports,
                               const std::string& what) {
  ProbeSpec p;
  const YAML::Node get = At(n, {"httpGet"});
  if (!get) return Status::InvalidData(what + ": only httpGet probes are supported");
  p.path = Scalar(At(get, {"path"}), "/");
  std::string port = Scalar(At(get, {"port"}));
  if (auto it = ports.find(port); it != ports.end()) {
    p.port = it->second;
  } else {
    auto v = ParseNumber(port);
    if (!v) return Status::InvalidData(what + ".httpGet.port '" + port + "' is unknown");
    p.port = static_cast<int>(*v);
  }
  auto num = [&](const char* key, double fallback) {
    auto v = ParseNumber(Scalar(At(n, {key})));
    return v ? *v : fallback;
  };
  p.initial_delay_seconds = num("initialDelaySeconds", 0);
  p.period_seconds = num("periodSeconds", 10);
  p.timeout_seconds = num("timeoutSeconds", 1);
  p.failure_threshold = static_cast<int>(num("failureThreshold", 3));
  p.success_threshold = static_cast<int>(num("successThreshold", 1));
  return p;
}

StatusOr<ContainerSpec> ParseContainer(const YAML::Node& n) {
  ContainerSpec c;
  c.name = Scalar(At(n, {"name"}));
  c.image = Scalar(At(n, {"image"}));
  if (c.name.empty() || c.image.empty())
    return Status::InvalidData("container without name or image");
  std::map<std::string, int> ports;
  if (YAML::Node list = At(n, {"ports"}); list && list.IsSequence()) {
    for (const auto& p : list) {
      auto v = ParseNumber(Scalar(At(p, {"containerPort"})));
      if (!v) continue;
      if (c.port == 0) c.port = static_cast<int>(*v);
      if (At(p, {"name"})) ports[Scalar(At(p, {"name"}))] = static_cast<int>(*v);
    }
  }
  if (YAML::Node env = At(n, {"env"}); env && env.IsSequence()) {
    for (const auto& e : env) c.env.emplace_back(Scalar(At(e, {"name"})), Scalar(At(e, {"value"})));
  }
  const YAML::Node res = At(n, {"resources"});
  auto quantity = [&](const char* kind, const char* what, auto parse,
                      std::optional<int64_t>* out) -> Status {
    std::string q = Scalar(At(res, {kind, what}));
    if (q.empty()) return Status::Ok();
    *out = parse(q);
    if (!*out) {
      return Status::InvalidData("container " + c.name + ": resources." + kind + "." + what + " '" +
                                 q + "' is not a quantity");
    }
    return Status::Ok();
  };
  for (Status s : {quantity("requests", "cpu", ParseCpuMillis, &c.cpu_request_millis),
                   quantity("limits", "cpu", ParseCpuMillis, &c.cpu_limit_millis),
                   quantity("requests", "memory", ParseMemoryBytes, &c.memory_request_bytes),
                   quantity("limits", "memory", ParseMemoryBytes, &c.memory_limit_bytes)}) {
    if (!s.ok()) return s;
  }
  // The kubelet defaults a request to the limit when only the limit is set.
  if (!c.cpu_request_millis) c.cpu_request_millis = c.cpu_limit_millis;
  if (!c.memory_request_bytes) c.memory_request_bytes = c.memory_limit_bytes;
  for (auto [key, out] :
       {std::pair{"readinessProbe", &c.readiness}, std::pair{"livenessProbe", &c.liveness}}) {
    YAML::Node probe_node = At(n, {key});
    if (!probe_node) continue;
    auto probe = ParseProbe(probe_node, ports, key);
    if (!probe.ok()) return probe.status();
    *out = *probe;
  }
  return c;
}

}  // namespace

std::optional<int64_t> ParseCpuMillis(std::string_view q) {
  if (!q.empty() && q.back() == 'm') {
    auto v = ParseNumber(q.substr(0, q.size() - 1));
    if (!v) return std::nullopt;
    return static_cast<int64_t>(std::ceil(*v));
  }
  auto v = ParseNumber(q);
  if (!v) return std::nullopt;
  return static_cast<int64_t>(std::ceil(*v * 1000));
}

std::optional<int64_t> ParseMemoryBytes(std::string_view q) {
  static const std::pair<std::string_view, double> kSuffixes[] = {
      {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
      {"k", 1e3},     {"M", 1e6},        {"G", 1e9},           {"T", 1e12}};
  for (const auto& [suffix, factor] : kSuffixes) {
    if (q.size() > suffix.size() && q.substr(q.size() - suffix.size()) == suffix) {
      auto v = ParseNumber(q.substr(0, q.size() - suffix.size()));
      if (!v) return std::nullopt;
      return static_cast<int64_t>(std::ceil(*v * factor));
    }
  }
  auto v = ParseNumber(q);
  if (!v) return std::nullopt;
  return static_cast<int64_t>(std::ceil(*v));
}

std::string AppSpec::QosClass() const {
  bool any = false, guaranteed = true;
  for (const ContainerSpec& c : containers) {
    any = any || c.cpu_request_millis || c.cpu_limit_millis || c.memory_request_bytes ||
          c.memory_limit_bytes;
    guaranteed = guaranteed && c.cpu_limit_millis && c.memory_limit_bytes &&
                 c.cpu_request_millis == c.cpu_limit_millis &&
                 c.memory_request_bytes == c.memory_limit_bytes;
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

StatusOr<AppSpec> ParseDeployment(std::string_view yaml) {
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Status::InvalidData(std::string("not YAML: ") + e.what());
  }
  try {
    if (Scalar(At(doc, {"kind"})) != "Deployment") {
      return Status::InvalidData("kind is not Deployment");
    }
    AppSpec app;
    app.name = Scalar(At(doc, {"metadata", "name"}));
    if (app.name.empty()) return Status::InvalidData("metadata.name is missing");
    auto replicas = ParseNumber(Scalar(At(doc, {"spec", "replicas"}), "1"));
    if (!replicas) return Status::InvalidData("spec.replicas is not a number");
    app.replicas = static_cast<int>(*replicas);
    const YAML::Node tmpl = At(doc, {"spec", "template"});
    if (auto grace = ParseNumber(Scalar(At(tmpl, {"spec", "terminationGracePeriodSeconds"})))) {
      app.termination_grace_seconds = *grace;
    }
    app.labels = StringMap(At(tmpl, {"metadata", "labels"}));
    app.annotations = StringMap(At(tmpl, {"metadata", "annotations"}));
    const YAML::Node containers = At(tmpl, {"spec", "containers"});
    if (!containers || !containers.IsSequence() || containers.size() == 0) {
      return Status::InvalidData("spec.template.spec.containers is empty");
    }
    for (const auto& c : containers) {
      auto spec = ParseContainer(c);
      if (!spec.ok()) return spec.status();
      app.containers.push_back(*spec);
    }
    return app;
  } catch (const YAML::Exception& e) {
    return Status::InvalidData(std::string("unexpected shape: ") + e.what());
  }
}

}  // namespace podmeter::lab
