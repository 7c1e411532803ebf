// A small client of the Kubernetes API for the lab's cluster mode: the admin kubeconfig's server
// and client certificate (file paths, as scripts/cluster writes them), JSON in and out over
// libcurl. Thread-safe (one curl handle per request).
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "collectors/base/status.h"

namespace podmeter::lab {

struct KubeConfig {
  std::string server;  ///< https://198.18.0.1:6443
  std::string ca_file, cert_file, key_file;
};

/// The current context's cluster and user of a kubeconfig (YAML text). Only file references
/// (certificate-authority, client-certificate, client-key) are supported; errors name the field.
StatusOr<KubeConfig> ParseKubeConfig(std::string_view yaml);

class KubeApi {
 public:
  explicit KubeApi(KubeConfig config) : config_(std::move(config)) {}

  /// GET `path` (e.g. /api/v1/namespaces/x/pods?labelSelector=…); the body as JSON. NotFound on
  /// 404, Unavailable on a transport failure, InvalidData on another status (with the message).
  StatusOr<nlohmann::json> Get(const std::string& path) const;
  /// GET `path` whose answer is text (a node's /metrics through the API server's proxy).
  StatusOr<std::string> GetText(const std::string& path) const;
  /// PATCH with a strategic-merge (`kind` "strategic") or JSON-merge ("merge") patch.
  StatusOr<nlohmann::json> Patch(const std::string& path, const nlohmann::json& patch,
                                 const std::string& kind = "strategic") const;
  StatusOr<nlohmann::json> Post(const std::string& path, const nlohmann::json& body) const;
  StatusOr<nlohmann::json> Put(const std::string& path, const nlohmann::json& body) const;
  /// DELETE with optional DeleteOptions (e.g. {"gracePeriodSeconds": 0}); NotFound on 404.
  StatusOr<nlohmann::json> Delete(const std::string& path,
                                  const nlohmann::json& options = nullptr) const;

 private:
  struct Answer {
    long code = 0;
    std::string body;
  };
  StatusOr<Answer> Send(const char* method, const std::string& path, const std::string& body,
                        const std::string& content_type, const char* accept) const;
  StatusOr<nlohmann::json> Request(const char* method, const std::string& path,
                                   const std::string& body, const std::string& content_type) const;
  KubeConfig config_;
};

/// "app.kubernetes.io/name=go-api" → "app.kubernetes.io%2Fname%3Dgo-api" (for a query string).
std::string UrlEncode(std::string_view text);

}  // namespace podmeter::lab
