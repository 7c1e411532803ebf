// SIGTERM/SIGINT reach the waiting main thread whenever they arrive: before it waits (the old
// flag-and-pause() loop lost one that arrived between its check and pause()), while it waits,
// and when sent to a thread started after the mask was set. Each case runs in a forked child,
// so the test process' own signal dispositions stay untouched.
#include "exporter/stop_signals.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace podmeter {
namespace {

// Runs `body` in a child after BlockStopSignals; the child exits 0 when WaitForStopSignal
// returned `want`. Returns the child's wait status.
template <typename F>
int InChild(int want, F body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    BlockStopSignals();
    body();
    ::_exit(WaitForStopSignal() == want ? 0 : 3);
  }
  int status = 0;
  // A lost signal leaves the child waiting: give up after 10 s (SIGKILL) rather than hang.
  for (int i = 0; i < 1000; ++i) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return status;
}

TEST(StopSignals, ASignalBeforeTheWaitIsKeptNotLost) {
  int status = InChild(SIGTERM, [] { ::kill(::getpid(), SIGTERM); });
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(StopSignals, ASignalWhileWaitingFromAnotherThread) {
  int status = InChild(SIGINT, [] {
    std::thread([] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      ::kill(::getpid(), SIGINT);  // process-directed: every thread blocks it, sigwait takes it
    }).detach();
  });
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace podmeter
