#include "collectors/base/status.h"

#include <cerrno>
#include <cstring>

namespace podmeter {

Status Status::FromErrno(int err, const std::string& path) {
  std::string msg = path + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENODEV:
    case ESRCH:
    case ENOTDIR:
      return NotFound(std::move(msg));
    case EACCES:
    case EPERM:
      return PermissionDenied(std::move(msg));
    default:
      return IoError(std::move(msg));
  }
}

}  // namespace podmeter
