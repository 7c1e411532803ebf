// The HTTP endpoints: /metrics (prometheus-cpp's exposer, gzip when asked, behind credentials when
// --web.config.file asks for them), /healthz (200 while the last complete sample is at most
// `healthz_max_age` old, 503 before the first and when the sampler stalls) and / (a short HTML
// index); TLS on all of them when configured. The decisions are in http_request.h. One per process.
#pragma once

#include <prometheus/exposer.h>

#include <chrono>
#include <memory>
#include <string>

#include "collectors/base/status.h"
#include "exporter/snapshot_store.h"
#include "exporter/web_config.h"

struct CivetCallbacks;

namespace podmeter {

struct ServerState;

class HttpServer {
 public:
  /// Starts listening on `listen` ("host:port", ":port" or "port"), with TLS and credentials as
  /// `security` says (LoadWebConfig checked it). Errors name the address.
  static StatusOr<std::unique_ptr<HttpServer>> Start(
      const std::string& listen, std::shared_ptr<SnapshotStore> store,
      std::chrono::milliseconds healthz_max_age = std::chrono::seconds(10),
      WebSecurity security = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// The port actually bound (useful with port 0).
  int port() const;

 private:
  HttpServer() = default;
  std::shared_ptr<SnapshotStore> store_;
  std::unique_ptr<ServerState> state_;
  std::unique_ptr<CivetCallbacks> callbacks_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

/// Converts a --listen value to civetweb's listening_ports syntax; InvalidData if malformed.
StatusOr<std::string> ToCivetListeningPorts(const std::string& listen);

}  // namespace podmeter
