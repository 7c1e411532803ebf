#include "lab/image_sizes.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "collectors/base/file_util.h"
#include "lab/process.h"

namespace podmeter::lab {
namespace {

// A file's text, or "" when it cannot be read (no sizes.json yet, no log).
std::string TextOf(const std::string& path) {
  auto text = ReadFileToString(path);
  return text.ok() ? *text : "";
}

// The last non-empty line of `text` (scripts/images ends a failure with one line saying why).
std::string LastLine(const std::string& text) {
  size_t end = text.find_last_not_of(" \n\r\t");
  if (end == std::string::npos) return "";
  size_t start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1,
                     end + 1 - (start == std::string::npos ? 0 : start + 1));
}

}  // namespace

std::string ImageSizesPath() {
  const char* dir = std::getenv("PODMETER_IMAGES_DIR");
  return JoinPath(dir != nullptr && *dir ? dir : "/var/cache/podmeter/images", "sizes.json");
}

nlohmann::json ImageSizes() {
  auto sizes = nlohmann::json::parse(TextOf(ImageSizesPath()), nullptr, false);
  return sizes.is_discarded() || !sizes.is_object() ? nlohmann::json(nullptr) : sizes;
}

std::vector<std::string> ImagesWithoutSize(const nlohmann::json& sizes,
                                           const std::vector<std::string>& images) {
  std::vector<std::string> out;
  for (const std::string& image : images) {
    bool has = sizes.is_object() && sizes.contains(image);
    if (!has && std::find(out.begin(), out.end(), image) == out.end()) out.push_back(image);
  }
  return out;
}

std::string ImageArchiveName(const std::string& image) {
  size_t slash = image.rfind('/');
  size_t colon = image.find(':', slash == std::string::npos ? 0 : slash);
  return image.substr(slash == std::string::npos ? 0 : slash + 1,
                      colon == std::string::npos
                          ? std::string::npos
                          : colon - (slash == std::string::npos ? 0 : slash + 1));
}

Status BuildImages(const std::string& repo, const std::vector<std::string>& images,
                   const std::string& log_path, double timeout,
                   const std::function<bool()>& interrupted) {
  std::vector<std::string> argv = {JoinPath(repo, "scripts/images"), "build"};
  for (const std::string& image : images) argv.push_back(ImageArchiveName(image));
  auto pid = StartInCgroup(argv, {}, {}, log_path, repo);
  if (!pid.ok()) return Status::Unavailable("starting scripts/images: " + pid.status().message());
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  while (::waitpid(*pid, &status, WNOHANG) == 0) {
    double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (interrupted() || waited > timeout) {
      ::kill(-*pid, SIGTERM);
      ::waitpid(*pid, &status, 0);
      return Status::Unavailable(interrupted() ? "scripts/images build interrupted"
                                               : "scripts/images build took over " +
                                                     std::to_string(static_cast<int>(timeout)) +
                                                     " s; stopped (log: " + log_path + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
  std::string why = LastLine(TextOf(log_path));
  return Status::Unavailable("scripts/images build " +
                             (WIFEXITED(status)
                                  ? "exited " + std::to_string(WEXITSTATUS(status))
                                  : "killed by signal " + std::to_string(WTERMSIG(status))) +
                             (why.empty() ? "" : ": " + why) + " (log: " + log_path + ")");
}

}  // namespace podmeter::lab
