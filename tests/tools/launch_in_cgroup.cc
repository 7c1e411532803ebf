// Test tool: starts a program in a container's cgroups the way a container runtime does: a
// process forked for it joins the cgroups (whose cgroup.procs files are given), prints the
// CLOCK_MONOTONIC time just before its execve (exec_ns) and execs the program; that process is
// the application, its one exec the entrypoint's.
//   launch_in_cgroup [--bootstrap-ms N] <cgroup.procs>... -- <program> [args...]
// With --bootstrap-ms, runc's bootstrap first: the launcher itself (exec'd before, like
// `runc init`) joins the cgroups as "runc:[0:PARENT]" and stays N/2 ms, then forks the
// "runc:[2:INIT]" process, which waits N/2 ms (runc's create → start) before it execs.
// The launcher waits for the program and exits with its status.
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

bool JoinCgroups(char** files, int count) {
  for (int i = 0; i < count; ++i) {
    FILE* f = std::fopen(files[i], "w");
    if (f == nullptr || std::fprintf(f, "%d\n", ::getpid()) < 0 || std::fclose(f) != 0) {
      std::perror(files[i]);
      return false;
    }
  }
  return true;
}

void SleepMs(long ms) {
  timespec t{ms / 1000, (ms % 1000) * 1000000L};
  while (::nanosleep(&t, &t) != 0) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  int first = 1;
  long bootstrap_ms = -1;
  if (argc > 2 && std::strcmp(argv[1], "--bootstrap-ms") == 0) {
    bootstrap_ms = std::atol(argv[2]);
    first = 3;
  }
  int sep = first;
  while (sep < argc && std::strcmp(argv[sep], "--") != 0) ++sep;
  if (sep + 1 >= argc) {
    std::fprintf(stderr,
                 "usage: launch_in_cgroup [--bootstrap-ms N] <cgroup.procs>... -- <program> "
                 "[args...]\n");
    return 2;
  }
  if (bootstrap_ms >= 0) {
    ::prctl(PR_SET_NAME, "runc:[0:PARENT]");  // named before it joins, as runc's stage 0
    if (!JoinCgroups(argv + first, sep - first)) return 1;
    SleepMs(bootstrap_ms / 2);
  }
  pid_t child = ::fork();
  if (child < 0) {
    std::perror("fork");
    return 1;
  }
  if (child == 0) {
    if (bootstrap_ms >= 0) {
      ::prctl(PR_SET_NAME, "runc:[2:INIT]");
      SleepMs(bootstrap_ms - bootstrap_ms / 2);
    } else if (!JoinCgroups(argv + first, sep - first)) {
      _exit(1);
    }
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    std::printf("exec_ns %lld\n", static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec);
    std::fflush(stdout);
    ::execvp(argv[sep + 1], argv + sep + 1);
    std::perror(argv[sep + 1]);
    _exit(127);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return 1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
