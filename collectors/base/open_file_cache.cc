#include "collectors/base/open_file_cache.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <string_view>

#include "collectors/base/file_util.h"

namespace podmeter {
namespace {

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

// Descriptors kept open by all caches together, and at most how many (SetKeptOpenBudget; by
// default half the soft limit on open files: the rest is the HTTP server's, the watchers', the
// relay's). Past it a file is read with open/read/close, as before the caches.
std::atomic<size_t> g_kept_open{0};
constexpr size_t kBudgetUnset = static_cast<size_t>(-1);
std::atomic<size_t> g_budget{kBudgetUnset};

size_t DefaultKeptOpenBudget() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return size_t{512};
  return static_cast<size_t>(rl.rlim_cur / 2);
}

// The filesystem type of `fd`, or 0.
unsigned long FsType(int fd) {
  struct statfs fs {};
  return ::fstatfs(fd, &fs) == 0 ? static_cast<unsigned long>(fs.f_type) : 0;
}

// Whether a filesystem makes a file's content afresh on each read at offset 0.
bool Regenerated(unsigned long fs_type) {
  switch (fs_type) {
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case PROC_SUPER_MAGIC:
      return true;
    default:
      return false;
  }
}

// The read buffer. On an ordinary filesystem a read shorter than it ends the file. A seq_file
// (kernfs, procfs) hands out at most its own buffer per read — a page or more, less the record
// that did not fit (a multi-page `cgroup.procs` comes in ~4 kB reads) — so there only a read
// shorter than kSeqEnd ends the file (the records of the files read here are lines, or whole
// files that a seq_file hands out in one read); a longer one is followed by reads to the end.
constexpr size_t kChunk = 16384;
constexpr size_t kSeqEnd = 3072;

}  // namespace

OpenFileCache::~OpenFileCache() {
  files_.ForEach([this](Entry& e) {
    Close(&e);
    CloseDirectory(&e);
  });
}

// Closes a kept descriptor (a file's, or the directory of a file not kept) and counts it gone.
void OpenFileCache::Release(int* fd) {
  if (*fd < 0) return;
  ::close(*fd);
  *fd = -1;
  --open_;
  g_kept_open.fetch_sub(1, std::memory_order_relaxed);
}

void OpenFileCache::Close(Entry* e) { Release(&e->fd); }

void OpenFileCache::CloseDirectory(Entry* e) { Release(&e->dir_fd); }

Status OpenFileCache::Open(const std::string& path, Entry* e) {
  ++opens_;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, path);
  e->fd = fd;
  const unsigned long fs_type = FsType(fd);
  e->regenerated = Regenerated(fs_type);
  e->keep = keep_ == Keep::kFiles &&
            !(fs_type == CGROUP_SUPER_MAGIC && (e->name == "cgroup.procs" || e->name == "tasks"));
  ++open_;
  g_kept_open.fetch_add(1, std::memory_order_relaxed);
  return Status::Ok();
}

// After a file not kept (a v1 task list; any file with Keep::kDirectories) was read from its path:
// its directory kept (O_PATH), so the next read opens it with one lookup instead of the whole
// path's. Without it (budget, error) the entry goes.
void OpenFileCache::KeepDirectory(const std::string& path, Entry* e) {
  if (g_kept_open.load(std::memory_order_relaxed) >= KeptOpenBudget()) return;
  const std::string dir = path.substr(0, path.rfind('/') + 1);
  const int fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  e->dir_fd = fd;
  ++open_;
  g_kept_open.fetch_add(1, std::memory_order_relaxed);
}

// A file not kept, opened afresh relative to its kept directory, read whole and closed.
Status OpenFileCache::ReadAt(const std::string& path, Entry* e, std::string* out) {
  ++opens_;
  const int fd = ::openat(e->dir_fd, e->name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, path);
  e->fd = fd;
  Status s = ReadOpen(path, e, out);
  ::close(fd);
  e->fd = -1;
  return s;
}

// One whole read at offset 0 of an open file; NotFound with errno ESTALE semantics when an
// ordinary file was replaced or removed (the caller reopens it). `path` only names it in errors.
Status OpenFileCache::ReadOpen(const std::string& path, Entry* e, std::string* out) {
  out->clear();
  if (!e->regenerated) {
    struct stat st {};
    if (::fstat(e->fd, &st) != 0) return Status::FromErrno(errno, path);
    if (st.st_nlink == 0) return Status::NotFound(path + ": replaced or removed");
  }
  char buf[kChunk];
  off_t offset = 0;
  while (true) {
    ssize_t n = ::pread(e->fd, buf, sizeof(buf), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, path);
    }
    out->append(buf, static_cast<size_t>(n));
    offset += n;
    const size_t end = e->regenerated ? kSeqEnd : sizeof(buf);
    if (static_cast<size_t>(n) < end) return Status::Ok();
  }
}

Status OpenFileCache::Read(const std::string& path, std::string* out) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return Read(std::string(), path, out);
  return Read(path.substr(0, slash), std::string_view(path).substr(slash + 1), out);
}

Status OpenFileCache::Read(const std::string& dir, std::string_view file, std::string* out) {
  Entry& e = files_.FindOrAdd(dir, file);
  e.used = true;
  // The path is made only for what needs it: an error, an open.
  auto path = [&] { return dir.empty() ? std::string(file) : JoinPath(dir, file); };
  if (e.fd >= 0) {
    Status s = ReadOpen(e.regenerated ? std::string() : path(), &e, out);
    if (s.ok()) return s;
    Close(&e);  // gone, replaced or failing: once more from the path
  }
  if (e.dir_fd >= 0) {
    if (ReadAt(path(), &e, out).ok()) return Status::Ok();
    CloseDirectory(&e);  // the cgroup went, or the read failed: once more from the path
  }
  const std::string full = path();
  if (g_kept_open.load(std::memory_order_relaxed) >= KeptOpenBudget()) {
    files_.Erase(dir, file);
    ++opens_;
    auto content = ReadFileToString(full);
    if (!content.ok()) return content.status();
    *out = std::move(content.value());
    return Status::Ok();
  }
  Status s = Open(full, &e);
  if (s.ok()) s = ReadOpen(full, &e, out);
  if (s.ok() && !e.keep) {
    Close(&e);
    KeepDirectory(full, &e);
  }
  if (!s.ok() || (!e.keep && e.dir_fd < 0)) {
    Close(&e);
    files_.Erase(dir, file);
  }
  return s;
}

Status OpenFileCache::ReadOptional(const std::string& dir, std::string_view file,
                                   std::string* out) {
  Entry& e = files_.FindOrAdd(dir, file);
  if (e.fd < 0 && e.dir_fd < 0 && e.absent_until != std::chrono::steady_clock::time_point{}) {
    e.used = true;
    if (clock_() < e.absent_until) {
      out->clear();
      return Status::Ok();
    }
    e.absent_until = {};  // looked for again
  }
  Status s = Read(dir, file, out);
  if (s.ok() || !s.IsNotFound()) return s;
  if (::access(dir.c_str(), F_OK) != 0) return s;  // the cgroup itself is gone
  Entry& absent = files_.FindOrAdd(dir, file);
  absent.absent_until = clock_() + kLimitRefresh;
  out->clear();
  return Status::Ok();
}

void OpenFileCache::Sweep() {
  files_.Sweep([this](Entry& e) {
    Close(&e);
    CloseDirectory(&e);
  });
}

RarelyChangingFiles::RarelyChangingFiles(std::chrono::steady_clock::duration refresh, Clock clock)
    : refresh_(refresh), clock_(std::move(clock)) {}

Status RarelyChangingFiles::Read(const std::string& dir, const char* file, bool optional,
                                 std::string* out) {
  const auto now = clock_();
  if (Entry* e = files_.Find(dir, file)) {
    e->used = true;
    if (now - e->first_read >= refresh_ && now - e->last_read < refresh_) {
      *out = e->content;
      return Status::Ok();
    }
  }
  ++reads_;
  auto content = ReadFileToString(JoinPath(dir, file));
  if (!content.ok() && optional && content.status().IsNotFound() &&
      ::access(dir.c_str(), F_OK) == 0) {
    content = std::string();  // the file alone is absent: a controller not enabled here
  }
  if (!content.ok()) {
    files_.Erase(dir, file);
    return content.status();
  }
  Entry* e = files_.Find(dir, file);
  if (e == nullptr) {
    e = &files_.FindOrAdd(dir, file);
    e->first_read = now;
  }
  e->last_read = now;
  e->used = true;
  e->content = content.value();
  *out = std::move(content.value());
  return Status::Ok();
}

void RarelyChangingFiles::Sweep() {
  files_.Sweep([](Entry&) {});
}

size_t KeptOpenBudget() {
  size_t budget = g_budget.load(std::memory_order_relaxed);
  if (budget == kBudgetUnset) {
    budget = DefaultKeptOpenBudget();
    g_budget.store(budget, std::memory_order_relaxed);
  }
  return budget;
}

void SetKeptOpenBudget(size_t budget) { g_budget.store(budget, std::memory_order_relaxed); }

size_t KeptOpenFiles() { return g_kept_open.load(std::memory_order_relaxed); }

uint64_t RaiseOpenFileLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  return rl.rlim_cur;
}

}  // namespace podmeter
