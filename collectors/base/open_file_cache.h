// Files read again and again (cgroupfs and procfs figures) through descriptors kept open between
// reads, and files that rarely change (limits) read on a slow timer. Not thread-safe: each cache
// is owned by one thread (the sampler's).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "collectors/base/dir_table.h"
#include "collectors/base/status.h"

namespace podmeter {

/// How long limits and absent optional files are kept before they are read again
/// (docs/performance.md).
constexpr std::chrono::seconds kLimitRefresh{10};

/// Reads files through descriptors it keeps open: a read is one `pread` at offset 0, which makes
/// kernfs (cgroupfs, sysfs) and procfs generate the content afresh. A file is reopened when a read
/// fails (ENODEV: its cgroup was removed; ESRCH: its process exited; any other error once), and,
/// on an ordinary filesystem (fixture trees), when it was replaced or removed (no links left).
/// A cgroup v1 `cgroup.procs` or `tasks` is not kept: v1 lists a cgroup's tasks when the file is
/// opened and a later read on the same open file takes that list again while it lives (freed
/// 1 s after its last read), so it is opened, read and closed each time (v2 lists afresh) —
/// through `openat` on a descriptor of its directory (O_PATH) kept instead, which spares the
/// kernel the walk of the whole path.
/// Sweep() closes the files not read since the previous Sweep().
class OpenFileCache {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  /// What a read leaves open: the file (read again with one `pread`), or only its directory
  /// (O_PATH; the file opened with `openat`, read and closed each time). A kept kernfs or procfs
  /// file holds a ~4 kB seq_file buffer of kernel memory, charged to podmeter's cgroup, from its
  /// first read to its close: worth it for a file read every sample, not for one read every few
  /// (the staggered `statm`).
  enum class Keep { kFiles, kDirectories };
  explicit OpenFileCache(Clock clock = &std::chrono::steady_clock::now, Keep keep = Keep::kFiles)
      : clock_(std::move(clock)), keep_(keep) {}
  explicit OpenFileCache(Keep keep) : OpenFileCache(&std::chrono::steady_clock::now, keep) {}
  ~OpenFileCache();
  OpenFileCache(const OpenFileCache&) = delete;
  OpenFileCache& operator=(const OpenFileCache&) = delete;

  /// Reads `path` whole into *out (its old content replaced). Errors as ReadFileToString's: a
  /// missing file, or a cgroup or process that went, is NotFound.
  Status Read(const std::string& path, std::string* out);
  /// The same for `dir`/`file`: the sampler's way, one lookup of `dir` for all its files (a
  /// collector reads a cgroup's files one after the other), no path made unless a file is opened.
  Status Read(const std::string& dir, std::string_view file, std::string* out);
  /// Reads `dir`/`file`, which may be absent while `dir` exists (a controller not enabled there):
  /// then "" with Ok, and the absence is kept for kLimitRefresh (no open each sample). NotFound
  /// when `dir` itself is gone.
  Status ReadOptional(const std::string& dir, std::string_view file, std::string* out);
  /// Closes every file not read since the previous call (their cgroups or processes are gone).
  void Sweep();

  size_t open_files() const { return open_; }
  /// Reads that had to open their file: first reads, reopens, and reads past the fd budget.
  uint64_t opens() const { return opens_; }

 private:
  struct Entry {
    std::string name;  ///< the file's name in its directory
    int fd = -1;
    int dir_fd = -1;           ///< a v1 task list's directory (O_PATH), while fd is not kept
    bool regenerated = false;  ///< kernfs or procfs: content made afresh on each read
    bool keep = true;          ///< false: a v1 task list (once per open); Keep::kDirectories
    bool used = true;          ///< read since the last Sweep
    std::chrono::steady_clock::time_point absent_until{};  ///< ReadOptional found no file
  };
  Status Open(const std::string& path, Entry* e);
  Status ReadOpen(const std::string& path, Entry* e, std::string* out);
  Status ReadAt(const std::string& path, Entry* e, std::string* out);
  void KeepDirectory(const std::string& path, Entry* e);
  void Release(int* fd);
  void Close(Entry* e);
  void CloseDirectory(Entry* e);

  Clock clock_;
  Keep keep_;
  DirTable<Entry> files_;
  size_t open_ = 0;
  uint64_t opens_ = 0;
};

/// Files whose content changes rarely (limits: `memory.limit_in_bytes`, `cpu.max`, …), kept in
/// memory: read at first, at every ask during the first `refresh` after that (a runtime writes
/// them just after it makes the cgroup), then at most once per `refresh`. Sweep() forgets the
/// files not asked for since the previous Sweep().
class RarelyChangingFiles {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  explicit RarelyChangingFiles(std::chrono::steady_clock::duration refresh,
                               Clock clock = &std::chrono::steady_clock::now);

  /// The content of `dir`/`file`. With `optional`, a missing file in an existing directory is ""
  /// (a controller not enabled); a missing directory is NotFound. Failures are not kept.
  Status Read(const std::string& dir, const char* file, bool optional, std::string* out);
  void Sweep();

  size_t size() const { return files_.size(); }
  /// Reads that went to the file.
  uint64_t reads() const { return reads_; }

 private:
  struct Entry {
    std::string name;  ///< the file's name in its directory
    std::string content;
    std::chrono::steady_clock::time_point first_read, last_read;
    bool used = true;
  };
  std::chrono::steady_clock::duration refresh_;
  Clock clock_;
  DirTable<Entry> files_;
  uint64_t reads_ = 0;
};

/// How many descriptors all OpenFileCaches together keep open at most: SetKeptOpenBudget's, else
/// half the soft limit on open files when first asked. 0: every read opens, reads and closes.
size_t KeptOpenBudget();
void SetKeptOpenBudget(size_t budget);
/// Descriptors all OpenFileCaches keep open now.
size_t KeptOpenFiles();

/// Raises the soft limit on open files to the hard one (the kept-open files need one each).
/// Returns the new soft limit.
uint64_t RaiseOpenFileLimit();

}  // namespace podmeter
