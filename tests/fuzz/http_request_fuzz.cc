// libFuzzer target for the HTTP request head's parsing (exporter/http_head.h) and the request
// decisions (exporter/http_request.h): ParseHead, DecideRequest with
// an Authenticator asking for credentials, AcceptsGzip, ParseAuthorization, DecodeBase64 and
// IsBcryptHash (tests/fuzz/run.sh builds and runs it). The input is a raw request head
// ("GET /metrics HTTP/1.1\r\nName: value\r\n..."), parsed by ParseHead as the server does.
// Beyond "no crash, no sanitizer report":
//   - a 200 only for GET/HEAD of /, /healthz or /metrics; 401 only on /metrics; no body for HEAD;
//   - /metrics answers 200 exactly when the credentials are alice:s3cret (Basic) or tok3n
//     (Bearer), also on a second look (the remembered good password);
//   - gzip only when Accept-Encoding names gzip or *;
//   - base64 of the input decodes back to it, and Basic credentials built from it parse back.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "exporter/http_head.h"
#include "exporter/http_request.h"

namespace {

using podmeter::Credentials;
using podmeter::HttpDecision;

[[noreturn]] void Broken(const char* what) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

std::string EncodeBase64(std::string_view in) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

bool ContainsIgnoreCase(std::string_view hay, std::string_view needle) {
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    size_t j = 0;
    while (j < needle.size() && std::tolower(static_cast<unsigned char>(hay[i + j])) == needle[j]) {
      ++j;
    }
    if (j == needle.size()) return true;
  }
  return false;
}

// The one good password and token; the "hash" check is a plain comparison (bcrypt itself is
// libxcrypt's and far too slow to fuzz through).
podmeter::Authenticator& Auth() {
  static podmeter::Authenticator auth({{"alice", "HASH-alice"}, {"bob", "HASH-bob"}}, "tok3n",
                                      [](const std::string& hash, const std::string& password) {
                                        return hash == "HASH-alice" && password == "s3cret";
                                      });
  return auth;
}

bool GoodCredentials(const podmeter::HttpRequest& request) {
  std::optional<std::string_view> header = request.Header("Authorization");
  if (!header) return false;
  Credentials c = podmeter::ParseAuthorization(*header);
  return (c.scheme == Credentials::Scheme::kBasic && c.user == "alice" && c.secret == "s3cret") ||
         (c.scheme == Credentials::Scheme::kBearer && c.secret == "tok3n");
}

void CheckDecision(const podmeter::HttpRequest& request) {
  HttpDecision d = podmeter::DecideRequest(request, &Auth());
  HttpDecision again = podmeter::DecideRequest(request, &Auth());
  if (d.status != again.status || d.gzip != again.gzip) Broken("a second look decides otherwise");
  bool known = request.path == "/" || request.path == "/healthz" || request.path == "/metrics";
  bool get_or_head = request.method == "GET" || request.method == "HEAD";
  if (d.body != (request.method != "HEAD")) Broken("a body for HEAD, or none for GET");
  if ((d.status == 200) != (d.page != HttpDecision::Page::kNone)) Broken("page without 200");
  if (d.status == 404 && known) Broken("404 for a known path");
  if (d.status == 405 && (!known || get_or_head)) Broken("405 for GET/HEAD or an unknown path");
  if (d.status == 401 && (request.path != "/metrics" || !get_or_head)) Broken("401 off /metrics");
  if (d.status == 200 && (!known || !get_or_head)) Broken("200 for what is not served");
  if (request.path == "/metrics" && get_or_head && (d.status == 200) != GoodCredentials(request)) {
    Broken("/metrics: 200 without good credentials, or not 200 with them");
  }
  if (d.gzip) {
    std::optional<std::string_view> ae = request.Header("Accept-Encoding");
    if (!ae || (!ContainsIgnoreCase(*ae, "gzip") && ae->find('*') == std::string_view::npos)) {
      Broken("gzip without Accept-Encoding naming it");
    }
  }
}

void CheckCodecs(std::string_view text) {
  std::optional<std::string> decoded = podmeter::DecodeBase64(EncodeBase64(text));
  if (!decoded || *decoded != text) Broken("base64 round trip");
  std::string user(text.substr(0, text.find(':')));
  std::string password(text.substr(std::min(text.size(), user.size() + 1)));
  Credentials c = podmeter::ParseAuthorization("Basic " + EncodeBase64(user + ":" + password));
  if (c.scheme != Credentials::Scheme::kBasic || c.user != user || c.secret != password) {
    Broken("Basic credentials do not parse back");
  }
  podmeter::DecodeBase64(text);
  podmeter::AcceptsGzip(text);
  if (podmeter::IsBcryptHash(text) && (text.size() != 60 || text.substr(0, 2) != "$2")) {
    Broken("IsBcryptHash accepted what is not one");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  podmeter::ParsedHead head = podmeter::ParseHead(text);  // as the server parses a head
  if (head.error == 0) {
    CheckDecision(head.request());
  } else if (head.error != 400) {
    Broken("ParseHead failed with another status than 400");
  }
  CheckCodecs(text.substr(0, 256));
  return 0;
}
