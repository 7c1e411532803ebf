#include "exporter/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "collectors/base/file_util.h"
#include "exporter/family_builder.h"
#include "exporter/http_request.h"
#include "exporter/text_format.h"

namespace podmeter {
namespace {

std::string Gunzip(const std::string& zipped) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return "inflateInit2 failed";
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zipped.data()));
  zs.avail_in = static_cast<uInt>(zipped.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return rc == Z_STREAM_END ? out : "inflate failed";
}

SnapshotStore::Families OneCounter(double value) {
  FamilyBuilder b;
  b.Counter("podmeter_test_total", "A test counter.", {{"pod", "a"}}, value);
  return b.Take();
}

TEST(SnapshotStore, PublishRendersTheTextOnceAndItsGzipWhileClientsAskForIt) {
  SnapshotStore store;
  EXPECT_FALSE(store.ready());
  EXPECT_EQ(store.Latest()->text, "");
  EXPECT_EQ(Gunzip(store.Latest()->gzip), "");
  store.Publish(OneCounter(1));
  std::shared_ptr<const Exposition> first = store.Latest();  // a scrape in flight
  EXPECT_TRUE(store.ready());
  EXPECT_EQ(first->text, SerializeText(OneCounter(1)));
  EXPECT_NE(first->text.find("podmeter_test_total{pod=\"a\"} 1\n"), std::string::npos);
  EXPECT_EQ(first->gzip, "");  // no client has asked for gzip: none made
  // The first gzip scrape compresses the latest text itself, once for this sample.
  std::shared_ptr<const Exposition> zipped = store.LatestGzip();
  EXPECT_EQ(Gunzip(zipped->gzip), first->text);
  EXPECT_EQ(store.LatestGzip().get(), zipped.get());
  EXPECT_EQ(store.Latest().get(), first.get());
  // From then on the sampler renders it with the text.
  store.Publish(OneCounter(2));
  EXPECT_EQ(Gunzip(store.Latest()->gzip), SerializeText(OneCounter(2)));
  EXPECT_EQ(store.LatestGzip().get(), store.Latest().get());
  EXPECT_EQ(first->text, SerializeText(OneCounter(1)));  // unchanged under the scrape that holds it
  EXPECT_EQ(store.Latest().get(), store.Latest().get());  // scrapes share it: no copy
}

TEST(ParseListenAddress, Forms) {
  auto text = [](const std::string& listen) {
    auto a = ParseListenAddress(listen);
    if (!a.ok()) return std::string("error");
    return std::string(a->ipv6 ? "v6 " : "v4 ") + a->host + " " + std::to_string(a->port);
  };
  EXPECT_EQ(text(":10101"), "v4  10101");
  EXPECT_EQ(text("10101"), "v4  10101");
  EXPECT_EQ(text("0.0.0.0:80"), "v4  80");
  EXPECT_EQ(text("127.0.0.1:9"), "v4 127.0.0.1 9");
  EXPECT_EQ(text("localhost:9"), "v4 127.0.0.1 9");
  EXPECT_EQ(text("[::1]:9"), "v6 ::1 9");
  EXPECT_EQ(text("[::]:0"), "v6 :: 0");
  EXPECT_EQ(text("::1:9"), "error");
  EXPECT_EQ(text("host:9"), "error");
  EXPECT_EQ(text("[nope]:9"), "error");
  EXPECT_EQ(text("host:"), "error");
  EXPECT_EQ(text(":65536"), "error");
  EXPECT_EQ(text("abc"), "error");
}

}  // namespace
}  // namespace podmeter

namespace podmeter {
namespace {

// The status code of GET `path` on 127.0.0.1:`port`, or -1.
int GetStatus(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    std::string request = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buf[256];
      ssize_t n;
      while (answer.size() < 12 && (n = ::recv(fd, buf, sizeof(buf), 0)) > 0) answer.append(buf, n);
    }
  }
  ::close(fd);
  return answer.size() >= 12 && answer.rfind("HTTP/1.", 0) == 0 ? std::atoi(answer.c_str() + 9)
                                                                : -1;
}

TEST(HttpServer, HealthzFailsWhenTheLastSampleIsTooOld) {
  auto store = std::make_shared<SnapshotStore>();
  auto server = HttpServer::Start("127.0.0.1:0", store, std::chrono::milliseconds(2000));
  ASSERT_TRUE(server.ok()) << server.status().message();
  const int port = server.value()->port();
  EXPECT_EQ(GetStatus(port, "/healthz"), 503);  // no sample yet
  store->Publish({});
  EXPECT_EQ(GetStatus(port, "/healthz"), 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // the sampler stalled
  EXPECT_EQ(GetStatus(port, "/healthz"), 503);
  store->Publish({});
  EXPECT_EQ(GetStatus(port, "/healthz"), 200);
}

}  // namespace
}  // namespace podmeter

namespace podmeter {
namespace {

int Connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{20, 0};  // a bound for a broken server, not a measurement
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Everything the server sends on `fd` after `request` until it closes ("" on a timeout).
std::string Exchange(int fd, const std::string& request) {
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string answer;
  char buf[65536];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) answer.append(buf, static_cast<size_t>(n));
  return n == 0 ? answer : "";
}

int Threads() {
  auto status = ReadFileToString("/proc/self/status");
  size_t at = status.ok() ? status->find("Threads:") : std::string::npos;
  return at == std::string::npos ? -1 : std::atoi(status->c_str() + at + 8);
}

TEST(HttpServer, OneThreadServesEveryConnection) {
  auto store = std::make_shared<SnapshotStore>();
  store->Publish(OneCounter(7));
  const int before = Threads();
  auto server = HttpServer::Start("127.0.0.1:0", store);
  ASSERT_TRUE(server.ok()) << server.status().message();
  EXPECT_EQ(Threads(), before + 1);
  std::vector<int> idle;  // 100 connections that send nothing
  for (int i = 0; i < 100; ++i) idle.push_back(Connect(server.value()->port()));
  int fd = Connect(server.value()->port());
  std::string answer = Exchange(fd, "GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  ::close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_EQ(answer.substr(answer.find("\r\n\r\n") + 4), store->Latest()->text);
  EXPECT_EQ(Threads(), before + 1);
  for (int i : idle) ::close(i);
}

// A gzip scrape is answered in gzip from the first one on, the sampler having made none yet, and
// a plain one with the text.
TEST(HttpServer, AGzipScrapeGetsGzipBeforeTheSamplerMakesAny) {
  auto store = std::make_shared<SnapshotStore>();
  store->Publish(OneCounter(7));
  ASSERT_EQ(store->Latest()->gzip, "");
  auto server = HttpServer::Start("127.0.0.1:0", store);
  ASSERT_TRUE(server.ok()) << server.status().message();
  auto get = [&](const std::string& extra) {
    int fd = Connect(server.value()->port());
    std::string answer = Exchange(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n");
    ::close(fd);
    return answer;
  };
  const std::string text = SerializeText(OneCounter(7));
  for (int i = 0; i < 2; ++i) {
    std::string zipped = get("Accept-Encoding: gzip\r\n");
    EXPECT_NE(zipped.find("\r\nContent-Encoding: gzip\r\n"), std::string::npos) << zipped;
    EXPECT_EQ(Gunzip(zipped.substr(zipped.find("\r\n\r\n") + 4)), text);
  }
  std::string plain = get("");
  EXPECT_EQ(plain.find("Content-Encoding"), std::string::npos) << plain;
  EXPECT_EQ(plain.substr(plain.find("\r\n\r\n") + 4), text);
  store->Publish(OneCounter(7));  // the sampler compresses from now on
  EXPECT_EQ(Gunzip(store->Latest()->gzip), text);
}

TEST(HttpServer, AtTheCapTheOldestHeadIsDropped) {
  auto store = std::make_shared<SnapshotStore>();
  HttpLimits limits;
  limits.max_connections = 16;  // the least the server takes
  auto server = HttpServer::Start("127.0.0.1:0", store, std::chrono::seconds(10), {}, limits);
  ASSERT_TRUE(server.ok()) << server.status().message();
  std::vector<int> idle;
  for (int i = 0; i < 20; ++i) idle.push_back(Connect(server.value()->port()));
  int fd = Connect(server.value()->port());
  EXPECT_EQ(Exchange(fd, "GET /healthz HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 503 ", 0), 0u);
  ::close(fd);
  char c;
  EXPECT_EQ(::recv(idle.front(), &c, 1, 0), 0);  // the first idle one was closed for the others
  // 21 connections, 16 at a time: 5 dropped, each counted (by the cap, or by its head deadline on
  // a machine slow enough to reach it), none for a connection that was not there.
  const HttpDrops& drops = server.value()->drops();
  EXPECT_EQ(drops.connection_cap + drops.head_timeout, 5u);
  EXPECT_EQ(drops.send_stall, 0u);
  for (int i : idle) ::close(i);
}

TEST(HttpServer, ClosesAHeadThatDoesNotArriveInTime) {
  auto store = std::make_shared<SnapshotStore>();
  HttpLimits limits;
  limits.head_timeout = std::chrono::milliseconds(200);
  auto server = HttpServer::Start("127.0.0.1:0", store, std::chrono::seconds(10), {}, limits);
  ASSERT_TRUE(server.ok()) << server.status().message();
  int fd = Connect(server.value()->port());
  EXPECT_EQ(Exchange(fd, "GET /metrics HTTP/1.1\r\n"), "");  // closed without an answer
  ::close(fd);
  EXPECT_EQ(
      server.value()->drops().ByReason(),
      (std::map<std::string, uint64_t>{
          {"auth_timeout", 0}, {"connection_cap", 0}, {"head_timeout", 1}, {"send_stall", 0}}));
}

TEST(HttpServer, AnswersBadHeads) {
  auto store = std::make_shared<SnapshotStore>();
  auto server = HttpServer::Start("127.0.0.1:0", store);
  ASSERT_TRUE(server.ok()) << server.status().message();
  auto status_of = [&](const std::string& request) {
    int fd = Connect(server.value()->port());
    std::string answer = Exchange(fd, request);
    ::close(fd);
    return answer.substr(0, answer.find("\r\n"));
  };
  EXPECT_EQ(status_of("GET /metrics HTTP/1.1\r\nX: " + std::string(10000, 'a') + "\r\n\r\n"),
            "HTTP/1.1 431 Request Header Fields Too Large");
  EXPECT_EQ(status_of("GET /metrics\r\n\r\n"), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_of("POST /metrics HTTP/1.1\r\n\r\n"), "HTTP/1.1 405 Method Not Allowed");
  EXPECT_EQ(status_of("GET /nope HTTP/1.0\r\n\r\n"), "HTTP/1.1 404 Not Found");
  EXPECT_EQ(status_of("GET http://h:1/%68ealthz HTTP/1.1\n\n"), "HTTP/1.1 503 Service Unavailable");
  std::string head = "HEAD / HTTP/1.1\r\n\r\n";
  int fd = Connect(server.value()->port());
  std::string answer = Exchange(fd, head);
  ::close(fd);
  EXPECT_EQ(answer.size(), answer.find("\r\n\r\n") + 4) << answer;  // no body for HEAD
}

// bcrypt runs off the loop: while wrong passwords wait for it (a verifier held until the test
// lets it go), a client whose password is known good and a probe are answered; past
// max_verifying a wrong password gets 429 at once; let go, the waiting ones get 401.
TEST(HttpServer, PasswordsWaitingForBcryptHoldUpNoOtherClient) {
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  int checked = 0;
  auto verify = [&](const std::string&, const std::string& password) {
    std::unique_lock<std::mutex> lock(mu);
    ++checked;
    cv.notify_all();
    if (password == "right") return true;
    cv.wait(lock, [&] { return released; });
    return false;
  };
  auto release = [&] {
    std::lock_guard<std::mutex> lock(mu);
    released = true;
    cv.notify_all();
  };
  WebSecurity security;
  security.auth = std::make_shared<Authenticator>(
      std::map<std::string, std::string>{{"alice", "h"}}, "", verify);
  HttpLimits limits;
  limits.max_verifying = 2;
  auto store = std::make_shared<SnapshotStore>();
  store->Publish(OneCounter(3));
  auto server = HttpServer::Start("127.0.0.1:0", store, std::chrono::seconds(10), security, limits);
  ASSERT_TRUE(server.ok()) << server.status().message();
  // Destroyed before the server: lets a held check go even when an ASSERT returns early (the
  // server joins its verifier thread).
  struct Release {
    std::function<void()> fn;
    ~Release() { fn(); }
  } release_at_exit{release};
  const int port = server.value()->port();
  auto get = [&](int fd, const char* basic) {  // base64 of "alice:<password>"
    return Exchange(
        fd, std::string("GET /metrics HTTP/1.1\r\nAuthorization: Basic ") + basic + "\r\n\r\n");
  };
  const char kRight[] = "YWxpY2U6cmlnaHQ=";  // alice:right
  const char kWrong[] = "YWxpY2U6d3Jvbmc=";  // alice:wrong
  int fd = Connect(port);
  EXPECT_EQ(get(fd, kRight).rfind("HTTP/1.1 200 OK\r\n", 0), 0u);  // checked once, remembered
  ::close(fd);
  std::vector<int> waiting;
  for (int i = 0; i < 2; ++i) {
    waiting.push_back(Connect(port));
    const std::string request =
        std::string("GET /metrics HTTP/1.1\r\nAuthorization: Basic ") + kWrong + "\r\n\r\n";
    ::send(waiting.back(), request.data(), request.size(), MSG_NOSIGNAL);
  }
  {
    std::unique_lock<std::mutex> lock(mu);  // the first wrong one is in bcrypt
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return checked == 2; }));
  }
  fd = Connect(port);
  std::string busy = get(fd, kWrong);  // two are waiting already
  ::close(fd);
  fd = Connect(port);
  std::string good = get(fd, kRight);
  ::close(fd);
  const int probe = GetStatus(port, "/healthz");
  release();
  std::vector<std::string> refused;
  for (int w : waiting) {
    std::string answer;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(w, buf, sizeof(buf), 0)) > 0) answer.append(buf, static_cast<size_t>(n));
    refused.push_back(answer.substr(0, answer.find("\r\n")));
    ::close(w);
  }
  EXPECT_EQ(busy.rfind("HTTP/1.1 429 Too Many Requests\r\n", 0), 0u) << busy;
  EXPECT_NE(busy.find("Retry-After: 1\r\n"), std::string::npos) << busy;
  EXPECT_EQ(good.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << good;
  EXPECT_EQ(probe, 200);
  EXPECT_EQ(refused, (std::vector<std::string>(2, "HTTP/1.1 401 Unauthorized")));
  EXPECT_EQ(checked, 3);  // right once, the two waiting wrong ones; not the refused one
}

}  // namespace
}  // namespace podmeter
