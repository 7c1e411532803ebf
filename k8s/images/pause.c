// The pod sandbox's process: holds the pod's namespaces, reaps orphaned children (it is PID 1
// of the pod when the pod shares its PID namespace) and exits 0 on SIGINT or SIGTERM.
// Built with -static into the pause image by scripts/images.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void Stop(int sig) {
  (void)sig;
  _exit(0);
}

static void Reap(int sig) {
  (void)sig;
  while (waitpid(-1, 0, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction stop = {.sa_handler = Stop};
  struct sigaction reap = {.sa_handler = Reap, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
  if (sigaction(SIGINT, &stop, 0) || sigaction(SIGTERM, &stop, 0) ||
      sigaction(SIGCHLD, &reap, 0)) {
    return 1;
  }
  for (;;) pause();
}
