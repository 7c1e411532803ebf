// The decisions of the HTTP endpoints apart from the server's sockets: which page a request gets,
// with which status, gzipped or not, and whether its credentials are good. Pure functions of the
// request's parts (http_head.h parses the request line and headers), unit-tested and fuzzed
// (tests/fuzz/http_request_fuzz.cc) without sockets. Thread-compatible; Authenticator is
// thread-safe.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace podmeter {

struct HttpHeader {
  std::string_view name;
  std::string_view value;
};

/// A parsed request as ParseHead (http_head.h) hands it over.
struct HttpRequest {
  std::string_view method;  ///< "GET", "HEAD", ...
  std::string_view path;    ///< percent-decoded, without the query
  std::vector<HttpHeader> headers;

  /// The first header named `name` (case-insensitive), or nullopt.
  std::optional<std::string_view> Header(std::string_view name) const;
};

/// True when an Accept-Encoding value accepts gzip: "gzip", "x-gzip" or "*" with a q-value
/// above 0 ("gzip;q=0" refuses it, as does "*;q=0" without gzip named).
bool AcceptsGzip(std::string_view accept_encoding);

/// Standard base64 (RFC 4648 §4, padding optional); nullopt on any other byte.
std::optional<std::string> DecodeBase64(std::string_view text);

/// An Authorization header value, split by scheme.
struct Credentials {
  enum class Scheme { kNone, kBasic, kBearer, kMalformed };
  Scheme scheme = Scheme::kNone;
  std::string user;    ///< Basic only
  std::string secret;  ///< the Basic password or the Bearer token
};
Credentials ParseAuthorization(std::string_view header);

/// The credentials /metrics asks for (--web.config.file): basic_auth_users (name → bcrypt hash)
/// and/or a bearer token; either is enough. Without both, every request is allowed. A good
/// password's SHA-256 is remembered per user (bcrypt takes ~70 ms at cost 10), and bcrypt runs
/// one at a time, so wrong passwords cost at most one core. Quick() answers what needs no bcrypt:
/// the HTTP server asks it on its loop and runs Allows() for the rest on a thread of its own, so
/// a flood of wrong passwords never holds up another client.
class Authenticator {
 public:
  /// Checks `password` against a bcrypt `hash`.
  using Verifier = std::function<bool(const std::string& hash, const std::string& password)>;

  Authenticator(std::map<std::string, std::string> basic_users, std::string bearer_token,
                Verifier verify);
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  bool required() const { return !basic_users_.empty() || !bearer_token_.empty(); }
  bool has_basic_users() const { return !basic_users_.empty(); }
  /// True when the Authorization header value (nullopt: none sent) carries good credentials.
  bool Allows(std::optional<std::string_view> authorization);
  /// Allows() when it needs no bcrypt (no or malformed credentials, a bearer token, a Basic
  /// password known good); nullopt when only bcrypt can tell (a user unknown too: as long as a
  /// known one's check, so that timing does not tell which users exist).
  std::optional<bool> Quick(std::optional<std::string_view> authorization);
  /// The WWW-Authenticate value of a 401: Basic and/or Bearer challenges.
  std::string Challenge() const;

 private:
  bool AllowsBasic(const std::string& user, const std::string& password);

  const std::map<std::string, std::string> basic_users_;
  const std::string bearer_token_;
  const Verifier verify_;
  std::mutex verify_mu_;                                  // serializes verify_
  std::mutex good_mu_;                                    // guards:
  std::map<std::string, std::string> good_password_sha_;  // user → SHA-256 of the last good one
};

/// bcrypt ($2a$, $2b$, $2y$) through libxcrypt's crypt_rn; false on any error.
bool BcryptMatches(const std::string& hash, const std::string& password);
/// True when `hash` is a well-formed bcrypt hash with a cost of 4 to 31.
bool IsBcryptHash(std::string_view hash);

/// What the server answers to a request.
struct HttpDecision {
  enum class Page { kMetrics, kHealthz, kIndex, kNone };
  int status = 404;         ///< 200, 401 (bad or no credentials), 404, 405 (not GET/HEAD)
  Page page = Page::kNone;  ///< the page for a 200 (/healthz may still answer 503)
  bool gzip = false;        ///< /metrics gzipped (the client accepts it)
  bool body = true;         ///< false for HEAD
};

/// Routes /metrics (credentials checked when `auth` requires them), /healthz and / (never
/// behind credentials: they tell nothing, and the kubelet's probes send none).
HttpDecision DecideRequest(const HttpRequest& request, Authenticator* auth);
/// The same with the credentials already judged (`allowed`: Authenticator::Quick's answer, or
/// Allows' from the server's verifier thread): no check of its own.
HttpDecision DecideRequest(const HttpRequest& request, bool allowed);
/// True for a GET or HEAD of /metrics: the only page behind credentials.
bool AsksForMetrics(const HttpRequest& request);

}  // namespace podmeter
