#include "lab/process.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "collectors/http/http_client.h"

extern char** environ;

namespace podmeter::lab {

StatusOr<int> StartInCgroup(const std::vector<std::string>& argv,
                            const std::vector<std::pair<std::string, std::string>>& env,
                            const std::vector<std::string>& procs_files,
                            const std::string& log_path, const std::string& workdir) {
  if (argv.empty()) return Status::InvalidData("empty command");
  // Everything the child needs is prepared before fork: after it only async-signal-safe calls.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    bool overridden = false;
    for (const auto& [k, v] : env) overridden = overridden || kv.substr(0, k.size() + 1) == k + "=";
    if (!overridden) env_strings.emplace_back(kv);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& a : argv_copy) args.push_back(a.data());
  args.push_back(nullptr);
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return Status::FromErrno(errno, log_path);
  std::vector<int> procs_fds;
  for (const std::string& f : procs_files) {
    int fd = ::open(f.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      for (int o : procs_fds) ::close(o);
      ::close(log_fd);
      return Status::FromErrno(err, f);
    }
    procs_fds.push_back(fd);
  }
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  pid_t pid = ::fork();
  if (pid < 0) return Status::FromErrno(errno, "fork");
  if (pid == 0) {
    ::setpgid(0, 0);
    char buf[16];
    int n = 0;
    for (pid_t p = ::getpid(); p > 0; p /= 10) buf[n++] = static_cast<char>('0' + p % 10);
    char num[16];
    for (int i = 0; i < n; ++i) num[i] = buf[n - 1 - i];
    for (int fd : procs_fds) {
      if (::write(fd, num, static_cast<size_t>(n)) != n) {
        int e = errno;
        ssize_t w = ::write(err_pipe[1], &e, sizeof(e));
        (void)w;
        ::_exit(126);
      }
    }
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    if (!workdir.empty() && ::chdir(workdir.c_str()) != 0) ::_exit(126);
    ::execvpe(args[0], args.data(), envp.data());
    int e = errno;
    ssize_t w = ::write(err_pipe[1], &e, sizeof(e));
    (void)w;
    ::_exit(127);
  }
  for (int fd : procs_fds) ::close(fd);
  ::close(log_fd);
  ::close(err_pipe[1]);
  int child_errno = 0;
  ssize_t got = ::read(err_pipe[0], &child_errno, sizeof(child_errno));
  ::close(err_pipe[0]);
  if (got == sizeof(child_errno)) {
    return Status::FromErrno(child_errno, "starting " + argv[0]);
  }
  return static_cast<int>(pid);
}

StatusOr<std::string> HttpGet(const std::string& url, std::chrono::milliseconds timeout,
                              size_t max_bytes) {
  InitCurlOnce();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return Status::IoError("curl_easy_init failed");
  CurlBody body;
  body.max_bytes = max_bytes;
  char errbuf[CURL_ERROR_SIZE] = {0};
  SetCommonCurlOptions(curl, url, "http", timeout, std::chrono::seconds(3), &body, errbuf);
  CURLcode rc = curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) return Status::Unavailable(url + ": " + errbuf);
  if (code != 200) {
    return Status::InvalidData(url + " answered HTTP " + std::to_string(code) + ": " +
                               body.data.substr(0, 300));
  }
  return body.data;
}

std::string HttpGetOrEmpty(const std::string& url) {
  auto body = HttpGet(url, std::chrono::seconds(3));
  return body.ok() ? *body : std::string();
}

int HttpGetStatus(int port, const std::string& path, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto left = [&] {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now())
                  .count();
    return static_cast<int>(ms > 0 ? ms : 0);
  };
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int status = -1;
  std::string request = "GET " + path +
                        " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: "
                        "kube-probe/podmeter-lab\r\nConnection: close\r\n\r\n";
  pollfd pfd{fd, POLLOUT, 0};
  if ((::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 ||
       errno == EINPROGRESS) &&
      ::poll(&pfd, 1, left()) == 1) {
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == 0 && ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
                        static_cast<ssize_t>(request.size())) {
      std::string head;
      char buf[512];
      pfd.events = POLLIN;
      while (head.find("\r\n") == std::string::npos && ::poll(&pfd, 1, left()) == 1) {
        ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) break;
        head.append(buf, static_cast<size_t>(n));
      }
      if (head.size() > 12 && head.compare(0, 5, "HTTP/") == 0)
        status = std::atoi(head.c_str() + 9);
    }
  }
  ::close(fd);
  return status;
}

bool WaitHttpReady(int pid, int port, const std::string& path, double seconds,
                   const std::function<bool()>& stop) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline && !stop()) {
    if (HttpGetStatus(port, path, 500) == 200) return true;
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return false;  // it exited: see its log
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

}  // namespace podmeter::lab
