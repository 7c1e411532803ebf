#include "exporter/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "exporter/family_builder.h"
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

TEST(SnapshotStore, PublishRendersTheTextAndItsGzipOnce) {
  SnapshotStore store;
  EXPECT_FALSE(store.ready());
  EXPECT_EQ(store.Latest()->text, "");
  EXPECT_EQ(Gunzip(store.Latest()->gzip), "");
  store.Publish(OneCounter(1));
  std::shared_ptr<const Exposition> first = store.Latest();  // a scrape in flight
  EXPECT_TRUE(store.ready());
  EXPECT_EQ(first->text, SerializeText(OneCounter(1)));
  EXPECT_NE(first->text.find("podmeter_test_total{pod=\"a\"} 1\n"), std::string::npos);
  EXPECT_EQ(Gunzip(first->gzip), first->text);
  store.Publish(OneCounter(2));
  EXPECT_EQ(Gunzip(store.Latest()->gzip), SerializeText(OneCounter(2)));
  EXPECT_EQ(first->text, SerializeText(OneCounter(1)));  // unchanged under the scrape that holds it
  EXPECT_EQ(store.Latest().get(), store.Latest().get());  // scrapes share it: no copy
}

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
