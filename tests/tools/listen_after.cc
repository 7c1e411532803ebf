// Test tool: a server that sleeps N ms before it binds. Prints CLOCK_MONOTONIC at the first line
// of main (main_ns), just before socket()/bind()/listen() (bind_ns) and right after listen()
// (listen_ns), then waits (default 120 s) to be killed. The socket is listening somewhere between
// bind_ns and listen_ns. Static-linkable (the cluster test runs it as a one-file image).
//   listen_after <delay ms> <port> [v4|v6] [hold seconds]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

static long long Now() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char** argv) {
  long long main_ns = Now();
  if (argc < 3) {
    std::fprintf(stderr, "usage: listen_after <delay ms> <port> [v4|v6] [hold seconds]\n");
    return 2;
  }
  long delay_ms = std::atol(argv[1]);
  int port = std::atoi(argv[2]);
  bool v6 = argc > 3 && std::strcmp(argv[3], "v6") == 0;
  timespec delay{delay_ms / 1000, (delay_ms % 1000) * 1000000L};
  unsigned hold_seconds = argc > 4 ? static_cast<unsigned>(std::atol(argv[4])) : 120;
  while (::nanosleep(&delay, &delay) != 0) {
  }
  long long bind_ns = Now();
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  int rc;
  if (v6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<uint16_t>(port));
    a.sin6_addr = in6addr_loopback;
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  }
  if (rc != 0 || ::listen(fd, 16) != 0) {
    std::perror("bind/listen");
    return 1;
  }
  long long listen_ns = Now();
  std::printf("main_ns %lld\nbind_ns %lld\nlisten_ns %lld\n", main_ns, bind_ns, listen_ns);
  std::fflush(stdout);
  ::sleep(hold_seconds);
  return 0;
}
