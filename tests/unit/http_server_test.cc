#include "exporter/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

namespace podmeter {
namespace {

TEST(ToCivetListeningPorts, Forms) {
  EXPECT_EQ(*ToCivetListeningPorts(":10101"), "10101");
  EXPECT_EQ(*ToCivetListeningPorts("10101"), "10101");
  EXPECT_EQ(*ToCivetListeningPorts("0.0.0.0:80"), "80");
  EXPECT_EQ(*ToCivetListeningPorts("127.0.0.1:9"), "127.0.0.1:9");
  EXPECT_EQ(*ToCivetListeningPorts("localhost:9"), "127.0.0.1:9");
  EXPECT_EQ(*ToCivetListeningPorts("[::1]:9"), "[::1]:9");
  EXPECT_FALSE(ToCivetListeningPorts("::1:9").ok());
  EXPECT_FALSE(ToCivetListeningPorts("host:").ok());
  EXPECT_FALSE(ToCivetListeningPorts(":65536").ok());
  EXPECT_FALSE(ToCivetListeningPorts("abc").ok());
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
