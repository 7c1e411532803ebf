// Entries kept per directory, then file name: the sampler reads a cgroup's files one after the
// other, so one hash lookup of the directory serves all of them (the last directory found is
// remembered) and no path string is made per read. Not thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace podmeter {

/// `Entry` has a `std::string name` and a `bool used` (set by its user when it is read).
template <typename Entry>
class DirTable {
 public:
  /// The entry of `dir`/`file`; a new one (name set, used) when there is none.
  Entry& FindOrAdd(const std::string& dir, std::string_view file) {
    Dir& d = FindDir(dir);
    if (Entry* e = In(d, file)) return *e;
    Entry& e = d.files.emplace_back();
    e.name = file;
    ++size_;
    return e;
  }
  /// The entry of `dir`/`file`, or null.
  Entry* Find(const std::string& dir, std::string_view file) { return In(FindDir(dir), file); }
  /// Drops the entry of `dir`/`file` (references to its directory's entries are invalid after).
  void Erase(const std::string& dir, std::string_view file) {
    auto& files = FindDir(dir).files;
    auto it =
        std::find_if(files.begin(), files.end(), [&](const Entry& e) { return e.name == file; });
    if (it == files.end()) return;
    files.erase(it);
    --size_;
  }
  /// Drops every entry not used since the previous Sweep (and every entry of a directory not
  /// looked up since), calling `drop` on each before; clears `used` on the others.
  template <typename Drop>
  void Sweep(Drop drop) {
    last_dir_ = nullptr;
    last_key_ = nullptr;
    for (auto it = dirs_.begin(); it != dirs_.end();) {
      Dir& d = it->second;
      for (auto f = d.files.begin(); f != d.files.end();) {
        if (d.used && f->used) {
          f->used = false;
          ++f;
        } else {
          drop(*f);
          f = d.files.erase(f);
          --size_;
        }
      }
      d.used = false;
      it = d.files.empty() ? dirs_.erase(it) : std::next(it);
    }
  }
  template <typename Fn>
  void ForEach(Fn fn) {
    for (auto& [dir, d] : dirs_) {
      for (Entry& e : d.files) fn(e);
    }
  }
  size_t size() const { return size_; }

 private:
  struct Dir {
    std::vector<Entry> files;  ///< a handful: found by name
    bool used = true;
  };
  Dir& FindDir(const std::string& dir) {
    if (last_dir_ == nullptr || *last_key_ != dir) {
      auto [it, inserted] = dirs_.try_emplace(dir);
      last_key_ = &it->first;
      last_dir_ = &it->second;
    }
    last_dir_->used = true;
    return *last_dir_;
  }
  static Entry* In(Dir& d, std::string_view file) {
    for (Entry& e : d.files) {
      if (e.name == file) return &e;
    }
    return nullptr;
  }

  std::unordered_map<std::string, Dir> dirs_;
  const std::string* last_key_ = nullptr;  ///< the directory of the last lookup (a key of dirs_)
  Dir* last_dir_ = nullptr;
  size_t size_ = 0;
};

}  // namespace podmeter
