/* floor: the naive cost of the information podmeter exports. Once per interval it opens, reads
 * and closes each file named in a list (the cgroup files podmeter's readers read for every pod
 * and container) and, for each `s` line, reads that cgroup.procs and then /proc/<pid>/statm of
 * every pid in it (the one file per process podmeter reads), for each `p` line /proc/<pid>/stat,
 * status and statm (what libproc2 read for podmeter before issue 16). Nothing is parsed or
 * kept: this is the floor of the I/O alone.
 *
 *   floor LIST [ROUNDS [INTERVAL_MS]]   (ROUNDS 0: until SIGTERM/SIGINT)
 *
 * LIST lines: "f <path>" (read it), "s <path to cgroup.procs>" or "p <path to cgroup.procs>"
 * (read it and its pids' files).
 * On exit it prints "rounds=R opens=O bytes=B failed=F" (per-round means of opens and bytes). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { kMaxEntries = 1 << 16, kBuf = 1 << 16 };

struct entry {
  char kind;
  char *path;
};

static volatile sig_atomic_t stop;
static char buf[kBuf];
static unsigned long long opens, bytes, failed;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

/* Reads the whole file into buf (bounded); returns the length or -1. */
static ssize_t read_file(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  opens++;
  if (fd < 0) {
    failed++;
    return -1;
  }
  ssize_t total = 0, n;
  while (total < kBuf - 1 && (n = read(fd, buf + total, (size_t)(kBuf - 1 - total))) > 0)
    total += n;
  close(fd);
  buf[total] = '\0';
  bytes += (unsigned long long)total;
  return total;
}

static void read_procs(const char *procs, int libproc2) {
  static const char *const kFiles[] = {"statm", "stat", "status"};
  const size_t files = libproc2 ? 3 : 1;
  if (read_file(procs) < 0) return;
  char *list = strdup(buf), *save = NULL, path[64];
  if (!list) return;
  for (char *tok = strtok_r(list, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
    for (size_t i = 0; i < files; i++) {
      snprintf(path, sizeof path, "/proc/%s/%s", tok, kFiles[i]);
      read_file(path);
    }
  }
  free(list);
}

static size_t load(const char *file, struct entry *out) {
  FILE *f = fopen(file, "r");
  if (!f) {
    fprintf(stderr, "floor: %s: %s\n", file, strerror(errno));
    exit(2);
  }
  char line[4096];
  size_t n = 0;
  while (n < kMaxEntries && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    if ((line[0] != 'f' && line[0] != 'p' && line[0] != 's') || line[1] != ' ') continue;
    out[n].kind = line[0];
    out[n].path = strdup(line + 2);
    if (out[n].path) n++;
  }
  fclose(f);
  return n;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: floor LIST [ROUNDS [INTERVAL_MS]]\n");
    return 2;
  }
  static struct entry entries[kMaxEntries];
  size_t n = load(argv[1], entries);
  long rounds_max = argc > 2 ? atol(argv[2]) : 0;
  long interval_ms = argc > 3 ? atol(argv[3]) : 1000;
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  long rounds = 0;
  while (!stop && (rounds_max == 0 || rounds < rounds_max)) {
    for (size_t i = 0; i < n; i++) {
      if (entries[i].kind == 'f')
        read_file(entries[i].path);
      else
        read_procs(entries[i].path, entries[i].kind == 'p');
    }
    rounds++;
    if (rounds_max != 0 && rounds >= rounds_max) break;
    next.tv_sec += interval_ms / 1000;
    next.tv_nsec += (interval_ms % 1000) * 1000000L;
    if (next.tv_nsec >= 1000000000L) {
      next.tv_sec++;
      next.tv_nsec -= 1000000000L;
    }
    while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
    }
  }
  long r = rounds > 0 ? rounds : 1;
  printf("rounds=%ld opens=%llu bytes=%llu failed=%llu\n", rounds, opens / (unsigned long long)r,
         bytes / (unsigned long long)r, failed / (unsigned long long)r);
  return 0;
}
