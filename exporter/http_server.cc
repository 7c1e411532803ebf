#include "exporter/http_server.h"

#include <CivetServer.h>
#include <civetweb.h>
#include <strings.h>

#include <atomic>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "collectors/base/file_util.h"
#include "exporter/text_format.h"

namespace podmeter {
namespace {

// civetweb's begin_request callback gets no user pointer of ours (the exposer's CivetServer owns
// the context's), so the one server of the process registers its store here.
std::atomic<SnapshotStore*> g_store{nullptr};
std::atomic<int64_t> g_healthz_max_age_ms{10000};

constexpr char kIndexPage[] =
    "<!doctype html><html><head><title>podmeter</title></head><body>"
    "<h1>podmeter</h1><p>Per-pod and per-container CPU, throttling and memory from cgroups.</p>"
    "<ul><li><a href=\"/metrics\">/metrics</a></li><li><a href=\"/healthz\">/healthz</a></li></ul>"
    "</body></html>\n";

void Reply(mg_connection* conn, int status, const char* reason, const char* type,
           const char* body) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n%s",
            status, reason, type, std::strlen(body), body);
}

bool AcceptsGzip(const mg_request_info* info) {
  for (int i = 0; i < info->num_headers; ++i) {
    if (strcasecmp(info->http_headers[i].name, "Accept-Encoding") == 0 &&
        std::strstr(info->http_headers[i].value, "gzip") != nullptr) {
      return true;
    }
  }
  return false;
}

// /metrics: the latest snapshot in podmeter's own exact text format, gzip when asked.
int ServeMetrics(mg_connection* conn, const mg_request_info* info) {
  SnapshotStore* store = g_store.load();
  std::string body = store != nullptr ? SerializeText(store->Collect()) : std::string();
  const char* encoding = "";
  if (AcceptsGzip(info)) {
    std::string zipped = Gzip(body);
    if (!zipped.empty()) {
      body.swap(zipped);
      encoding = "Content-Encoding: gzip\r\n";
    }
  }
  mg_printf(conn,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            "%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
            encoding, body.size());
  mg_write(conn, body.data(), body.size());
  return 200;
}

// Serves /, /healthz and /metrics; returns 0 to let civetweb answer everything else (404s).
int BeginRequest(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  if (info == nullptr || info->local_uri == nullptr) return 0;
  std::string_view uri = info->local_uri;
  if (uri == "/metrics") return ServeMetrics(conn, info);
  if (uri == "/") {
    Reply(conn, 200, "OK", "text/html; charset=utf-8", kIndexPage);
    return 200;
  }
  if (uri == "/healthz") {
    SnapshotStore* store = g_store.load();
    if (store != nullptr && store->Fresh(std::chrono::milliseconds(g_healthz_max_age_ms.load()))) {
      Reply(conn, 200, "OK", "text/plain; charset=utf-8", "ok\n");
      return 200;
    }
    Reply(conn, 503, "Service Unavailable", "text/plain; charset=utf-8",
          store != nullptr && store->ready() ? "the last complete sample is too old\n"
                                             : "no complete sample yet\n");
    return 503;
  }
  return 0;
}

// civetweb (1.15) gives each connection a worker thread from accept to close, all threads started
// up front; a connection waiting in the queue waits for a worker. So the defence against clients
// that hold connections (slowloris, idle keep-alives, leaky pools) is: more workers than such
// connections (kWorkers; measured ~80 KiB of RSS per worker under load), a short time to send the
// request head (request_timeout_ms: the whole head must arrive within it; a scrape answer is only
// bounded per send), no keep-alive (every answer closes), a bounded accept queue and backlog, and a
// request head of at most 8 KiB (longer ones get 413 or 431).
constexpr char kWorkers[] = "768";
constexpr char kHeadTimeoutMs[] = "2000";
constexpr char kQueue[] = "1024";
constexpr char kMaxRequestBytes[] = "8192";

std::vector<std::string> CivetOptions(const std::string& ports) {
  return {"listening_ports",    ports,           "num_threads",       kWorkers,
          "request_timeout_ms", kHeadTimeoutMs,  "enable_keep_alive", "no",
          "connection_queue",   kQueue,          "listen_backlog",    kQueue,
          "max_request_size",   kMaxRequestBytes};
}

}  // namespace

StatusOr<std::string> ToCivetListeningPorts(const std::string& listen) {
  std::string s = listen;
  size_t colon = s.rfind(':');
  std::string host = colon == std::string::npos ? "" : s.substr(0, colon);
  std::string port = colon == std::string::npos ? s : s.substr(colon + 1);
  uint64_t p = 0;
  if (!ParseUint64(port, &p) || p > 65535) {
    return Status::InvalidData("--listen '" + listen + "': expected [host]:port with port 0-65535");
  }
  if (host.empty() || host == "0.0.0.0") return port;
  bool bracketed = host.front() == '[' && host.back() == ']';  // an IPv6 address, kept as is
  if (!bracketed && host.find(':') != std::string::npos) {
    return Status::InvalidData("--listen '" + listen + "': put IPv6 addresses in brackets");
  }
  if (host == "localhost") host = "127.0.0.1";
  return host + ":" + port;
}

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& listen,
                                                        std::shared_ptr<SnapshotStore> store,
                                                        std::chrono::milliseconds healthz_max_age) {
  auto ports = ToCivetListeningPorts(listen);
  if (!ports.ok()) return ports.status();
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->store_ = std::move(store);
  server->callbacks_ = std::make_unique<CivetCallbacks>();
  server->callbacks_->begin_request = &BeginRequest;
  g_store = server->store_.get();
  g_healthz_max_age_ms = healthz_max_age.count();
  try {
    server->exposer_ =
        std::make_unique<prometheus::Exposer>(CivetOptions(*ports), server->callbacks_.get());
  } catch (const std::exception& e) {
    g_store = nullptr;
    return Status::Unavailable("cannot listen on '" + listen + "': " + e.what());
  }
  return server;
}

HttpServer::~HttpServer() {
  exposer_.reset();
  g_store = nullptr;
}

int HttpServer::port() const {
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace podmeter
