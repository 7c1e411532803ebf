#include "exporter/http_request.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cctype>
#include <cstring>
#include <memory>

namespace podmeter {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The next `sep`-separated part of `*rest` (trimmed); `*rest` keeps what follows the separator.
std::string_view NextPart(std::string_view* rest, char sep) {
  size_t at = rest->find(sep);
  std::string_view part = rest->substr(0, at);
  *rest = at == std::string_view::npos ? std::string_view() : rest->substr(at + 1);
  return Trim(part);
}

// RFC 9110 qvalue: "0", "0.", "0.0"... is zero; anything else (malformed included) is not.
bool IsZeroQ(std::string_view q) {
  if (q.empty() || q.front() != '0') return false;
  q.remove_prefix(1);
  if (q.empty()) return true;
  if (q.front() != '.' || q.size() > 4) return false;
  return q.find_first_not_of('0', 1) == std::string_view::npos;
}

// The q-value of one coding's parameters ("q=0.5;..."): true when it is above zero.
bool QAboveZero(std::string_view params) {
  while (!params.empty()) {
    std::string_view param = NextPart(&params, ';');
    if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
      return !IsZeroQ(Trim(param.substr(2)));
    }
  }
  return true;
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::string Sha256(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1) return {};
  return std::string(reinterpret_cast<const char*>(digest), size);
}

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::optional<std::string_view> HttpRequest::Header(std::string_view name) const {
  for (const HttpHeader& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return h.value;
  }
  return std::nullopt;
}

bool AcceptsGzip(std::string_view accept_encoding) {
  bool gzip = false, gzip_named = false, any = false;
  while (!accept_encoding.empty()) {
    std::string_view coding = NextPart(&accept_encoding, ',');
    size_t semi = coding.find(';');
    std::string_view name = Trim(coding.substr(0, semi));
    bool ok = semi == std::string_view::npos || QAboveZero(coding.substr(semi + 1));
    if (EqualsIgnoreCase(name, "gzip") || EqualsIgnoreCase(name, "x-gzip")) {
      gzip_named = true;
      gzip = gzip || ok;
    } else if (name == "*") {
      any = ok;
    }
  }
  return gzip || (!gzip_named && any);
}

std::optional<std::string> DecodeBase64(std::string_view text) {
  size_t pad = 0;
  while (pad < 2 && !text.empty() && text.back() == '=') {
    text.remove_suffix(1);
    ++pad;
  }
  if (pad > 0 && (text.size() + pad) % 4 != 0) return std::nullopt;
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    int v = Base64Value(c);
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<uint32_t>(v);
    if (++count == 4) {
      out.push_back(static_cast<char>((bits >> 16) & 0xff));
      out.push_back(static_cast<char>((bits >> 8) & 0xff));
      out.push_back(static_cast<char>(bits & 0xff));
      bits = 0;
      count = 0;
    }
  }
  if (count == 2) out.push_back(static_cast<char>((bits >> 4) & 0xff));
  if (count == 3) {
    out.push_back(static_cast<char>((bits >> 10) & 0xff));
    out.push_back(static_cast<char>((bits >> 2) & 0xff));
  }
  return out;
}

Credentials ParseAuthorization(std::string_view header) {
  Credentials c;
  header = Trim(header);
  if (header.empty()) return c;
  size_t space = header.find(' ');
  std::string_view scheme = header.substr(0, space);
  std::string_view value =
      space == std::string_view::npos ? std::string_view() : Trim(header.substr(space + 1));
  c.scheme = Credentials::Scheme::kMalformed;
  if (value.empty()) return c;
  if (EqualsIgnoreCase(scheme, "Bearer")) {
    c.scheme = Credentials::Scheme::kBearer;
    c.secret = std::string(value);
  } else if (EqualsIgnoreCase(scheme, "Basic")) {
    std::optional<std::string> decoded = DecodeBase64(value);
    size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) return c;
    c.scheme = Credentials::Scheme::kBasic;
    c.user = decoded->substr(0, colon);
    c.secret = decoded->substr(colon + 1);
  }
  return c;
}

bool IsBcryptHash(std::string_view hash) {
  // $2b$10$ + 22 characters of salt + 31 of hash, in bcrypt's own base64 alphabet.
  if (hash.size() != 60 || hash.substr(0, 2) != "$2" || hash[3] != '$' || hash[6] != '$') {
    return false;
  }
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return false;
  if (!std::isdigit(static_cast<unsigned char>(hash[4])) ||
      !std::isdigit(static_cast<unsigned char>(hash[5]))) {
    return false;
  }
  int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  for (char c : hash.substr(7)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '/') return false;
  }
  return true;
}

bool BcryptMatches(const std::string& hash, const std::string& password) {
  if (!IsBcryptHash(hash) || password.find('\0') != std::string::npos) return false;
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof(*data));
  return out != nullptr && ConstantTimeEquals(out, hash);
}

Authenticator::Authenticator(std::map<std::string, std::string> basic_users,
                             std::string bearer_token, Verifier verify)
    : basic_users_(std::move(basic_users)),
      bearer_token_(std::move(bearer_token)),
      verify_(std::move(verify)) {}

bool Authenticator::AllowsBasic(const std::string& user, const std::string& password) {
  auto found = basic_users_.find(user);
  std::string sha = Sha256(user + '\0' + password);
  if (found == basic_users_.end()) {
    // As long as a known user's check, so that timing does not tell which users exist.
    std::lock_guard<std::mutex> lock(verify_mu_);
    if (!basic_users_.empty()) verify_(basic_users_.begin()->second, password);
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(good_mu_);
    auto good = good_password_sha_.find(user);
    if (good != good_password_sha_.end() && !sha.empty() && ConstantTimeEquals(good->second, sha)) {
      return true;
    }
  }
  {
    std::lock_guard<std::mutex> lock(verify_mu_);
    if (!verify_(found->second, password)) return false;
  }
  std::lock_guard<std::mutex> lock(good_mu_);
  good_password_sha_[user] = sha;
  return true;
}

bool Authenticator::Allows(std::optional<std::string_view> authorization) {
  if (std::optional<bool> quick = Quick(authorization)) return *quick;
  Credentials c = ParseAuthorization(*authorization);  // Basic: Quick had no answer
  return AllowsBasic(c.user, c.secret);
}

std::optional<bool> Authenticator::Quick(std::optional<std::string_view> authorization) {
  if (!required()) return true;
  if (!authorization) return false;
  Credentials c = ParseAuthorization(*authorization);
  if (c.scheme == Credentials::Scheme::kBearer) {
    return !bearer_token_.empty() && ConstantTimeEquals(c.secret, bearer_token_);
  }
  if (c.scheme != Credentials::Scheme::kBasic || basic_users_.empty()) return false;
  if (basic_users_.count(c.user) == 0) return std::nullopt;
  std::string sha = Sha256(c.user + '\0' + c.secret);
  std::lock_guard<std::mutex> lock(good_mu_);
  auto good = good_password_sha_.find(c.user);
  if (good != good_password_sha_.end() && !sha.empty() && ConstantTimeEquals(good->second, sha)) {
    return true;
  }
  return std::nullopt;
}

std::string Authenticator::Challenge() const {
  std::string challenge;
  if (!basic_users_.empty()) challenge = "Basic realm=\"podmeter\", charset=\"UTF-8\"";
  if (!bearer_token_.empty()) challenge += (challenge.empty() ? "" : ", ") + std::string("Bearer");
  return challenge;
}

namespace {

// The routing, with `allowed` deciding /metrics (called only when it is asked for).
template <typename Allowed>
HttpDecision Decide(const HttpRequest& request, Allowed allowed) {
  HttpDecision d;
  using Page = HttpDecision::Page;
  if (request.path == "/metrics") d.page = Page::kMetrics;
  if (request.path == "/healthz") d.page = Page::kHealthz;
  if (request.path == "/") d.page = Page::kIndex;
  d.body = request.method != "HEAD";
  if (d.page == Page::kNone) return d;  // 404
  if (request.method != "GET" && request.method != "HEAD") {
    d.status = 405;
    d.page = Page::kNone;
    return d;
  }
  if (d.page == Page::kMetrics) {
    if (!allowed()) {
      d.status = 401;
      d.page = Page::kNone;
      return d;
    }
    std::optional<std::string_view> encoding = request.Header("Accept-Encoding");
    d.gzip = encoding && AcceptsGzip(*encoding);
  }
  d.status = 200;
  return d;
}

}  // namespace

HttpDecision DecideRequest(const HttpRequest& request, Authenticator* auth) {
  return Decide(request,
                [&] { return auth == nullptr || auth->Allows(request.Header("Authorization")); });
}

HttpDecision DecideRequest(const HttpRequest& request, bool allowed) {
  return Decide(request, [allowed] { return allowed; });
}

bool AsksForMetrics(const HttpRequest& request) {
  return request.path == "/metrics" && (request.method == "GET" || request.method == "HEAD");
}

}  // namespace podmeter
