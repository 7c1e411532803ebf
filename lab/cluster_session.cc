#include "lab/cluster_session.h"

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "collectors/base/file_util.h"

namespace podmeter::lab {
namespace {

using nlohmann::json;

std::string Quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string Scalar(const YAML::Node& n) { return n && n.IsScalar() ? n.as<std::string>() : ""; }

// What PUT accepts back: the recorded object with the current resourceVersion, no status.
json PutBack(json before, const json& now) {
  before.erase("status");
  before["metadata"].erase("managedFields");
  before["metadata"]["resourceVersion"] = now["metadata"]["resourceVersion"];
  return before;
}

// What POST creates again: no uid, resourceVersion, creation time, status.
json CreateAgain(json before) {
  before.erase("status");
  for (const char* k :
       {"uid", "resourceVersion", "creationTimestamp", "managedFields", "generation"}) {
    before["metadata"].erase(k);
  }
  return before;
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

StatusOr<SelectedManifests> SelectManifests(std::string_view text,
                                            const std::vector<std::string>& apps) {
  // Documents are kept as written: re-emitting them through yaml-cpp would lose the quotes of
  // "true" and "8080" (annotations and env values that must stay strings).
  std::vector<std::string> chunks(1);
  for (std::string_view line : SplitLines(text)) {
    if (line == "---" || line.substr(0, 4) == "--- ") {
      chunks.emplace_back();
      continue;
    }
    chunks.back().append(line).append("\n");
  }
  SelectedManifests out;
  for (const std::string& chunk : chunks) {
    YAML::Node doc;
    try {
      doc = YAML::Load(chunk);
    } catch (const YAML::Exception& e) {
      return Status::InvalidData(std::string("the manifests are not YAML: ") + e.what());
    }
    if (!doc.IsMap() || Scalar(doc["kind"]).empty()) continue;
    YAML::Node meta = doc["metadata"] && doc["metadata"].IsMap() ? doc["metadata"] : YAML::Node();
    YAML::Node labels = meta.IsMap() && meta["labels"] ? meta["labels"] : YAML::Node();
    if (labels.IsMap() && Scalar(labels["app.kubernetes.io/component"]) == "reference-server" &&
        std::find(apps.begin(), apps.end(), Scalar(labels["app.kubernetes.io/name"])) ==
            apps.end()) {
      continue;
    }
    ObjectRef ref{Scalar(doc["kind"]),
                  meta.IsMap() ? Scalar(meta["namespace"]) : "",
                  meta.IsMap() ? Scalar(meta["name"]) : "",
                  {}};
    YAML::Node at = doc;
    for (const char* key : {"spec", "template", "spec", "containers"}) {
      at = at.IsMap() && at[key] ? at[key] : YAML::Node();
    }
    if (at.IsSequence()) {
      for (const auto& c : at) ref.images.push_back(Scalar(c["image"]));
    }
    out.objects.push_back(ref);
    out.yaml += "---\n" + chunk;
  }
  return out;
}

StatusOr<std::string> ObjectPath(const ObjectRef& ref) {
  static const std::map<std::string, std::pair<std::string, std::string>> kinds = {
      {"Namespace", {"/api/v1", "namespaces"}},
      {"ServiceAccount", {"/api/v1", "serviceaccounts"}},
      {"Service", {"/api/v1", "services"}},
      {"ConfigMap", {"/api/v1", "configmaps"}},
      {"Deployment", {"/apis/apps/v1", "deployments"}},
      {"DaemonSet", {"/apis/apps/v1", "daemonsets"}},
      {"HorizontalPodAutoscaler", {"/apis/autoscaling/v2", "horizontalpodautoscalers"}},
      {"ClusterRole", {"/apis/rbac.authorization.k8s.io/v1", "clusterroles"}},
      {"ClusterRoleBinding", {"/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings"}},
      {"Role", {"/apis/rbac.authorization.k8s.io/v1", "roles"}},
      {"RoleBinding", {"/apis/rbac.authorization.k8s.io/v1", "rolebindings"}}};
  auto it = kinds.find(ref.kind);
  if (it == kinds.end()) return Status::NotFound("the lab does not handle kind " + ref.kind);
  std::string path = it->second.first;
  if (!ref.namespace_name.empty()) path += "/namespaces/" + ref.namespace_name;
  return path + "/" + it->second.second + "/" + ref.name;
}

std::string NormalizedImage(const std::string& image) {
  std::string first = image.substr(0, image.find('/'));
  bool has_domain = image.find('/') != std::string::npos &&
                    (first.find('.') != std::string::npos || first.find(':') != std::string::npos ||
                     first == "localhost");
  if (has_domain) return image;
  if (image.find('/') == std::string::npos) return "docker.io/library/" + image;
  return "docker.io/" + image;
}

Status ClusterSession::Kubectl(const std::vector<std::string>& args, std::string* out) const {
  std::string cmd = Quoted(JoinPath(o_.repo, "scripts/cluster")) + " kubectl";
  for (const auto& a : args) cmd += " " + Quoted(a);
  cmd += " 2>>" + Quoted(JoinPath(o_.run_dir, "logs/kubectl.log"));
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return Status::IoError("cannot run scripts/cluster kubectl");
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), pipe)) > 0;) text.append(buf, n);
  int rc = ::pclose(pipe);
  if (out != nullptr) *out = text;
  if (rc != 0) {
    return Status::Unavailable("kubectl " + args.front() + " failed; see " + o_.run_dir +
                               "/logs/kubectl.log");
  }
  return Status::Ok();
}

Status ClusterSession::Check() {
  auto node = api_->Get("/api/v1/nodes/" + o_.node_name);
  if (!node.ok()) {
    return Status::Unavailable("the cluster does not answer (" + node.status().message() +
                               "): start it with scripts/cluster up");
  }
  bool ready = false;
  for (const auto& c : (*node)["status"].value("conditions", json::array())) {
    if (c.value("type", "") == "Ready") ready = c.value("status", "") == "True";
  }
  if (!ready) return Status::Unavailable("node " + o_.node_name + " is not Ready");
  std::string built;
  if (Status s = Kubectl({"kustomize", JoinPath(o_.repo, o_.stack)}, &built); !s.ok()) return s;
  auto selected = SelectManifests(built, o_.apps);
  if (!selected.ok()) return selected.status();
  manifests_ = *selected;
  // The kubelet lists the images in its node status (refreshed every few seconds): an image
  // imported a moment ago may take a while to appear.
  std::string missing;
  for (int attempt = 0; attempt < 90; ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      node = api_->Get("/api/v1/nodes/" + o_.node_name);
      if (!node.ok()) return node.status();
    }
    std::vector<std::string> on_node;
    for (const auto& img : (*node)["status"].value("images", json::array())) {
      for (const auto& n : img.value("names", json::array())) {
        on_node.push_back(n.get<std::string>());
      }
    }
    missing.clear();
    for (const ObjectRef& ref : manifests_.objects) {
      for (const std::string& image : ref.images) {
        if (std::find(on_node.begin(), on_node.end(), NormalizedImage(image)) == on_node.end()) {
          missing = image;
        }
      }
    }
    if (missing.empty()) return Status::Ok();
  }
  return Status::NotFound("the node has no image " + missing +
                          ": scripts/images build && scripts/images import");
}

Status ClusterSession::Apply() {
  before_.clear();
  json record = json::array();
  for (const ObjectRef& ref : manifests_.objects) {
    auto path = ObjectPath(ref);
    if (!path.ok()) return path.status();
    auto now = api_->Get(*path);
    if (!now.ok() && !now.status().IsNotFound()) return now.status();
    before_.push_back(now.ok() ? std::optional<json>(*now) : std::nullopt);
    json entry = {{"kind", ref.kind},
                  {"namespace", ref.namespace_name},
                  {"name", ref.name},
                  {"existed", now.ok()}};
    if (now.ok()) entry["object"] = *now;  // what `clean --cluster` puts back after a kill
    record.push_back(entry);
  }
  std::ofstream(JoinPath(o_.run_dir, "cluster-before.json")) << record.dump(2) << "\n";
  std::string file = JoinPath(o_.run_dir, "cluster-applied.yaml");
  std::ofstream(file) << manifests_.yaml;
  applied_ = true;  // from here on, Restore has something to do
  return Kubectl({"apply", "-f", file}, nullptr);
}

StatusOr<std::string> ClusterSession::WaitPodmeter(double timeout,
                                                   const std::function<bool()>& stop) {
  std::string ns;
  for (const ObjectRef& ref : manifests_.objects) {
    if (ref.kind == "DaemonSet") ns = ref.namespace_name;
  }
  double deadline = Now() + timeout;
  while (Now() < deadline && !stop()) {
    auto pods = api_->Get("/api/v1/namespaces/" + ns +
                          "/pods?labelSelector=" + UrlEncode("app.kubernetes.io/name=podmeter"));
    if (pods.ok()) {
      for (const auto& p : (*pods)["items"]) {
        if (p["metadata"].contains("deletionTimestamp")) continue;
        for (const auto& c : p["status"].value("conditions", json::array())) {
          if (c.value("type", "") == "Ready" && c.value("status", "") == "True") {
            return p["status"].value("podIP", "");
          }
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return Status::Unavailable("podmeter's DaemonSet pod was not Ready after " +
                             std::to_string(static_cast<int>(timeout)) + " s");
}

Status ClusterSession::WaitGone(const ObjectRef& ref, double timeout) const {
  auto path = ObjectPath(ref);
  if (!path.ok()) return path.status();
  double deadline = Now() + timeout;
  while (Now() < deadline) {
    auto now = api_->Get(*path);
    if (!now.ok() && now.status().IsNotFound()) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return Status::Unavailable(ref.kind + " " + ref.name + " still there after " +
                             std::to_string(static_cast<int>(timeout)) + " s");
}

Status ClusterSession::Restore() {
  if (!applied_ || restored_) return Status::Ok();
  restored_ = true;
  std::string problems;
  auto note = [&problems](const Status& s) {
    if (!s.ok()) problems += (problems.empty() ? "" : "; ") + s.message();
  };
  // Workloads first (back to their recorded spec or gone), the namespace last.
  std::optional<size_t> created_namespace;
  for (size_t i = 0; i < manifests_.objects.size(); ++i) {
    const ObjectRef& ref = manifests_.objects[i];
    auto path = ObjectPath(ref);
    if (!path.ok()) continue;
    const std::optional<json>& before = before_[i];
    if (!before) {
      if (ref.kind == "Namespace") {
        created_namespace = i;
        continue;
      }
      auto r = api_->Delete(*path, {{"propagationPolicy", "Background"}});
      if (!r.ok() && !r.status().IsNotFound()) note(r.status());
      continue;
    }
    if (ref.kind == "Namespace") continue;
    if (ref.kind == "HorizontalPodAutoscaler") {  // created again: its history is gone
      auto d = api_->Delete(*path);
      if (!d.ok() && !d.status().IsNotFound()) note(d.status());
      note(WaitGone(ref, 30));
      std::string list = path->substr(0, path->rfind('/'));
      auto r = api_->Post(list, CreateAgain(*before));
      if (!r.ok()) note(r.status());
      continue;
    }
    auto now = api_->Get(*path);
    auto r = now.ok() ? api_->Put(*path, PutBack(*before, *now))
                      : api_->Post(path->substr(0, path->rfind('/')), CreateAgain(*before));
    if (!r.ok()) note(r.status());
  }
  if (created_namespace) {
    const ObjectRef& ns = manifests_.objects[*created_namespace];
    auto r = api_->Delete(*ObjectPath(ns));
    if (!r.ok() && !r.status().IsNotFound()) note(r.status());
    note(WaitGone(ns, 120));
  }
  if (!problems.empty()) return Status::Unavailable("restoring the cluster: " + problems);
  // A later `clean --cluster` must not put these states back over newer ones.
  std::string file = JoinPath(o_.run_dir, "cluster-before.json");
  auto text = ReadFileToString(file);
  json record = json::parse(text.ok() ? *text : std::string(), nullptr, false);
  if (record.is_array()) {
    std::ofstream(file) << json{{"restored", true}, {"objects", record}}.dump(2) << "\n";
  } else if (record.is_object()) {
    record["restored"] = true;
    std::ofstream(file) << record.dump(2) << "\n";
  }
  return Status::Ok();
}

void ClusterSession::Resume(BeforeRecord record) {
  manifests_.objects = std::move(record.objects);
  before_ = std::move(record.before);
  applied_ = true;
  restored_ = false;
}

StatusOr<BeforeRecord> ParseBeforeRecord(const json& record) {
  BeforeRecord out;
  const json* list = &record;
  if (record.is_object()) {
    out.restored = record.value("restored", false);
    if (!record.contains("objects")) return Status::InvalidData("no objects");
    list = &record["objects"];
  }
  if (!list->is_array()) return Status::InvalidData("not a list of objects");
  for (const json& e : *list) {
    if (!e.is_object() || !e.contains("kind") || !e.contains("name")) {
      return Status::InvalidData("an entry without kind or name");
    }
    ObjectRef ref{e.value("kind", ""), e.value("namespace", ""), e.value("name", ""), {}};
    bool existed = e.value("existed", true);
    if (existed && !(e.contains("object") && e["object"].is_object())) {
      out.unknown.push_back(ref.kind + " " + ref.name);
      continue;
    }
    out.objects.push_back(ref);
    out.before.push_back(existed ? std::optional<json>(e["object"]) : std::nullopt);
  }
  return out;
}

}  // namespace podmeter::lab
