// Starting a server process inside a cgroup, and probing it over HTTP like the kubelet.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "collectors/base/status.h"

namespace podmeter::lab {

/// fork + join every cgroup in `procs_files` + exec `argv` (PATH searched) with `env` added to the
/// lab's environment; stdout and stderr go to `log_path`. The child gets its own process group.
StatusOr<int> StartInCgroup(const std::vector<std::string>& argv,
                            const std::vector<std::pair<std::string, std::string>>& env,
                            const std::vector<std::string>& procs_files,
                            const std::string& log_path, const std::string& workdir);

/// GET `url` with libcurl: the body of a 200 answer; Unavailable on a transport failure,
/// InvalidData on another status (the message has the start of the body).
StatusOr<std::string> HttpGet(const std::string& url, std::chrono::milliseconds timeout,
                              size_t max_bytes = size_t{64} << 20);

/// HttpGet with a 3 s timeout, "" on any failure (live progress keeps going without a figure).
std::string HttpGetOrEmpty(const std::string& url);

/// GET http://127.0.0.1:<port><path>; the status code, or -1 on connect failure or timeout.
int HttpGetStatus(int port, const std::string& path, int timeout_ms);

/// Polls http://127.0.0.1:<port><path> every 100 ms until it answers 200 (true), or until
/// `seconds` pass, the child `pid` exits or `stop` returns true (false).
bool WaitHttpReady(
    int pid, int port, const std::string& path, double seconds,
    const std::function<bool()>& stop = [] { return false; });

}  // namespace podmeter::lab
