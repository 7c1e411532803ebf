// Test tool: maps N MiB of anonymous memory, writes every page, starts T extra threads that sleep,
// prints "ready" and waits (at most 600 s) to be killed.
//   hold_memory <MiB> [threads]
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

static void* Sleep(void*) {
  ::sleep(600);
  return nullptr;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: hold_memory <MiB> [threads]\n");
    return 2;
  }
  size_t bytes = static_cast<size_t>(std::atol(argv[1])) << 20;
  int threads = argc > 2 ? std::atoi(argv[2]) : 0;
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("mmap");
    return 1;
  }
  std::memset(p, 1, bytes);
  for (int i = 0; i < threads; ++i) {
    pthread_t t;
    if (::pthread_create(&t, nullptr, Sleep, nullptr) != 0) {
      std::fprintf(stderr, "pthread_create failed\n");
      return 1;
    }
  }
  std::printf("ready\n");
  std::fflush(stdout);
  ::sleep(600);
  return 0;
}
