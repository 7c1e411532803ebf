// The images' sizes for the scoreboards: scripts/images' sizes.json, and the images of a run that
// have no size there yet, built on the spot by scripts/images (docs/lab.md, "Image and binary
// sizes"). Single-threaded.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "collectors/base/status.h"

namespace podmeter::lab {

/// sizes.json in PODMETER_IMAGES_DIR (default /var/cache/podmeter/images).
std::string ImageSizesPath();

/// The sizes scripts/images measured (image → {archive_bytes, unpacked_bytes, …}), or null when
/// no image was built on this machine.
nlohmann::json ImageSizes();

/// The images of `images` without an entry in `sizes` (null: none has one), each once, in order.
std::vector<std::string> ImagesWithoutSize(const nlohmann::json& sizes,
                                           const std::vector<std::string>& images);

/// scripts/images' name of an image as k8s/base names it: "flask-api:dev" → "flask-api".
std::string ImageArchiveName(const std::string& image);

/// Runs `scripts/images build NAME…` of the checkout `repo` for `images`, its output in
/// `log_path`, for at most `timeout` seconds (or until `interrupted`). Ok, or why not: the exit
/// status and the log's last line.
Status BuildImages(const std::string& repo, const std::vector<std::string>& images,
                   const std::string& log_path, double timeout,
                   const std::function<bool()>& interrupted);

}  // namespace podmeter::lab
