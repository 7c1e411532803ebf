#include "exporter/http_request.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>

namespace podmeter {
namespace {

// bcrypt hashes of "s3cret" (made with libxcrypt's crypt, cost 4).
constexpr char kHash2y[] = "$2y$04$abcdefghijklmnopqrstuuLZYjhNQAOdpbzt4WxWlUHjv1wsyH5DG";
constexpr char kHash2b[] = "$2b$04$ABCDEFGHIJKLMNOPQRSTUu0Rb5XL0ViUtngF7o5PK8EVz9D3oW8pm";

TEST(AcceptsGzip, HonoursNamesAndQValues) {
  EXPECT_TRUE(AcceptsGzip("gzip"));
  EXPECT_TRUE(AcceptsGzip("deflate, gzip, br, zstd"));  // curl --compressed
  EXPECT_TRUE(AcceptsGzip("GZip;q=0.5"));
  EXPECT_TRUE(AcceptsGzip("x-gzip"));
  EXPECT_TRUE(AcceptsGzip("*"));
  EXPECT_TRUE(AcceptsGzip("identity, *;q=0.1"));
  EXPECT_FALSE(AcceptsGzip(""));
  EXPECT_FALSE(AcceptsGzip("identity"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip; q=0.000, identity"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0, *"));  // named and refused: * does not bring it back
  EXPECT_FALSE(AcceptsGzip("*;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzipx, xgzip"));  // a substring is not a name
  EXPECT_TRUE(AcceptsGzip("gzip;q=0.001"));
}

TEST(DecodeBase64, StandardAlphabetPaddingOptional) {
  EXPECT_EQ(*DecodeBase64("YWxpY2U6czNjcmV0"), "alice:s3cret");
  EXPECT_EQ(*DecodeBase64("Ym9iOg=="), "bob:");
  EXPECT_EQ(*DecodeBase64("Ym9iOg"), "bob:");
  EXPECT_EQ(*DecodeBase64("YTpiOmM="), "a:b:c");
  EXPECT_EQ(*DecodeBase64(""), "");
  EXPECT_FALSE(DecodeBase64("Ym9iOg=").has_value());   // padding that does not fill a block
  EXPECT_FALSE(DecodeBase64("Ym9i=Og=").has_value());  // padding in the middle
  EXPECT_FALSE(DecodeBase64("YWxp Y2U6").has_value());
  EXPECT_FALSE(DecodeBase64("YWxpY").has_value());  // 4n+1 characters
  EXPECT_FALSE(DecodeBase64("YW-_").has_value());   // the URL alphabet is not Basic's
}

TEST(ParseAuthorization, Schemes) {
  Credentials basic = ParseAuthorization("Basic YWxpY2U6czNjcmV0");
  EXPECT_EQ(basic.scheme, Credentials::Scheme::kBasic);
  EXPECT_EQ(basic.user, "alice");
  EXPECT_EQ(basic.secret, "s3cret");
  Credentials colons = ParseAuthorization("basic  YTpiOmM=");  // the password may hold ':'
  EXPECT_EQ(colons.user, "a");
  EXPECT_EQ(colons.secret, "b:c");
  Credentials bearer = ParseAuthorization("Bearer tok3n ");
  EXPECT_EQ(bearer.scheme, Credentials::Scheme::kBearer);
  EXPECT_EQ(bearer.secret, "tok3n");
  EXPECT_EQ(ParseAuthorization("").scheme, Credentials::Scheme::kNone);
  EXPECT_EQ(ParseAuthorization("Basic").scheme, Credentials::Scheme::kMalformed);
  EXPECT_EQ(ParseAuthorization("Basic !!!!").scheme, Credentials::Scheme::kMalformed);
  EXPECT_EQ(ParseAuthorization("Basic YWxpY2U=").scheme, Credentials::Scheme::kMalformed);  // no :
  EXPECT_EQ(ParseAuthorization("Digest x").scheme, Credentials::Scheme::kMalformed);
}

TEST(Bcrypt, RealHashes) {
  EXPECT_TRUE(IsBcryptHash(kHash2y));
  EXPECT_TRUE(IsBcryptHash(kHash2b));
  EXPECT_TRUE(BcryptMatches(kHash2y, "s3cret"));
  EXPECT_TRUE(BcryptMatches(kHash2b, "s3cret"));
  EXPECT_FALSE(BcryptMatches(kHash2y, "s3crex"));
  EXPECT_FALSE(BcryptMatches(kHash2y, std::string("s3cret\0more", 11)));  // no C-string cut
  EXPECT_FALSE(IsBcryptHash("$1$abc$def"));
  EXPECT_FALSE(IsBcryptHash(std::string(kHash2y).substr(0, 59)));
  EXPECT_FALSE(IsBcryptHash("$2y$03$abcdefghijklmnopqrstuuLZYjhNQAOdpbzt4WxWlUHjv1wsyH5DG"));
  EXPECT_FALSE(IsBcryptHash("$2y$04$abcdefghijklmnopqrstuuLZYjhNQAOdpbzt4WxWlUHjv1wsyH5D!"));
}

HttpRequest Get(std::string_view path, std::vector<HttpHeader> headers = {}) {
  return HttpRequest{"GET", path, std::move(headers)};
}

TEST(DecideRequest, RoutesWithoutCredentials) {
  EXPECT_EQ(DecideRequest(Get("/metrics"), nullptr).status, 200);
  EXPECT_EQ(DecideRequest(Get("/metrics"), nullptr).page, HttpDecision::Page::kMetrics);
  EXPECT_FALSE(DecideRequest(Get("/metrics"), nullptr).gzip);
  EXPECT_TRUE(DecideRequest(Get("/metrics", {{"accept-encoding", "gzip"}}), nullptr).gzip);
  EXPECT_EQ(DecideRequest(Get("/healthz"), nullptr).page, HttpDecision::Page::kHealthz);
  EXPECT_EQ(DecideRequest(Get("/"), nullptr).page, HttpDecision::Page::kIndex);
  EXPECT_EQ(DecideRequest(Get("/metrics/"), nullptr).status, 404);
  EXPECT_EQ(DecideRequest(Get("/nope"), nullptr).status, 404);
  HttpDecision head = DecideRequest(HttpRequest{"HEAD", "/metrics", {}}, nullptr);
  EXPECT_EQ(head.status, 200);
  EXPECT_FALSE(head.body);
  EXPECT_EQ(DecideRequest(HttpRequest{"POST", "/metrics", {}}, nullptr).status, 405);
  EXPECT_EQ(DecideRequest(HttpRequest{"DELETE", "/", {}}, nullptr).status, 405);
}

TEST(DecideRequest, CredentialsOnMetricsOnly) {
  std::atomic<int> bcrypt_runs{0};
  Authenticator auth({{"alice", kHash2y}}, "tok3n",
                     [&](const std::string& hash, const std::string& password) {
                       ++bcrypt_runs;
                       return BcryptMatches(hash, password);
                     });
  EXPECT_TRUE(auth.required());
  EXPECT_EQ(auth.Challenge(), "Basic realm=\"podmeter\", charset=\"UTF-8\", Bearer");
  EXPECT_EQ(DecideRequest(Get("/metrics"), &auth).status, 401);
  EXPECT_EQ(DecideRequest(Get("/healthz"), &auth).status, 200);  // the kubelet's probes
  EXPECT_EQ(DecideRequest(Get("/"), &auth).status, 200);
  auto with = [&](std::string_view value) {
    return DecideRequest(Get("/metrics", {{"Authorization", value}}), &auth).status;
  };
  EXPECT_EQ(with("Basic YWxpY2U6czNjcmV0"), 200);
  EXPECT_EQ(with("Basic YWxpY2U6czNjcmV0"), 200);
  EXPECT_EQ(bcrypt_runs.load(), 1);                // the good password is remembered
  EXPECT_EQ(with("Basic YWxpY2U6czNjcmV4"), 401);  // alice:s3crex
  EXPECT_EQ(bcrypt_runs.load(), 2);                // a wrong one is checked every time
  EXPECT_EQ(with("Basic Ym9iOnMzY3JldA=="), 401);  // bob:s3cret, no such user
  EXPECT_EQ(with("Bearer tok3n"), 200);
  EXPECT_EQ(with("Bearer tok3"), 401);
  EXPECT_EQ(with("Bearer tok3nn"), 401);
  EXPECT_EQ(with("Basic dG9rM246"), 401);  // "tok3n:" is no user
}

TEST(DecideRequest, BearerOnlyRefusesBasic) {
  Authenticator auth({}, "tok3n", BcryptMatches);
  EXPECT_EQ(auth.Challenge(), "Bearer");
  EXPECT_EQ(
      DecideRequest(Get("/metrics", {{"Authorization", "Basic YWxpY2U6czNjcmV0"}}), &auth).status,
      401);
  Authenticator none({}, "", BcryptMatches);
  EXPECT_FALSE(none.required());
  EXPECT_EQ(DecideRequest(Get("/metrics"), &none).status, 200);
}

}  // namespace
}  // namespace podmeter
