#include "collectors/kube/pod_source.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <utility>

#include "collectors/base/file_util.h"
#include "collectors/http/http_client.h"

namespace podmeter {
namespace {

using std::chrono::milliseconds;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

std::string_view Trim(std::string_view s) {
  const char* kSpace = " \t\r\n";
  size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(kSpace);
  return s.substr(b, e - b + 1);
}

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    bool unreserved = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~';
    if (unreserved) {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

bool IsHttpUrl(const std::string& url) {
  return url.starts_with("https://") || url.starts_with("http://");
}

// ---------------------------------------------------------------------------------------------
// File source

// What stat says about the file, to notice a rewrite or a rename over it.
struct FileIdentity {
  int err = 0;  // errno of a failed stat/open; then the rest is zero
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;

  static FileIdentity Of(const struct stat& st) {
    FileIdentity id;
    id.dev = st.st_dev;
    id.ino = st.st_ino;
    id.size = st.st_size;
    id.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
    id.ctime_ns = int64_t{st.st_ctim.tv_sec} * 1000000000 + st.st_ctim.tv_nsec;
    return id;
  }
  static FileIdentity Error(int err) {
    FileIdentity id;
    id.err = err;
    return id;
  }
  bool operator==(const FileIdentity&) const = default;
};

class FilePodSource : public PodSource {
 public:
  FilePodSource(std::string path, size_t max_bytes) : path_(std::move(path)), max_(max_bytes) {}

  StatusOr<std::vector<PodMeta>> Fetch(std::string* reason) override {
    StatusOr<std::string> text = Read(reason);
    if (!text.ok()) return text.status();
    StatusOr<std::vector<PodMeta>> pods = parser_.Parse(*text);
    if (!pods.ok()) {
      *reason = "parse";
      return Status::InvalidData(path_ + ": " + pods.status().message());
    }
    return pods;
  }

  bool MayHaveChanged() override {
    struct stat st;
    FileIdentity now =
        ::stat(path_.c_str(), &st) == 0 ? FileIdentity::Of(st) : FileIdentity::Error(errno);
    return !last_.has_value() || now != *last_;
  }

  std::string Describe() const override { return "file " + path_; }

 private:
  StatusOr<std::string> Read(std::string* reason) {
    *reason = "read";
    int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      last_ = FileIdentity::Error(err);
      return Status::FromErrno(err, path_);
    }
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      last_ = FileIdentity::Error(err);
      return Status::FromErrno(err, path_);
    }
    // Identity before reading: a change while we read shows up at the next check.
    last_ = FileIdentity::Of(st);
    bool too_large = false;
    auto read = ReadAll(fd, path_, max_, &too_large);
    ::close(fd);
    if (!read.ok()) {
      if (too_large) *reason = "body_too_large";
      return read.status();
    }
    const std::string& content = *read;
    reason->clear();
    return content;
  }

  const std::string path_;
  const size_t max_;
  std::optional<FileIdentity> last_;  // of the last Fetch's file, or of its failure
  PodListParser parser_;
};

// ---------------------------------------------------------------------------------------------
// HTTP(S) source: the kubelet's /pods or the API server's pod list

struct HttpSettings {
  std::string url;
  std::string token_file;  // "" → no Authorization header
  std::string ca_file;     // "" → the system's CAs
  bool insecure = false;
  milliseconds timeout{3000};
  milliseconds connect_timeout{1000};
  size_t max_body = 0;
};

class HttpPodSource : public PodSource {
 public:
  HttpPodSource(std::string kind, HttpSettings settings)
      : kind_(std::move(kind)), s_(std::move(settings)), curl_(curl_easy_init()) {}
  ~HttpPodSource() override {
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
  }
  HttpPodSource(const HttpPodSource&) = delete;
  HttpPodSource& operator=(const HttpPodSource&) = delete;

  StatusOr<std::vector<PodMeta>> Fetch(std::string* reason) override {
    reason->clear();
    if (curl_ == nullptr) {
      *reason = "connect";
      return Status::Unavailable(s_.url + ": curl_easy_init failed");
    }
    if (interrupted_.load()) return Status::Unavailable(s_.url + ": interrupted");
    std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(nullptr, &curl_slist_free_all);
    Status s = RequestHeaders(&headers, reason);
    if (!s.ok()) return s;
    CurlBody body;
    body.max_bytes = s_.max_body;
    body.interrupted = &interrupted_;
    char errbuf[CURL_ERROR_SIZE] = {};
    // Reset keeps the connection, DNS and TLS session caches.
    curl_easy_reset(curl_);
    SetCommonCurlOptions(curl_, s_.url, "https,http", s_.timeout, s_.connect_timeout, &body,
                         errbuf);
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers.get());
    if (s_.insecure) {
      curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (!s_.ca_file.empty()) {
      curl_easy_setopt(curl_, CURLOPT_CAINFO, s_.ca_file.c_str());
    }
    CURLcode code = curl_easy_perform(curl_);
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, nullptr);  // the token leaves with `headers`
    return Response(code, body, errbuf, reason);
  }

  void SetInterrupted(bool interrupted) override { interrupted_.store(interrupted); }
  std::string Describe() const override { return kind_ + " " + s_.url; }

 private:
  // The Authorization (from the token file, re-read every time: projected service-account
  // tokens rotate) and Accept headers; also checks that the CA file is readable.
  Status RequestHeaders(std::unique_ptr<curl_slist, void (*)(curl_slist*)>* headers,
                        std::string* reason) const {
    std::string auth_header;
    if (!s_.token_file.empty()) {
      StatusOr<std::string> token = ReadFileToString(s_.token_file);
      if (!token.ok()) {
        *reason = "read";
        return Status(token.status());
      }
      std::string_view t = Trim(*token);
      if (t.empty()) {
        *reason = "read";
        return Status::InvalidData(s_.token_file + ": empty token");
      }
      auth_header = "Authorization: Bearer " + std::string(t);
    }
    if (!s_.insecure && !s_.ca_file.empty() && ::access(s_.ca_file.c_str(), R_OK) != 0) {
      *reason = "read";
      return Status::FromErrno(errno, s_.ca_file);
    }
    for (const std::string& h : {auth_header, std::string("Accept: application/json")}) {
      if (h.empty()) continue;
      curl_slist* next = curl_slist_append(headers->get(), h.c_str());
      if (next == nullptr) {
        *reason = "connect";
        return Status::IoError("curl_slist_append failed");
      }
      headers->release();
      headers->reset(next);
    }
    return Status::Ok();
  }

  // The pods of a finished transfer, or why not.
  StatusOr<std::vector<PodMeta>> Response(CURLcode code, const CurlBody& body, const char* errbuf,
                                          std::string* reason) const {
    if (code != CURLE_OK) {
      std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(code);
      if (code == CURLE_ABORTED_BY_CALLBACK && interrupted_.load()) {
        return Status::Unavailable(s_.url + ": interrupted");
      }
      if (code == CURLE_WRITE_ERROR && body.too_large) {
        *reason = "body_too_large";
        return Status::InvalidData(s_.url + ": body larger than " + std::to_string(s_.max_body) +
                                   " bytes");
      }
      *reason = CurlFailureReason(code, body);
      return Status::Unavailable(s_.url + ": " + detail);
    }
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    if (status == 401 || status == 403) {
      *reason = "unauthorized";
      return Status::PermissionDenied(s_.url + ": HTTP " + std::to_string(status));
    }
    if (status != 200) {
      *reason = "http_status";
      return Status::Unavailable(s_.url + ": HTTP " + std::to_string(status));
    }
    StatusOr<std::vector<PodMeta>> pods = parser_.Parse(body.data);
    if (!pods.ok()) {
      *reason = "parse";
      return Status::InvalidData(s_.url + ": " + pods.status().message());
    }
    return pods;
  }

  const std::string kind_;
  const HttpSettings s_;
  CURL* const curl_;
  std::atomic<bool> interrupted_{false};
  // Fetch runs on one thread at a time (the poller's fetch mutex); Response is const.
  mutable PodListParser parser_;
};

// The kubelet's /pods URL: --kubelet-url, else https://<node>:10250/pods.
StatusOr<std::string> KubeletUrl(const PodSourceOptions& options, const std::string& node) {
  if (!options.kubelet_url.empty()) {
    if (!IsHttpUrl(options.kubelet_url)) {
      return Status::InvalidData("--kubelet-url must start with https:// or http://");
    }
    return options.kubelet_url;
  }
  if (!node.empty()) return "https://" + UrlHost(node) + ":10250/pods";
  return Status::InvalidData(
      "--pod-source=kubelet needs --kubelet-url, or --node-name (or $NODE_NAME)");
}

// The API server's list of this node's pods: --api-server-url, else the in-cluster service.
StatusOr<std::string> ApiServerUrl(const PodSourceOptions& options, const std::string& node) {
  if (node.empty()) {
    return Status::InvalidData("--pod-source=apiserver needs --node-name (or $NODE_NAME)");
  }
  std::string base = options.api_server_url;
  if (base.empty()) {
    std::string host = Env("KUBERNETES_SERVICE_HOST");
    std::string port = Env("KUBERNETES_SERVICE_PORT");
    if (host.empty()) {
      return Status::InvalidData(
          "--pod-source=apiserver needs --api-server-url (or $KUBERNETES_SERVICE_HOST)");
    }
    base = "https://" + UrlHost(host) + (port.empty() ? "" : ":" + port);
  } else if (!IsHttpUrl(base)) {
    return Status::InvalidData("--api-server-url must start with https:// or http://");
  }
  while (base.ends_with('/')) base.pop_back();
  return base + "/api/v1/pods?fieldSelector=spec.nodeName=" + PercentEncode(node);
}

}  // namespace

StatusOr<std::unique_ptr<PodSource>> NewPodSource(const PodSourceOptions& options) {
  using Kind = PodSourceOptions::Kind;
  if (options.max_body_bytes == 0) return Status::InvalidData("--pod-max-body-bytes must be > 0");
  if (options.kind == Kind::kNone) return Status::InvalidData("--pod-source: none chosen");
  if (options.kind == Kind::kFile) {
    if (options.pods_file.empty()) {
      return Status::InvalidData("--pods-file is required with --pod-source=file");
    }
    return std::unique_ptr<PodSource>(
        std::make_unique<FilePodSource>(options.pods_file, options.max_body_bytes));
  }
  if (options.timeout.count() <= 0) return Status::InvalidData("--pod-timeout must be > 0");
  if (options.connect_timeout.count() <= 0) {
    return Status::InvalidData("--pod-connect-timeout must be > 0");
  }
  if (options.kind != Kind::kKubelet && options.kind != Kind::kApiServer) {
    return Status::InvalidData("--pod-source: unknown kind");
  }
  HttpSettings s;
  s.token_file = options.token_file.empty() ? kServiceAccountTokenFile : options.token_file;
  s.ca_file = options.ca_file.empty() ? kServiceAccountCaFile : options.ca_file;
  s.insecure = options.insecure_skip_tls_verify;
  s.timeout = options.timeout;
  s.connect_timeout = options.connect_timeout;
  s.max_body = options.max_body_bytes;
  std::string node = options.node_name.empty() ? Env("NODE_NAME") : options.node_name;
  const bool kubelet = options.kind == Kind::kKubelet;
  auto url = kubelet ? KubeletUrl(options, node) : ApiServerUrl(options, node);
  if (!url.ok()) return url.status();
  s.url = std::move(url.value());
  InitCurlOnce();
  return std::unique_ptr<PodSource>(
      std::make_unique<HttpPodSource>(kubelet ? "kubelet" : "apiserver", std::move(s)));
}

// ---------------------------------------------------------------------------------------------
// Poller

PodMetadataPoller::PodMetadataPoller(std::unique_ptr<PodSource> source, milliseconds interval,
                                     milliseconds change_check)
    : source_(std::move(source)),
      interval_(std::max(interval, milliseconds(1))),
      change_check_(change_check) {
  for (const char* reason : kPodSourceErrorReasons) errors_[reason] = 0;
}

PodMetadataPoller::~PodMetadataPoller() { Stop(); }

void PodMetadataPoller::SetCallbacks(Callbacks callbacks) { callbacks_ = std::move(callbacks); }

void PodMetadataPoller::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
}

void PodMetadataPoller::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  if (!thread_.joinable()) return;
  source_->SetInterrupted(true);
  thread_.join();
  source_->SetInterrupted(false);
}

void PodMetadataPoller::PollOnce() {
  std::lock_guard<std::mutex> fetch_lock(fetch_mutex_);
  std::string reason;
  StatusOr<std::vector<PodMeta>> result = source_->Fetch(&reason);
  if (result.ok()) {
    auto list = std::make_shared<const std::vector<PodMeta>>(std::move(result.value()));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      latest_ = list;
      ++successes_;
      last_success_ = Clock::now();
      last_status_ = Status::Ok();
    }
    changed_.notify_all();
    if (callbacks_.on_update) callbacks_.on_update(list);
    return;
  }
  if (reason.empty()) return;  // interrupted by Stop: not the source's fault
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++errors_[reason];
    last_status_ = result.status();
  }
  if (callbacks_.on_error) callbacks_.on_error(reason, result.status());
}

void PodMetadataPoller::Loop() {
  using SteadyClock = std::chrono::steady_clock;
  SteadyClock::time_point next_full = SteadyClock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    lock.unlock();
    SteadyClock::time_point now = SteadyClock::now();
    if (now >= next_full) {
      next_full = now + interval_;
      PollOnce();
    } else if (change_check_.count() > 0) {
      bool changed;
      {
        std::lock_guard<std::mutex> fetch_lock(fetch_mutex_);
        changed = source_->MayHaveChanged();
      }
      if (changed) PollOnce();
    }
    SteadyClock::time_point wake = next_full;
    if (change_check_.count() > 0) wake = std::min(wake, SteadyClock::now() + change_check_);
    lock.lock();
    changed_.wait_until(lock, wake, [this] { return stop_; });
  }
}

std::shared_ptr<const std::vector<PodMeta>> PodMetadataPoller::Latest() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return latest_;
}

std::map<std::string, uint64_t> PodMetadataPoller::ErrorCounts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return errors_;
}

uint64_t PodMetadataPoller::successes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return successes_;
}

std::optional<PodMetadataPoller::Clock::time_point> PodMetadataPoller::last_success_time() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_success_;
}

Status PodMetadataPoller::last_status() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_status_;
}

bool PodMetadataPoller::WaitForSuccess(uint64_t after, milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return successes_ > after; });
}

StatusOr<std::unique_ptr<PodMetadataPoller>> NewPodMetadataPoller(const PodSourceOptions& options) {
  if (options.interval.count() <= 0) return Status::InvalidData("--pods-interval must be > 0");
  StatusOr<std::unique_ptr<PodSource>> source = NewPodSource(options);
  if (!source.ok()) return source.status();
  milliseconds check =
      options.kind == PodSourceOptions::Kind::kFile ? options.file_check_interval : milliseconds(0);
  return std::make_unique<PodMetadataPoller>(std::move(source.value()), options.interval, check);
}

}  // namespace podmeter
