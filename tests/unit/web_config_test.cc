#include "exporter/web_config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/unit/test_support.h"

namespace podmeter {
namespace {

constexpr char kHash[] = "$2y$04$abcdefghijklmnopqrstuuLZYjhNQAOdpbzt4WxWlUHjv1wsyH5DG";

// The error message of parsing `yaml`, or "ok".
std::string ParseError(const std::string& yaml) {
  auto parsed = ParseWebConfig(yaml);
  return parsed.ok() ? "ok" : parsed.status().message();
}

TEST(ParseWebConfig, ExporterToolkitExample) {
  auto c = ParseWebConfig(
      "# TLS and basic authentication configuration example.\n"
      "tls_server_config:\n"
      "  cert_file: server.crt\n"
      "  key_file: server.key\n"
      "basic_auth_users:\n"
      "  alice: " +
      std::string(kHash) +
      "\n"
      "  bob: '" +
      kHash + "'\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->tls);
  EXPECT_EQ(c->cert_file, "server.crt");
  EXPECT_EQ(c->key_file, "server.key");
  EXPECT_EQ(c->min_version, "TLS12");
  EXPECT_EQ(c->basic_auth_users.size(), 2u);
  EXPECT_EQ(c->basic_auth_users.at("bob"), kHash);
}

TEST(ParseWebConfig, EmptyMeansNothing) {
  auto c = ParseWebConfig("");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->tls);
  EXPECT_TRUE(c->basic_auth_users.empty());
  EXPECT_EQ(ParseError("tls_server_config:\nbasic_auth_users:\n"), "ok");
  EXPECT_EQ(ParseError("http_server_config:\n  http2: false\n"), "ok");
}

TEST(ParseWebConfig, ErrorsNameTheKey) {
  EXPECT_EQ(ParseError("tls_server_config:\n  cert_file: a\n"),
            "web config: tls_server_config: key_file is missing");
  EXPECT_EQ(ParseError("tls_server_config:\n  key_file: a\n"),
            "web config: tls_server_config: cert_file is missing");
  EXPECT_EQ(ParseError("tls_server_config:\n  cert_file: a\n  key_file: b\n  certfile: c\n"),
            "web config: tls_server_config.certfile: unknown key");
  EXPECT_EQ(ParseError("tls_server_config:\n  cert: PEM\n"),
            "web config: tls_server_config.cert: not supported by podmeter");
  EXPECT_EQ(ParseError("basic_auth_users:\n  alice: secret\n"),
            "web config: basic_auth_users.alice: not a bcrypt hash ($2y$10$... of 60 bytes)");
  EXPECT_EQ(ParseError("basic_auth_user:\n  alice: x\n"),
            "web config: basic_auth_user: unknown key");
  EXPECT_EQ(ParseError("rate_limit:\n  burst: 20\n"),
            "web config: rate_limit: not supported by podmeter");
  EXPECT_EQ(ParseError("http_server_config:\n  headers: {}\n"),
            "web config: http_server_config.headers: not supported by podmeter");
  EXPECT_EQ(ParseError("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: "
                       "RequireAndVerifyClientCert\n"),
            "web config: tls_server_config: RequireAndVerifyClientCert needs client_ca_file");
  EXPECT_EQ(ParseError("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: "
                       "RequestClientCert\n"),
            "web config: tls_server_config.client_auth_type: 'RequestClientCert' not supported "
            "(NoClientCert, RequireAndVerifyClientCert or VerifyClientCertIfGiven)");
  EXPECT_EQ(ParseError("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS14\n"),
            "web config: tls_server_config.min_version: 'TLS14' is not one of TLS10, TLS11, "
            "TLS12, TLS13");
  EXPECT_EQ(ParseError("- a\n- b\n"), "web config: expected a mapping at the top");
  std::string bad = ParseError("tls_server_config: [\n");
  EXPECT_EQ(bad.rfind("web config: ", 0), 0u) << bad;
  EXPECT_EQ(bad.find('\n'), std::string::npos) << bad;
}

TEST(LoadWebConfig, ReadsTheTokenAndResolvesPaths) {
  testing::TempDir tmp;
  const std::string dir = tmp.path().string();
  std::ofstream(dir + "/token") << "  tok3n\n";
  std::ofstream(dir + "/web.yml") << "bearer_token_file: token\nbasic_auth_users:\n  alice: "
                                  << kHash << "\n";
  auto security = LoadWebConfig(dir + "/web.yml");
  ASSERT_TRUE(security.ok()) << security.status().message();
  EXPECT_TRUE(security->cert_file.empty());
  ASSERT_NE(security->auth, nullptr);
  EXPECT_TRUE(security->auth->Allows("Bearer tok3n"));
  EXPECT_TRUE(security->auth->Allows("Basic YWxpY2U6czNjcmV0"));
  EXPECT_FALSE(security->auth->Allows(std::nullopt));

  std::ofstream(dir + "/empty") << "\n";
  std::ofstream(dir + "/web2.yml") << "bearer_token_file: empty\n";
  auto empty = LoadWebConfig(dir + "/web2.yml");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(),
            dir + "/web2.yml: web config: bearer_token_file: " + dir + "/empty is empty");

  std::ofstream(dir + "/web3.yml")
      << "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n";
  auto missing = LoadWebConfig(dir + "/web3.yml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cert_file " + dir + "/missing.crt: "),
            std::string::npos)
      << missing.status().message();

  EXPECT_FALSE(LoadWebConfig(dir + "/nonexistent.yml").ok());
  auto none = LoadWebConfig("");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->auth, nullptr);
}

}  // namespace
}  // namespace podmeter
