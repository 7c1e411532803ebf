#include "exporter/http_server.h"

#include <CivetServer.h>
#include <civetweb.h>
#include <dlfcn.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "collectors/base/file_util.h"
#include "exporter/http_request.h"

namespace podmeter {

struct ServerState {
  SnapshotStore* store = nullptr;
  std::chrono::milliseconds healthz_max_age{10000};
  WebSecurity security;
};

namespace {

// civetweb's callbacks get no user pointer of ours (the exposer's CivetServer owns the
// context's), so the one server of the process registers its state here.
std::atomic<ServerState*> g_state{nullptr};

constexpr char kIndexPage[] =
    "<!doctype html><html><head><title>podmeter</title></head><body>"
    "<h1>podmeter</h1><p>Per-pod and per-container CPU, throttling and memory from cgroups.</p>"
    "<ul><li><a href=\"/metrics\">/metrics</a></li><li><a href=\"/healthz\">/healthz</a></li></ul>"
    "</body></html>\n";

// A whole answer; `extra` is more header lines, each ending in \r\n.
void Reply(mg_connection* conn, const HttpDecision& d, int status, const char* reason,
           const char* type, const std::string& body, const std::string& extra = "") {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\n%sConnection: close\r\n\r\n",
            status, reason, type, body.size(), extra.c_str());
  if (d.body) mg_write(conn, body.data(), body.size());
}

// /metrics: the latest sample's exposition as rendered once by the sampler (podmeter's own exact
// text format), its gzip when asked; a scrape copies nothing but the bytes it sends.
int ServeMetrics(mg_connection* conn, const HttpDecision& d, SnapshotStore* store) {
  static const auto kNone = std::make_shared<const Exposition>();
  std::shared_ptr<const Exposition> e = store != nullptr ? store->Latest() : kNone;
  const bool zipped = d.gzip && !e->gzip.empty();
  Reply(
      conn, d, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", zipped ? e->gzip : e->text,
      zipped ? "Vary: Accept-Encoding\r\nContent-Encoding: gzip\r\n" : "Vary: Accept-Encoding\r\n");
  return 200;
}

int ServeHealthz(mg_connection* conn, const HttpDecision& d, const ServerState& state) {
  constexpr char kText[] = "text/plain; charset=utf-8";
  if (state.store != nullptr && state.store->Fresh(state.healthz_max_age)) {
    Reply(conn, d, 200, "OK", kText, "ok\n");
    return 200;
  }
  Reply(conn, d, 503, "Service Unavailable", kText,
        state.store != nullptr && state.store->ready() ? "the last complete sample is too old\n"
                                                       : "no complete sample yet\n");
  return 503;
}

// The request's parts as the pure decision (http_request.h) takes them.
HttpRequest ToRequest(const mg_request_info* info) {
  HttpRequest request;
  request.method = info->request_method != nullptr ? info->request_method : "";
  request.path = info->local_uri;
  for (int i = 0; i < info->num_headers; ++i) {
    const mg_header& h = info->http_headers[i];
    if (h.name != nullptr && h.value != nullptr) request.headers.push_back({h.name, h.value});
  }
  return request;
}

// Answers every request that civetweb parsed: /, /healthz, /metrics, else 404 or 405.
int BeginRequest(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  ServerState* state = g_state.load();
  if (info == nullptr || info->local_uri == nullptr || state == nullptr) return 0;
  const HttpDecision d = DecideRequest(ToRequest(info), state->security.auth.get());
  constexpr char kText[] = "text/plain; charset=utf-8";
  switch (d.status) {
    case 401:
      Reply(conn, d, 401, "Unauthorized", kText, "credentials required\n",
            "WWW-Authenticate: " + state->security.auth->Challenge() + "\r\n");
      return 401;
    case 404:
      Reply(conn, d, 404, "Not Found", kText, "not found: see /\n");
      return 404;
    case 405:
      Reply(conn, d, 405, "Method Not Allowed", kText, "GET or HEAD\n", "Allow: GET, HEAD\r\n");
      return 405;
    default:
      break;
  }
  if (d.page == HttpDecision::Page::kMetrics) return ServeMetrics(conn, d, state->store);
  if (d.page == HttpDecision::Page::kHealthz) return ServeHealthz(conn, d, *state);
  Reply(conn, d, 200, "OK", "text/html; charset=utf-8", kIndexPage);
  return 200;
}

// civetweb 1.15 dlopens "libssl.so" and "libcrypto.so" for TLS; podmeter's own two
// (civetweb_openssl3_shim.cc, in ../lib/podmeter/ beside the binary) are loaded first, so those
// names resolve to them by their SONAME. Kept loaded for the process's life.
Status LoadOpenSslShims() {
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return Status::Unavailable("TLS: cannot read /proc/self/exe");
  std::string dir(exe, static_cast<size_t>(n));
  dir = dir.substr(0, dir.rfind('/')) + "/../lib/podmeter/";
  for (const char* name : {"libcrypto.so", "libssl.so"}) {
    if (::dlopen((dir + name).c_str(), RTLD_NOW | RTLD_LOCAL) == nullptr) {
      const char* why = ::dlerror();
      return Status::InvalidData("TLS needs podmeter's OpenSSL 3 shim for civetweb: " +
                                 std::string(why != nullptr ? why : dir + name));
    }
  }
  return Status::Ok();
}

// civetweb's init_ssl: the certificate, key and TLS versions of --web.config.file (checked at
// start-up already). 1: done, -1: fail.
int InitSsl(void* ssl_ctx, void*) {
  ServerState* state = g_state.load();
  return state != nullptr && ConfigureSslContext(state->security, ssl_ctx).ok() ? 1 : -1;
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
                                                        std::chrono::milliseconds healthz_max_age,
                                                        WebSecurity security) {
  auto ports = ToCivetListeningPorts(listen);
  if (!ports.ok()) return ports.status();
  const bool tls = !security.cert_file.empty();
  if (tls) {
    if (Status s = LoadOpenSslShims(); !s.ok()) return s;
  }
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->store_ = std::move(store);
  server->state_ = std::make_unique<ServerState>(
      ServerState{server->store_.get(), healthz_max_age, std::move(security)});
  server->callbacks_ = std::make_unique<CivetCallbacks>();
  server->callbacks_->begin_request = &BeginRequest;
  if (tls) server->callbacks_->init_ssl = &InitSsl;
  g_state = server->state_.get();
  try {
    server->exposer_ = std::make_unique<prometheus::Exposer>(
        CivetOptions(*ports + (tls ? "s" : "")), server->callbacks_.get());
  } catch (const std::exception& e) {
    g_state = nullptr;
    return Status::Unavailable("cannot listen on '" + listen + "'" + (tls ? " with TLS" : "") +
                               ": " + e.what());
  }
  return server;
}

HttpServer::~HttpServer() {
  exposer_.reset();
  g_state = nullptr;
}

int HttpServer::port() const {
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace podmeter
