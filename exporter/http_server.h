// The HTTP endpoints: /metrics (the latest sample's exposition as SnapshotStore rendered it, gzip
// when asked, behind credentials when --web.config.file asks for them), /healthz (200 while the
// last complete sample is at most `healthz_max_age` old, 503 before the first and when the
// sampler stalls) and / (a short HTML index); TLS on all of them when configured. The decisions
// are in http_request.h, the request head's parsing in http_head.h.
//
// One thread runs an epoll loop over every connection (non-blocking sockets, OpenSSL on them for
// TLS): a connection costs a socket and its buffers, not a thread, so clients that hold
// connections open (slowloris, idle keep-alives) cannot keep a scrape waiting, and a scrape is a
// send of bytes already rendered. One per process.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "collectors/base/status.h"
#include "exporter/snapshot_store.h"
#include "exporter/web_config.h"

namespace podmeter {

/// Where to listen, from --listen.
struct ListenAddress {
  bool ipv6 = false;
  std::string host;  ///< a numeric address without brackets; empty: every IPv4 address
  uint16_t port = 0;
};

/// Parses "host:port", ":port", "port", "[v6]:port" ("localhost" is 127.0.0.1); InvalidData if
/// malformed.
StatusOr<ListenAddress> ParseListenAddress(const std::string& listen);

/// The server's bounds against hostile or careless clients.
struct HttpLimits {
  std::chrono::milliseconds head_timeout{2000};  ///< from accept to the head's last byte (TLS too)
  std::chrono::milliseconds send_stall{10000};   ///< an answer that makes no progress this long
  std::chrono::milliseconds linger{1000};        ///< reading what the client still sends, after
  size_t max_head_bytes = 8192;                  ///< a longer head gets 431
  size_t max_connections = 1024;  ///< at the cap the oldest still sending its head is dropped
  size_t max_verifying = 16;      ///< Basic passwords waiting for bcrypt; past it 429
  std::chrono::milliseconds verify_timeout{30000};  ///< a password's bcrypt, queue included
};

/// Connections the server closed before it had answered them, by why (all counted from start).
struct HttpDrops {
  std::atomic<uint64_t> head_timeout{0};    ///< the head did not arrive within head_timeout
  std::atomic<uint64_t> send_stall{0};      ///< the answer made no progress for send_stall
  std::atomic<uint64_t> connection_cap{0};  ///< at max_connections: the oldest head, or a new one
  std::atomic<uint64_t> auth_timeout{0};    ///< its password's bcrypt took over verify_timeout

  /// By the `reason` label of podmeter_http_connections_dropped_total.
  std::map<std::string, uint64_t> ByReason() const {
    return {{"auth_timeout", auth_timeout.load(std::memory_order_relaxed)},
            {"connection_cap", connection_cap.load(std::memory_order_relaxed)},
            {"head_timeout", head_timeout.load(std::memory_order_relaxed)},
            {"send_stall", send_stall.load(std::memory_order_relaxed)}};
  }
};

class HttpServer {
 public:
  /// Starts listening on `listen`, with TLS and credentials as `security` says (LoadWebConfig
  /// checked it). Errors name the address.
  static StatusOr<std::unique_ptr<HttpServer>> Start(
      const std::string& listen, std::shared_ptr<SnapshotStore> store,
      std::chrono::milliseconds healthz_max_age = std::chrono::seconds(10),
      WebSecurity security = {}, HttpLimits limits = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// The port actually bound (useful with port 0).
  int port() const { return port_; }
  /// Connections dropped so far (thread-safe; the loop counts them).
  const HttpDrops& drops() const { return *drops_; }

  class Loop;  // http_server.cc

 private:
  HttpServer() = default;
  std::shared_ptr<HttpDrops> drops_ = std::make_shared<HttpDrops>();
  std::unique_ptr<Loop> loop_;
  int port_ = 0;
};

}  // namespace podmeter
