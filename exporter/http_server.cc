#include "exporter/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>

#include "collectors/base/file_util.h"
#include "exporter/http_head.h"
#include "exporter/http_request.h"

namespace podmeter {

using Clock = std::chrono::steady_clock;

namespace {

constexpr char kIndexPage[] =
    "<!doctype html><html><head><title>podmeter</title></head><body>"
    "<h1>podmeter</h1><p>Per-pod and per-container CPU, throttling and memory from cgroups.</p>"
    "<ul><li><a href=\"/metrics\">/metrics</a></li><li><a href=\"/healthz\">/healthz</a></li></ul>"
    "</body></html>\n";
constexpr char kText[] = "text/plain; charset=utf-8";

// One client connection, from accept to close.
struct Connection {
  // kVerify: its Basic password is with the verifier thread (the fd out of the epoll set).
  enum class Phase { kHead, kVerify, kAnswer, kLinger };
  int fd = -1;
  SSL* ssl = nullptr;
  Phase phase = Phase::kHead;
  uint64_t serial = 0;  // accept order: the oldest is dropped first at the cap
  Clock::time_point
      until;             // kHead: the head's deadline; kAnswer: the next progress'; kLinger: close
  uint32_t events = 0;   // what epoll watches for it now
  std::string in;        // the head so far
  std::string out_head;  // the answer's status line and headers
  std::string own_body;  // a small page's body
  std::shared_ptr<const Exposition> exposition;  // keeps /metrics' bytes alive while they are sent
  std::string_view body;                         // what follows out_head (empty for HEAD)
  size_t sent = 0;                               // of out_head + body

  ~Connection() {
    if (ssl != nullptr) SSL_free(ssl);
    if (fd >= 0) ::close(fd);
  }
};

// Sets the answer: `body` must outlive the connection's answer phase (own_body or exposition).
void SetAnswer(Connection* c, const HttpDecision& d, int status, const char* reason,
               const char* type, std::string_view body, const std::string& extra = "") {
  c->out_head = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: " + type +
                "\r\nContent-Length: " + std::to_string(body.size()) +
                "\r\nCache-Control: no-store\r\n" + extra + "Connection: close\r\n\r\n";
  c->body = d.body ? body : std::string_view();
}

void SetOwnAnswer(Connection* c, const HttpDecision& d, int status, const char* reason,
                  const char* type, std::string body, const std::string& extra = "") {
  c->own_body = std::move(body);
  SetAnswer(c, d, status, reason, type, c->own_body, extra);
}

}  // namespace

struct ServerState {
  std::shared_ptr<SnapshotStore> store;
  std::chrono::milliseconds healthz_max_age{10000};
  WebSecurity security;
  HttpLimits limits;
  std::shared_ptr<HttpDrops> drops;
};

class HttpServer::Loop {
 public:
  Loop(ServerState state, SSL_CTX* ssl_ctx) : state_(std::move(state)), ssl_ctx_(ssl_ctx) {}
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  Status Listen(const ListenAddress& address, const std::string& listen);  // and epoll set up
  int port() const;
  void Start() {
    thread_ = std::thread([this] { Run(); });
    // bcrypt off the loop: only where Basic passwords are asked for.
    if (state_.security.auth != nullptr && state_.security.auth->has_basic_users()) {
      verifier_ = std::thread([this] { RunVerifier(); });
    }
  }

 private:
  void Run();
  void AcceptAll();
  bool MakeRoom();
  void Handle(Connection* c);
  void ReadHead(Connection* c);
  void Answer(Connection* c, std::string_view head, std::optional<bool> allowed = std::nullopt);
  void Verify(Connection* c, std::string_view authorization);
  void RunVerifier();
  void TakeVerified();
  void AnswerMetrics(Connection* c, const HttpDecision& d);
  void AnswerHealthz(Connection* c, const HttpDecision& d);
  void SendAnswer(Connection* c);
  void Linger(Connection* c);
  void Watch(Connection* c, uint32_t events);
  void Close(Connection* c);
  void Sweep();
  // One read or write of the connection, plain or TLS: > 0 bytes, 0 at EOF, -1 to wait (with
  // the events to wait for in *wait), -2 on an error.
  ssize_t Receive(Connection* c, char* buf, size_t n, uint32_t* wait);
  ssize_t Send(Connection* c, uint32_t* wait);

  ServerState state_;
  SSL_CTX* ssl_ctx_;  // owned; null: plain HTTP
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // written by ~Loop to stop Run
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::map<int, std::unique_ptr<Connection>> connections_;  // by fd
  uint64_t accepted_ = 0;

  // The verifier thread: Basic passwords that need bcrypt (Authenticator::Allows), so that the
  // loop answers every other client meanwhile. Results come back through verified_fd_.
  struct VerifyJob {
    int fd;
    uint64_t serial;  // the connection's: a closed fd's number may be taken again meanwhile
    std::string authorization;
    bool allowed = false;
  };
  std::thread verifier_;
  std::mutex verify_mu_;
  std::condition_variable verify_cv_;
  std::deque<VerifyJob> to_verify_;  // GUARDED_BY(verify_mu_)
  std::vector<VerifyJob> verified_;  // GUARDED_BY(verify_mu_)
  int verified_fd_ = -1;             // eventfd: the verifier wrote a result
  size_t verifying_ = 0;             // jobs given and not yet taken back (the loop's)
  bool accept_paused_ = false;       // out of fds: the listener is unwatched until the next sweep
};

namespace {

constexpr uint64_t kListenKey = ~uint64_t{0};
constexpr uint64_t kWakeKey = ~uint64_t{0} - 1;
constexpr uint64_t kVerifiedKey = ~uint64_t{0} - 2;

Status Errno(const std::string& what, const std::string& listen) {
  return Status::Unavailable("cannot listen on '" + listen + "': " + what + ": " +
                             std::strerror(errno));
}

// At most `wanted` connections, and fewer than half the fds podmeter may open.
size_t ConnectionCap(size_t wanted) {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return wanted;
  return std::max<size_t>(16, std::min<size_t>(wanted, r.rlim_cur / 2));
}

}  // namespace

Status HttpServer::Loop::Listen(const ListenAddress& address, const std::string& listen) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (address.ipv6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(address.port);
    if (::inet_pton(AF_INET6, address.host.c_str(), &a->sin6_addr) != 1) {
      return Status::InvalidData("--listen '" + listen + "': not an IPv6 address");
    }
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(address.port);
    a->sin_addr.s_addr = htonl(INADDR_ANY);
    if (!address.host.empty() && ::inet_pton(AF_INET, address.host.c_str(), &a->sin_addr) != 1) {
      return Status::InvalidData("--listen '" + listen + "': not an IPv4 address");
    }
    len = sizeof(*a);
  }
  listen_fd_ = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return Errno("socket", listen);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) return Errno("bind", listen);
  if (::listen(listen_fd_, 1024) != 0) return Errno("listen", listen);
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  verified_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0 || verified_fd_ < 0) return Errno("epoll", listen);
  epoll_event ev{EPOLLIN, {.u64 = kListenKey}};
  epoll_event wake{EPOLLIN, {.u64 = kWakeKey}};
  epoll_event verified{EPOLLIN, {.u64 = kVerifiedKey}};
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0 ||
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake) != 0 ||
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, verified_fd_, &verified) != 0) {
    return Errno("epoll_ctl", listen);
  }
  state_.limits.max_connections = ConnectionCap(state_.limits.max_connections);
  return Status::Ok();
}

int HttpServer::Loop::port() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

HttpServer::Loop::~Loop() {
  stop_ = true;
  if (thread_.joinable()) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  if (verifier_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(verify_mu_);
      to_verify_.clear();
    }
    verify_cv_.notify_all();
    verifier_.join();
  }
  connections_.clear();
  for (int fd : {listen_fd_, epoll_fd_, wake_fd_, verified_fd_}) {
    if (fd >= 0) ::close(fd);
  }
  if (ssl_ctx_ != nullptr) SSL_CTX_free(ssl_ctx_);
}

void HttpServer::Loop::Run() {
  epoll_event events[64];
  Clock::time_point next_sweep = Clock::now();
  while (!stop_) {
    int n = ::epoll_wait(epoll_fd_, events, 64, 100);
    for (int i = 0; i < n && !stop_; ++i) {
      const uint64_t key = events[i].data.u64;
      if (key == kListenKey) {
        AcceptAll();
      } else if (key == kVerifiedKey) {
        TakeVerified();
      } else if (key != kWakeKey) {
        auto it = connections_.find(static_cast<int>(key));
        if (it != connections_.end()) Handle(it->second.get());
      }
    }
    if (Clock::now() >= next_sweep) {
      Sweep();
      next_sweep = Clock::now() + std::chrono::milliseconds(100);
    }
  }
}

// Accepts what is waiting (at most 64 at a time, so that the others get their turn). At the cap
// a connection is accepted first and room made for it after, so that none is dropped for a
// connection that was not there.
void HttpServer::Loop::AcceptAll() {
  for (int i = 0; i < 64; ++i) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const bool out_of_fds = errno == EMFILE || errno == ENFILE;
      if (errno == EINTR || errno == ECONNABORTED || (out_of_fds && MakeRoom())) continue;
      if (out_of_fds && ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr) == 0) {
        accept_paused_ = true;  // until the next sweep, not a busy loop
      }
      return;
    }
    if (connections_.size() >= state_.limits.max_connections && !MakeRoom()) {
      ::close(fd);  // every connection is being answered: no room for another
      state_.drops->connection_cap.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    c->serial = ++accepted_;
    c->until = Clock::now() + state_.limits.head_timeout;
    if (ssl_ctx_ != nullptr) {
      c->ssl = SSL_new(ssl_ctx_);
      if (c->ssl == nullptr || SSL_set_fd(c->ssl, fd) != 1) continue;  // c closes fd
      SSL_set_accept_state(c->ssl);
    }
    Connection* raw = c.get();
    connections_[fd] = std::move(c);
    Watch(raw, EPOLLIN);
  }
}

// Closes the oldest connection still sending its head; false when there is none.
bool HttpServer::Loop::MakeRoom() {
  Connection* oldest = nullptr;
  for (auto& [fd, c] : connections_) {
    if (c->phase == Connection::Phase::kHead && (oldest == nullptr || c->serial < oldest->serial)) {
      oldest = c.get();
    }
  }
  if (oldest == nullptr) return false;
  Close(oldest);
  state_.drops->connection_cap.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void HttpServer::Loop::Handle(Connection* c) {
  switch (c->phase) {
    case Connection::Phase::kHead:
      ReadHead(c);
      break;
    case Connection::Phase::kVerify:
      break;  // out of the epoll set: nothing comes
    case Connection::Phase::kAnswer:
      SendAnswer(c);
      break;
    case Connection::Phase::kLinger:
      Linger(c);
      break;
  }
}

void HttpServer::Loop::ReadHead(Connection* c) {
  char buf[4096];
  const size_t max = state_.limits.max_head_bytes;
  while (true) {
    uint32_t wait = EPOLLIN;
    ssize_t n = Receive(c, buf, std::min(sizeof(buf), max + 1 - c->in.size()), &wait);
    if (n == -1) return Watch(c, wait);
    if (n <= 0) return Close(c);  // the client left, or TLS failed
    c->in.append(buf, static_cast<size_t>(n));
    if (size_t head = HeadLength(c->in); head > 0)
      return Answer(c, std::string_view(c->in).substr(0, head));
    if (c->in.size() > max) {
      HttpDecision d;
      SetOwnAnswer(c, d, 431, "Request Header Fields Too Large", kText,
                   "request head over " + std::to_string(max) + " bytes\n");
      c->phase = Connection::Phase::kAnswer;
      c->until = Clock::now() + state_.limits.send_stall;
      return SendAnswer(c);
    }
  }
}

// Decides the answer to a complete head and starts sending it; a Basic password that needs
// bcrypt goes to the verifier first (`allowed`: its answer, when it comes back).
void HttpServer::Loop::Answer(Connection* c, std::string_view head, std::optional<bool> allowed) {
  ParsedHead parsed = ParseHead(head);
  Authenticator* auth = state_.security.auth.get();
  if (parsed.error == 0 && !allowed && auth != nullptr && AsksForMetrics(parsed.request())) {
    std::optional<std::string_view> authorization = parsed.request().Header("Authorization");
    allowed = auth->Quick(authorization);
    if (!allowed) return Verify(c, *authorization);
  }
  HttpDecision d = parsed.error != 0 ? HttpDecision{parsed.error}
                   : allowed         ? DecideRequest(parsed.request(), *allowed)
                                     : DecideRequest(parsed.request(), auth);
  switch (d.status) {
    case 400:
      SetOwnAnswer(c, d, 400, "Bad Request", kText, "malformed request\n");
      break;
    case 401:
      SetOwnAnswer(c, d, 401, "Unauthorized", kText, "credentials required\n",
                   "WWW-Authenticate: " + state_.security.auth->Challenge() + "\r\n");
      break;
    case 404:
      SetOwnAnswer(c, d, 404, "Not Found", kText, "not found: see /\n");
      break;
    case 405:
      SetOwnAnswer(c, d, 405, "Method Not Allowed", kText, "GET or HEAD\n", "Allow: GET, HEAD\r\n");
      break;
    default:
      if (d.page == HttpDecision::Page::kMetrics) {
        AnswerMetrics(c, d);
      } else if (d.page == HttpDecision::Page::kHealthz) {
        AnswerHealthz(c, d);
      } else {
        SetAnswer(c, d, 200, "OK", "text/html; charset=utf-8", kIndexPage);
      }
  }
  c->in.clear();
  c->in.shrink_to_fit();
  c->phase = Connection::Phase::kAnswer;
  c->until = Clock::now() + state_.limits.send_stall;
  SendAnswer(c);
}

// Hands the password to the verifier thread, or answers 429 when max_verifying are there already.
void HttpServer::Loop::Verify(Connection* c, std::string_view authorization) {
  if (verifying_ >= state_.limits.max_verifying) {
    HttpDecision d;
    SetOwnAnswer(c, d, 429, "Too Many Requests", kText,
                 "too many passwords being checked; try again\n", "Retry-After: 1\r\n");
    c->phase = Connection::Phase::kAnswer;
    c->until = Clock::now() + state_.limits.send_stall;
    return SendAnswer(c);
  }
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  c->events = 0;
  c->phase = Connection::Phase::kVerify;
  c->until = Clock::now() + state_.limits.verify_timeout;
  ++verifying_;
  {
    std::lock_guard<std::mutex> lock(verify_mu_);
    to_verify_.push_back({c->fd, c->serial, std::string(authorization)});
  }
  verify_cv_.notify_one();
}

void HttpServer::Loop::RunVerifier() {
  std::unique_lock<std::mutex> lock(verify_mu_);
  while (true) {
    verify_cv_.wait(lock, [this] { return stop_ || !to_verify_.empty(); });
    if (stop_) return;
    VerifyJob job = std::move(to_verify_.front());
    to_verify_.pop_front();
    lock.unlock();
    job.allowed = state_.security.auth->Allows(job.authorization);  // bcrypt: the slow part
    lock.lock();
    verified_.push_back(std::move(job));
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(verified_fd_, &one, sizeof(one));
  }
}

// Answers the connections whose passwords came back (those still there: not timed out).
void HttpServer::Loop::TakeVerified() {
  uint64_t count = 0;
  [[maybe_unused]] ssize_t n = ::read(verified_fd_, &count, sizeof(count));
  std::vector<VerifyJob> jobs;
  {
    std::lock_guard<std::mutex> lock(verify_mu_);
    jobs.swap(verified_);
  }
  for (const VerifyJob& job : jobs) {
    --verifying_;
    auto it = connections_.find(job.fd);
    if (it == connections_.end()) continue;
    Connection* c = it->second.get();
    if (c->serial != job.serial || c->phase != Connection::Phase::kVerify) continue;
    Answer(c, std::string_view(c->in).substr(0, HeadLength(c->in)), job.allowed);
  }
}

// The latest sample's exposition as rendered once by the sampler, its gzip when asked (made here
// once for the sample when the sampler had no gzip client yet): a scrape copies nothing but the
// bytes it sends.
void HttpServer::Loop::AnswerMetrics(Connection* c, const HttpDecision& d) {
  c->exposition = d.gzip ? state_.store->LatestGzip() : state_.store->Latest();
  const bool zipped = d.gzip && !c->exposition->gzip.empty();
  SetAnswer(
      c, d, 200, "OK", "text/plain; version=0.0.4; charset=utf-8",
      zipped ? c->exposition->gzip : c->exposition->text,
      zipped ? "Vary: Accept-Encoding\r\nContent-Encoding: gzip\r\n" : "Vary: Accept-Encoding\r\n");
}

void HttpServer::Loop::AnswerHealthz(Connection* c, const HttpDecision& d) {
  if (state_.store->Fresh(state_.healthz_max_age)) {
    return SetAnswer(c, d, 200, "OK", kText, "ok\n");
  }
  SetAnswer(
      c, d, 503, "Service Unavailable", kText,
      state_.store->ready() ? "the last complete sample is too old\n" : "no complete sample yet\n");
}

void HttpServer::Loop::SendAnswer(Connection* c) {
  const size_t total = c->out_head.size() + c->body.size();
  while (c->sent < total) {
    uint32_t wait = EPOLLOUT;
    ssize_t n = Send(c, &wait);
    if (n == -1) return Watch(c, wait);
    if (n <= 0) return Close(c);
    c->sent += static_cast<size_t>(n);
    c->until = Clock::now() + state_.limits.send_stall;
  }
  // All sent: say so and read what the client still sends until it closes (closing with unread
  // bytes would reset the connection, and the client could lose the answer).
  if (c->ssl != nullptr) {
    ERR_clear_error();
    SSL_shutdown(c->ssl);
  }
  ::shutdown(c->fd, SHUT_WR);
  c->exposition.reset();
  c->own_body.clear();
  c->out_head.clear();
  c->body = {};
  c->phase = Connection::Phase::kLinger;
  c->until = Clock::now() + state_.limits.linger;
  Linger(c);
}

void HttpServer::Loop::Linger(Connection* c) {
  char buf[4096];
  for (int i = 0; i < 16; ++i) {
    ssize_t n = ::recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Watch(c, EPOLLIN);
    if (n <= 0) return Close(c);
  }
}

ssize_t HttpServer::Loop::Receive(Connection* c, char* buf, size_t n, uint32_t* wait) {
  if (c->ssl == nullptr) {
    ssize_t got = ::recv(c->fd, buf, n, MSG_DONTWAIT);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return -1;
    return got < 0 ? -2 : got;
  }
  ERR_clear_error();
  int got = SSL_read(c->ssl, buf, static_cast<int>(n));
  if (got > 0) return got;
  int e = SSL_get_error(c->ssl, got);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    *wait = e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT;
    return -1;
  }
  return e == SSL_ERROR_ZERO_RETURN ? 0 : -2;
}

ssize_t HttpServer::Loop::Send(Connection* c, uint32_t* wait) {
  std::string_view head = c->out_head, body = c->body;
  const size_t in_head = std::min(c->sent, head.size());
  head.remove_prefix(in_head);
  body.remove_prefix(c->sent - in_head);
  if (c->ssl == nullptr) {
    iovec iov[2] = {{const_cast<char*>(head.data()), head.size()},
                    {const_cast<char*>(body.data()), body.size()}};
    msghdr msg{};
    msg.msg_iov = head.empty() ? iov + 1 : iov;
    msg.msg_iovlen = head.empty() ? 1 : 2;
    ssize_t n = ::sendmsg(c->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return -1;
    return n < 0 ? -2 : n;
  }
  std::string_view piece = head.empty() ? body.substr(0, 1 << 16) : head;
  ERR_clear_error();
  int n = SSL_write(c->ssl, piece.data(), static_cast<int>(piece.size()));
  if (n > 0) return n;
  int e = SSL_get_error(c->ssl, n);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    *wait = e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT;
    return -1;
  }
  return -2;
}

void HttpServer::Loop::Watch(Connection* c, uint32_t events) {
  if (c->events == events) return;
  epoll_event ev{events, {.u64 = static_cast<uint64_t>(c->fd)}};
  int op = c->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (::epoll_ctl(epoll_fd_, op, c->fd, &ev) != 0) return Close(c);
  c->events = events;
}

void HttpServer::Loop::Close(Connection* c) {
  connections_.erase(c->fd);  // closing the fd removes it from the epoll set
}

// Drops connections past their deadline (a lingering one has been answered: not counted);
// listens again after running out of fds.
void HttpServer::Loop::Sweep() {
  const Clock::time_point now = Clock::now();
  for (auto it = connections_.begin(); it != connections_.end();) {
    const Connection& c = *it->second;
    if (c.until > now) {
      ++it;
      continue;
    }
    if (c.phase == Connection::Phase::kHead) {
      state_.drops->head_timeout.fetch_add(1, std::memory_order_relaxed);
    } else if (c.phase == Connection::Phase::kVerify) {
      state_.drops->auth_timeout.fetch_add(1, std::memory_order_relaxed);
    } else if (c.phase == Connection::Phase::kAnswer) {
      state_.drops->send_stall.fetch_add(1, std::memory_order_relaxed);
    }
    it = connections_.erase(it);
  }
  if (accept_paused_) {
    epoll_event ev{EPOLLIN, {.u64 = kListenKey}};
    accept_paused_ = ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0;
  }
}

StatusOr<ListenAddress> ParseListenAddress(const std::string& listen) {
  size_t colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  std::string port = colon == std::string::npos ? listen : listen.substr(colon + 1);
  uint64_t p = 0;
  if (!ParseUint64(port, &p) || p > 65535) {
    return Status::InvalidData("--listen '" + listen + "': expected [host]:port with port 0-65535");
  }
  ListenAddress a;
  a.port = static_cast<uint16_t>(p);
  if (host.empty() || host == "0.0.0.0") return a;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    a.ipv6 = true;
    a.host = host.substr(1, host.size() - 2);
    in6_addr v6{};
    if (::inet_pton(AF_INET6, a.host.c_str(), &v6) != 1) {
      return Status::InvalidData("--listen '" + listen + "': '" + a.host +
                                 "' is not an IPv6 address");
    }
    return a;
  }
  if (host.find(':') != std::string::npos) {
    return Status::InvalidData("--listen '" + listen + "': put IPv6 addresses in brackets");
  }
  a.host = host == "localhost" ? "127.0.0.1" : host;
  in_addr v4{};
  if (::inet_pton(AF_INET, a.host.c_str(), &v4) != 1) {
    return Status::InvalidData("--listen '" + listen + "': '" + host + "' is not an IPv4 address");
  }
  return a;
}

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& listen,
                                                        std::shared_ptr<SnapshotStore> store,
                                                        std::chrono::milliseconds healthz_max_age,
                                                        WebSecurity security, HttpLimits limits) {
  auto address = ParseListenAddress(listen);
  if (!address.ok()) return address.status();
  if (store == nullptr) store = std::make_shared<SnapshotStore>();  // an empty exposition
  SSL_CTX* ctx = nullptr;
  if (!security.cert_file.empty()) {
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr) return Status::Unavailable("TLS: cannot make an OpenSSL context");
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    static const unsigned char kSessionContext[] = "podmeter";
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
    if (Status s = ConfigureSslContext(security, ctx); !s.ok()) {
      SSL_CTX_free(ctx);
      return Status::InvalidData("TLS: " + s.message());
    }
  }
  const bool tls = ctx != nullptr;
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->loop_ = std::make_unique<Loop>(
      ServerState{std::move(store), healthz_max_age, std::move(security), limits, server->drops_},
      ctx);
  if (Status s = server->loop_->Listen(*address, listen); !s.ok()) {
    std::string why = s.message() + (tls ? " (TLS)" : "");
    return s.code() == Status::Code::kInvalidData ? Status::InvalidData(why)
                                                  : Status::Unavailable(why);
  }
  server->port_ = server->loop_->port();
  std::signal(SIGPIPE, SIG_IGN);  // OpenSSL writes with write(2): a closed peer is an error
  server->loop_->Start();
  return server;
}

HttpServer::~HttpServer() = default;

}  // namespace podmeter
