#include "exporter/http_head.h"

#include <gtest/gtest.h>

#include <string>

namespace podmeter {
namespace {

TEST(HeadLength, EndsAtTheEmptyLine) {
  EXPECT_EQ(HeadLength(""), 0u);
  EXPECT_EQ(HeadLength("GET / HTTP/1.1\r\nHost: x\r\n"), 0u);
  EXPECT_EQ(HeadLength("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 27u);
  EXPECT_EQ(HeadLength("GET / HTTP/1.1\r\n\r\nbody"), 18u);
  EXPECT_EQ(HeadLength("GET / HTTP/1.1\n\n"), 16u);
  EXPECT_EQ(HeadLength("GET / HTTP/1.1\r\n\r"), 0u);
}

TEST(ParseHead, RequestLineAndHeaders) {
  std::string head = "GET /metrics?a=b HTTP/1.1\r\nHost: x\r\nAccept-Encoding:  gzip \r\n\r\n";
  ParsedHead p = ParseHead(head);
  ASSERT_EQ(p.error, 0);
  EXPECT_EQ(p.method, "GET");
  EXPECT_EQ(p.path, "/metrics");
  ASSERT_EQ(p.headers.size(), 2u);
  EXPECT_EQ(p.headers[1].name, "Accept-Encoding");
  EXPECT_EQ(p.headers[1].value, "gzip");
  EXPECT_EQ(p.request().Header("accept-encoding"), "gzip");
}

TEST(ParseHead, TargetForms) {
  EXPECT_EQ(ParseHead("GET /%6detrics HTTP/1.0\r\n\r\n").path, "/metrics");
  EXPECT_EQ(ParseHead("GET http://host:1/healthz?x HTTP/1.1\r\n\r\n").path, "/healthz");
  EXPECT_EQ(ParseHead("GET http://host HTTP/1.1\r\n\r\n").path, "/");
  EXPECT_EQ(ParseHead("GET /a#frag HTTP/1.1\n\n").path, "/a");
  EXPECT_EQ(PercentDecode("%zz%4"), "%zz%4");
  EXPECT_EQ(PercentDecode("a%20b%2F"), "a b/");
}

TEST(ParseHead, MalformedIs400) {
  for (const char* head :
       {"", "GET\r\n\r\n", "GET /\r\n\r\n", "GET / HTTP/2\r\n\r\n", "GET  / HTTP/1.1\r\n\r\n",
        "G(T / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nno colon\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", "GET / HTTP/1.1\r\n: empty name\r\n\r\n"}) {
    EXPECT_EQ(ParseHead(head).error, 400) << head;
  }
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 65; ++i) many += "X: y\r\n";
  EXPECT_EQ(ParseHead(many + "\r\n").error, 400);
  EXPECT_EQ(ParseHead(many + "\r\n", 100).error, 0);
}

}  // namespace
}  // namespace podmeter
