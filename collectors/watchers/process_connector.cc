#include "collectors/watchers/process_connector.h"

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace podmeter {
namespace {

// Room for bursts (a pod start is a few hundred events) while the watcher's thread is away.
constexpr int kReceiveBufferBytes = 4 << 20;

Status Subscribe(int fd) {
  // nlmsghdr | cn_msg | proc_cn_mcast_op, laid out by hand (cn_msg ends in a flexible array).
  alignas(nlmsghdr) char req[NLMSG_SPACE(sizeof(cn_msg) + sizeof(proc_cn_mcast_op))] = {};
  auto* header = reinterpret_cast<nlmsghdr*>(req);
  header->nlmsg_len = NLMSG_LENGTH(sizeof(cn_msg) + sizeof(proc_cn_mcast_op));
  header->nlmsg_type = NLMSG_DONE;
  header->nlmsg_pid = static_cast<__u32>(::getpid());
  auto* msg = static_cast<cn_msg*>(NLMSG_DATA(header));
  msg->id.idx = CN_IDX_PROC;
  msg->id.val = CN_VAL_PROC;
  msg->len = sizeof(proc_cn_mcast_op);
  proc_cn_mcast_op op = PROC_CN_MCAST_LISTEN;
  std::memcpy(msg->data, &op, sizeof(op));
  if (::send(fd, req, header->nlmsg_len, 0) != static_cast<ssize_t>(header->nlmsg_len))
    return Status::FromErrno(errno, "process connector: subscribe");
  return Status::Ok();
}

}  // namespace

ProcessConnector::~ProcessConnector() {
  if (fd_ >= 0) ::close(fd_);
}

Status ProcessConnector::Open() {
  int fd = ::socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
  if (fd < 0) return Status::FromErrno(errno, "process connector: socket");
  // Best effort: a larger buffer needs CAP_NET_ADMIN (FORCE) or a large net.core.rmem_max.
  int bytes = kReceiveBufferBytes;
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = CN_IDX_PROC;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Status s = Status::FromErrno(errno, "process connector: bind");
    ::close(fd);
    return s;
  }
  Status s = Subscribe(fd);
  if (!s.ok()) {
    ::close(fd);
    return s;
  }
  fd_ = fd;
  return Status::Ok();
}

void ProcessConnector::Drain(ExecHistory* history) {
  if (fd_ < 0) return;
  alignas(nlmsghdr) char buf[16384];
  while (true) {
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n < 0 && errno == ENOBUFS) {
      ++overruns_;
      continue;
    }
    if (n <= 0) return;
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, static_cast<unsigned>(n));
         h = NLMSG_NEXT(h, n)) {
      auto* msg = static_cast<cn_msg*>(NLMSG_DATA(h));
      if (msg->id.idx != CN_IDX_PROC || msg->id.val != CN_VAL_PROC) continue;
      // The event sits 4-byte aligned after cn_msg; proc_event needs 8: copy it out.
      proc_event ev{};
      std::memcpy(&ev, msg->data, std::min<size_t>(sizeof(ev), msg->len));
      const auto& d = ev.event_data;
      if (ev.what == proc_event::PROC_EVENT_FORK && d.fork.child_pid == d.fork.child_tgid) {
        history->OnFork(d.fork.child_tgid);
      } else if (ev.what == proc_event::PROC_EVENT_EXEC) {
        history->OnExec(d.exec.process_tgid, static_cast<int64_t>(ev.timestamp_ns));
      } else if (ev.what == proc_event::PROC_EVENT_EXIT &&
                 d.exit.process_pid == d.exit.process_tgid) {
        history->OnExit(d.exit.process_tgid);
      }
    }
  }
}

}  // namespace podmeter
