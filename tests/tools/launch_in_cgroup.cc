// Test tool: joins the cgroups whose cgroup.procs files are given, prints the CLOCK_MONOTONIC time
// just before execve, then execs the program.
//   launch_in_cgroup <cgroup.procs>... -- <program> [args...]
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  int sep = 1;
  while (sep < argc && std::strcmp(argv[sep], "--") != 0) ++sep;
  if (sep + 1 >= argc) {
    std::fprintf(stderr, "usage: launch_in_cgroup <cgroup.procs>... -- <program> [args...]\n");
    return 2;
  }
  for (int i = 1; i < sep; ++i) {
    FILE* f = std::fopen(argv[i], "w");
    if (f == nullptr || std::fprintf(f, "%d\n", ::getpid()) < 0 || std::fclose(f) != 0) {
      std::perror(argv[i]);
      return 1;
    }
  }
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  std::printf("exec_ns %lld\n", static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec);
  std::fflush(stdout);
  ::execvp(argv[sep + 1], argv + sep + 1);
  std::perror(argv[sep + 1]);
  return 127;
}
