#include "collectors/base/file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

namespace podmeter {

StatusOr<std::string> ReadAll(int fd, const std::string& path, size_t max_bytes, bool* too_large) {
  std::string content;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, path);
    }
    if (n == 0) return content;
    if (content.size() + static_cast<size_t>(n) > max_bytes) {
      if (too_large != nullptr) *too_large = true;
      return Status::InvalidData(path + ": larger than " + std::to_string(max_bytes) + " bytes");
    }
    content.append(buf, static_cast<size_t>(n));
  }
}

StatusOr<std::string> ReadFileToString(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, path);
  auto content = ReadAll(fd, path);
  ::close(fd);
  return content;
}

StatusOr<std::vector<std::string>> ListSubdirectories(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
  if (!d) return Status::FromErrno(errno, dir);
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d.get())) {
    if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
    std::string_view name(e->d_name);
    if (name == "." || name == "..") continue;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st;
      std::string full = JoinPath(dir, name);
      if (::stat(full.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    }
    names.emplace_back(name);
  }
  return names;
}

bool ParseUint64(std::string_view text, uint64_t* out) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n')) {
    text.remove_suffix(1);
  }
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool SplitKeyValue(std::string_view line, std::string_view* key, uint64_t* value) {
  constexpr std::string_view kBlank = " \t";
  const size_t kb = line.find_first_not_of(kBlank);
  if (kb == std::string_view::npos) return false;
  const size_t ke = line.find_first_of(kBlank, kb);
  if (ke == std::string_view::npos) return false;
  const size_t vb = line.find_first_not_of(kBlank, ke);
  if (vb == std::string_view::npos) return false;
  const size_t ve = line.find_first_of(kBlank, vb);
  if (ve != std::string_view::npos &&
      line.find_first_not_of(kBlank, ve) != std::string_view::npos) {
    return false;  // a third field
  }
  *key = line.substr(kb, ke - kb);
  return ParseUint64(line.substr(vb, ve == std::string_view::npos ? ve : ve - vb), value);
}

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      lines.push_back(text);
      break;
    }
    lines.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  return lines;
}

std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

std::string JoinPath(std::string_view a, std::string_view b) {
  std::string out(a);
  while (!out.empty() && out.back() == '/') out.pop_back();
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  if (b.empty()) return out.empty() ? "/" : out;
  out += '/';
  out += b;
  return out;
}

}  // namespace podmeter
