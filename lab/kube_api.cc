#include "lab/kube_api.h"

#include <curl/curl.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>

#include "collectors/http/http_client.h"

namespace podmeter::lab {
namespace {

// The entry of a kubeconfig list ("clusters", "users", "contexts") named `name`, field `field`.
YAML::Node Named(const YAML::Node& root, const char* list, const std::string& name,
                 const char* field) {
  for (const auto& entry : root[list]) {
    if (entry["name"] && entry["name"].as<std::string>() == name) return entry[field];
  }
  return YAML::Node();
}

std::string Str(const YAML::Node& n, const char* key) {
  return n && n[key] && n[key].IsScalar() ? n[key].as<std::string>() : "";
}

}  // namespace

StatusOr<KubeConfig> ParseKubeConfig(std::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Status::InvalidData(std::string("kubeconfig is not YAML: ") + e.what());
  }
  if (!root.IsMap()) return Status::InvalidData("kubeconfig is not a mapping");
  std::string context = Str(root, "current-context");
  if (context.empty()) return Status::InvalidData("kubeconfig has no current-context");
  YAML::Node ctx = Named(root, "contexts", context, "context");
  if (!ctx) return Status::InvalidData("kubeconfig has no context " + context);
  YAML::Node cluster = Named(root, "clusters", Str(ctx, "cluster"), "cluster");
  YAML::Node user = Named(root, "users", Str(ctx, "user"), "user");
  KubeConfig c{Str(cluster, "server"), Str(cluster, "certificate-authority"),
               Str(user, "client-certificate"), Str(user, "client-key")};
  if (c.server.empty()) return Status::InvalidData("kubeconfig: cluster has no server");
  if (c.ca_file.empty()) return Status::InvalidData("kubeconfig: no certificate-authority file");
  if (c.cert_file.empty() || c.key_file.empty()) {
    return Status::InvalidData("kubeconfig: user has no client-certificate/client-key files");
  }
  return c;
}

std::string UrlEncode(std::string_view text) {
  std::string out;
  for (unsigned char ch : text) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", ch);
      out += buf;
    }
  }
  return out;
}

StatusOr<KubeApi::Answer> KubeApi::Send(const char* method, const std::string& path,
                                        const std::string& body, const std::string& content_type,
                                        const char* accept) const {
  InitCurlOnce();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return Status::IoError("curl_easy_init failed");
  std::string url = config_.server + path;
  CurlBody sink;
  sink.max_bytes = size_t{64} << 20;
  char errbuf[CURL_ERROR_SIZE] = {0};
  SetCommonCurlOptions(curl, url, "https", std::chrono::seconds(20), std::chrono::seconds(5), &sink,
                       errbuf);
  curl_easy_setopt(curl, CURLOPT_CAINFO, config_.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_SSLCERT, config_.cert_file.c_str());
  curl_easy_setopt(curl, CURLOPT_SSLKEY, config_.key_file.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  curl_slist* headers = curl_slist_append(nullptr, (std::string("Accept: ") + accept).c_str());
  if (!content_type.empty()) {
    headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  CURLcode rc = curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(curl);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) return Status::Unavailable(std::string(method) + " " + path + ": " + errbuf);
  return Answer{code, std::move(sink.data)};
}

StatusOr<nlohmann::json> KubeApi::Request(const char* method, const std::string& path,
                                          const std::string& body,
                                          const std::string& content_type) const {
  auto answer = Send(method, path, body, content_type, "application/json");
  if (!answer.ok()) return answer.status();
  std::string what = std::string(method) + " " + path;
  nlohmann::json doc = nlohmann::json::parse(answer->body, nullptr, false);
  if (answer->code == 404) return Status::NotFound(what + ": not found");
  if (answer->code < 200 || answer->code >= 300) {
    std::string message = doc.is_object() ? doc.value("message", "") : answer->body.substr(0, 300);
    return Status::InvalidData(what + ": HTTP " + std::to_string(answer->code) + ": " + message);
  }
  if (doc.is_discarded()) return Status::InvalidData(what + ": the answer is not JSON");
  return doc;
}

StatusOr<std::string> KubeApi::GetText(const std::string& path) const {
  auto answer = Send("GET", path, "", "", "text/plain");
  if (!answer.ok()) return answer.status();
  if (answer->code == 404) return Status::NotFound("GET " + path + ": not found");
  if (answer->code < 200 || answer->code >= 300) {
    return Status::InvalidData("GET " + path + ": HTTP " + std::to_string(answer->code) + ": " +
                               answer->body.substr(0, 300));
  }
  return std::move(answer->body);
}

StatusOr<nlohmann::json> KubeApi::Get(const std::string& path) const {
  return Request("GET", path, "", "");
}

StatusOr<nlohmann::json> KubeApi::Patch(const std::string& path, const nlohmann::json& patch,
                                        const std::string& kind) const {
  return Request(
      "PATCH", path, patch.dump(),
      kind == "merge" ? "application/merge-patch+json" : "application/strategic-merge-patch+json");
}

StatusOr<nlohmann::json> KubeApi::Post(const std::string& path, const nlohmann::json& body) const {
  return Request("POST", path, body.dump(), "application/json");
}

StatusOr<nlohmann::json> KubeApi::Put(const std::string& path, const nlohmann::json& body) const {
  return Request("PUT", path, body.dump(), "application/json");
}

StatusOr<nlohmann::json> KubeApi::Delete(const std::string& path,
                                         const nlohmann::json& options) const {
  return Request("DELETE", path, options.is_null() ? "" : options.dump(),
                 options.is_null() ? "" : "application/json");
}

}  // namespace podmeter::lab
