// The kernel's process connector (netlink NETLINK_CONNECTOR, CN_IDX_PROC): fork, exec and exit
// events of every process on the node with CLOCK_MONOTONIC ns timestamps. Subscribing needs
// CAP_NET_ADMIN and the initial network namespace (the connector exists only there: in a pod's
// own network namespace the socket cannot be opened).
#pragma once

#include <cstdint>

#include "collectors/base/status.h"
#include "collectors/watchers/exec_history.h"

namespace podmeter {

class ProcessConnector {
 public:
  ProcessConnector() = default;
  ~ProcessConnector();
  ProcessConnector(const ProcessConnector&) = delete;
  ProcessConnector& operator=(const ProcessConnector&) = delete;

  /// Opens and subscribes a non-blocking socket.
  Status Open();
  /// The socket to poll for POLLIN; -1 when not open.
  int fd() const { return fd_; }
  /// Reads every queued event into `history`.
  void Drain(ExecHistory* history);
  /// Times the socket's receive queue overflowed (events were lost; ENOBUFS).
  uint64_t overruns() const { return overruns_; }

 private:
  int fd_ = -1;
  uint64_t overruns_ = 0;
};

}  // namespace podmeter
