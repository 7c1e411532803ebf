// A loopback load client for podmeter's /metrics: `podmeter_scrape PORT [COUNT] [SECONDS]` sends
// COUNT (default 1000, at most 100000) GETs of /metrics, alternating plain and gzip
// (Accept-Encoding: gzip), one at a time, each on a new connection (as Prometheus does with
// keep-alive off), and stops after SECONDS (default 30) whatever the count. Prints per kind the
// number of answers, bytes per answer and the latency from connect to the last byte (p50, p90,
// p99, max), and exits 1 if any request failed. Only 127.0.0.1.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// The bytes of one answer (headers and body) or -1 on an error.
long Scrape(int port, bool gzip, std::vector<char>* buf) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  long total = -1;
  const std::string request = std::string("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n") +
                              (gzip ? "Accept-Encoding: gzip\r\n" : "") + "\r\n";
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    long got = 0;
    bool ok = false;
    ssize_t n;
    while ((n = ::recv(fd, buf->data(), buf->size(), 0)) > 0) {
      if (got == 0) ok = n >= 12 && std::string(buf->data(), 12) == "HTTP/1.1 200";
      got += n;
    }
    if (n == 0 && ok) total = got;
  }
  ::close(fd);
  return total;
}

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PORT [COUNT] [SECONDS]\n", argv[0]);
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const long count = std::min(100000L, argc > 2 ? std::atol(argv[2]) : 1000L);
  const double seconds = argc > 3 ? std::atof(argv[3]) : 30.0;
  const Clock::time_point end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                   std::chrono::duration<double>(seconds));
  std::vector<char> buf(1 << 20);
  std::vector<double> ms[2];
  long bytes[2] = {0, 0};
  int failed = 0;
  for (long i = 0; i < count && Clock::now() < end; ++i) {
    const bool gzip = i % 2 == 1;
    Clock::time_point start = Clock::now();
    long n = Scrape(port, gzip, &buf);
    double took = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (n < 0) {
      ++failed;
      continue;
    }
    ms[gzip].push_back(took);
    bytes[gzip] = n;
  }
  for (int gzip : {0, 1}) {
    if (ms[gzip].empty()) continue;
    std::printf("%-5s n=%zu bytes=%ld p50=%.3f ms p90=%.3f ms p99=%.3f ms max=%.3f ms\n",
                gzip ? "gzip" : "plain", ms[gzip].size(), bytes[gzip], Percentile(ms[gzip], 0.5),
                Percentile(ms[gzip], 0.9), Percentile(ms[gzip], 0.99),
                *std::max_element(ms[gzip].begin(), ms[gzip].end()));
  }
  if (failed > 0) std::printf("failed=%d\n", failed);
  return failed > 0 ? 1 : 0;
}
