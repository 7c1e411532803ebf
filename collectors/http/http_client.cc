#include "collectors/http/http_client.h"

#include <algorithm>
#include <mutex>

namespace podmeter {
namespace {

size_t WriteBody(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* body = static_cast<CurlBody*>(userdata);
  size_t n = size * nmemb;
  if (n > body->max_bytes - body->received) {
    body->too_large = true;
    return 0;  // makes curl fail with CURLE_WRITE_ERROR
  }
  body->received += n;
  if (body->on_data) {
    if (body->on_data(std::string_view(data, n))) return n;
    body->refused = true;
    return 0;
  }
  size_t need = body->data.size() + n;
  if (need > body->data.capacity()) {
    // Doubling, but never past the limit: a body at the limit costs the limit, not 1.6 times it.
    body->data.reserve(std::min(body->max_bytes, std::max(need, 2 * body->data.capacity())));
  }
  body->data.append(data, n);
  return n;
}

int Progress(void* userdata, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* body = static_cast<CurlBody*>(userdata);
  return body->interrupted != nullptr && body->interrupted->load(std::memory_order_relaxed) ? 1 : 0;
}

}  // namespace

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

void SetCommonCurlOptions(CURL* curl, const std::string& url, const char* protocols,
                          std::chrono::milliseconds timeout,
                          std::chrono::milliseconds connect_timeout, CurlBody* body, char* errbuf) {
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, protocols);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min(connect_timeout, timeout).count()));
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // gzip if offered; limit is decoded
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
  if (body->max_bytes < static_cast<size_t>(INT64_MAX)) {
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(body->max_bytes));
  }
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &Progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, body);
}

const char* CurlFailureReason(CURLcode code, const CurlBody& body) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return "timeout";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
      return "tls";
    case CURLE_FILESIZE_EXCEEDED:
      return "body_too_large";
    case CURLE_WRITE_ERROR:
      return body.too_large ? "body_too_large" : body.refused ? "parse" : "connect";
    case CURLE_PARTIAL_FILE:
    case CURLE_BAD_CONTENT_ENCODING:
      return "parse";
    default:
      return "connect";
  }
}

std::string UrlHost(const std::string& host) {
  if (host.find(':') != std::string::npos && host.front() != '[') return "[" + host + "]";
  return host;
}

}  // namespace podmeter
