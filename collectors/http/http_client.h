// The libcurl settings and helpers shared by podmeter's HTTP clients (the pod sources and the
// metrics relay): a size-capped body sink, the common per-transfer options and the mapping of curl
// failures to podmeter's error reasons. Thread-safe (no shared state but curl's global init).
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace podmeter {

/// Calls curl_global_init once per process; call before creating handles. Thread-safe.
void InitCurlOnce();

/// Where a transfer's body goes: appended to `data`, or passed to `on_data` piece by piece as it
/// arrives. More than max_bytes aborts the transfer with too_large set and nothing past the limit
/// kept; on_data returning false aborts it with refused set (both: CURLE_WRITE_ERROR).
struct CurlBody {
  std::string data;  // unused with on_data
  std::function<bool(std::string_view)> on_data;
  size_t received = 0;
  size_t max_bytes = SIZE_MAX;
  bool too_large = false;
  bool refused = false;
  /// While it points at true, the transfer aborts (CURLE_ABORTED_BY_CALLBACK). May be null.
  const std::atomic<bool>* interrupted = nullptr;
};

/// Sets what every podmeter transfer uses on `curl` (after curl_easy_reset or init): the URL and
/// allowed protocols ("https,http"), no signals, the whole-request and connect timeouts (the
/// latter capped by the former), no redirects, gzip when offered (the limit applies to the decoded
/// body), `body` as the capped sink (also rejecting a larger Content-Length up front), the
/// interruption check and `errbuf` (CURL_ERROR_SIZE bytes). `url`, `body` and `errbuf` must
/// outlive the transfer.
void SetCommonCurlOptions(CURL* curl, const std::string& url, const char* protocols,
                          std::chrono::milliseconds timeout,
                          std::chrono::milliseconds connect_timeout, CurlBody* body, char* errbuf);

/// The error reason for a failed transfer: "timeout", "tls", "body_too_large", "parse" (a body
/// shorter than its Content-Length, or undecodable) or "connect" (everything else, including a
/// connection reset mid-response). A CURLE_WRITE_ERROR with body.too_large is "body_too_large";
/// with body.refused, "parse" (the caller knows better).
const char* CurlFailureReason(CURLcode code, const CurlBody& body);

/// A host for a URL authority: IPv6 literals get brackets.
std::string UrlHost(const std::string& host);

}  // namespace podmeter
