#include "exporter/web_config.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <yaml-cpp/yaml.h>

#include <set>

#include "collectors/base/file_util.h"

namespace podmeter {
namespace {

// exporter-toolkit keys podmeter does not implement: an error rather than silently weaker security.
const std::set<std::string> kUnsupportedTlsKeys = {"cert",
                                                   "key",
                                                   "client_ca",
                                                   "client_allowed_sans",
                                                   "cipher_suites",
                                                   "prefer_server_cipher_suites",
                                                   "curve_preferences"};

Status KeyError(const std::string& key, const std::string& what) {
  return Status::InvalidData("web config: " + key + ": " + what);
}

// A scalar's string value, or an error naming `key`.
Status ScalarInto(const YAML::Node& node, const std::string& key, std::string* out) {
  if (!node.IsScalar()) return KeyError(key, "expected a string");
  *out = node.Scalar();
  return Status::Ok();
}

Status ParseTlsVersion(const std::string& key, const std::string& value) {
  if (value == "TLS10" || value == "TLS11" || value == "TLS12" || value == "TLS13") {
    return Status::Ok();
  }
  return KeyError(key, "'" + value + "' is not one of TLS10, TLS11, TLS12, TLS13");
}

Status ParseTls(const YAML::Node& tls, WebConfig* c) {
  if (!tls.IsMap()) return KeyError("tls_server_config", "expected a mapping");
  c->tls = true;
  const std::map<std::string, std::string*> fields = {{"cert_file", &c->cert_file},
                                                      {"key_file", &c->key_file},
                                                      {"client_auth_type", &c->client_auth_type},
                                                      {"client_ca_file", &c->client_ca_file},
                                                      {"min_version", &c->min_version},
                                                      {"max_version", &c->max_version}};
  for (const auto& item : tls) {
    const std::string key = item.first.as<std::string>("");
    const std::string name = "tls_server_config." + key;
    if (kUnsupportedTlsKeys.count(key)) return KeyError(name, "not supported by podmeter");
    auto field = fields.find(key);
    if (field == fields.end()) return KeyError(name, "unknown key");
    if (Status s = ScalarInto(item.second, name, field->second); !s.ok()) return s;
  }
  if (c->cert_file.empty()) return KeyError("tls_server_config", "cert_file is missing");
  if (c->key_file.empty()) return KeyError("tls_server_config", "key_file is missing");
  const std::string& auth = c->client_auth_type;
  if (auth != "NoClientCert" && auth != "RequireAndVerifyClientCert" &&
      auth != "VerifyClientCertIfGiven") {
    return KeyError("tls_server_config.client_auth_type",
                    "'" + auth +
                        "' not supported (NoClientCert, RequireAndVerifyClientCert or "
                        "VerifyClientCertIfGiven)");
  }
  if (auth != "NoClientCert" && c->client_ca_file.empty()) {
    return KeyError("tls_server_config", auth + " needs client_ca_file");
  }
  if (Status s = ParseTlsVersion("tls_server_config.min_version", c->min_version); !s.ok()) {
    return s;
  }
  return ParseTlsVersion("tls_server_config.max_version", c->max_version);
}

Status ParseUsers(const YAML::Node& users, WebConfig* c) {
  if (users.IsNull()) return Status::Ok();
  if (!users.IsMap()) return KeyError("basic_auth_users", "expected a mapping of user: hash");
  for (const auto& item : users) {
    const std::string user = item.first.as<std::string>("");
    const std::string name = "basic_auth_users." + user;
    std::string hash;
    if (Status s = ScalarInto(item.second, name, &hash); !s.ok()) return s;
    if (user.empty() || user.find(':') != std::string::npos) {
      return KeyError(name, "a user name must be non-empty and without ':'");
    }
    if (!IsBcryptHash(hash)) return KeyError(name, "not a bcrypt hash ($2y$10$... of 60 bytes)");
    c->basic_auth_users[user] = hash;
  }
  return Status::Ok();
}

// http_server_config: only http2, which podmeter's HTTP/1.1 server cannot honour but which only
// allows HTTP/2 where possible.
Status ParseHttpServer(const YAML::Node& http) {
  if (http.IsNull()) return Status::Ok();
  if (!http.IsMap()) return KeyError("http_server_config", "expected a mapping");
  for (const auto& item : http) {
    const std::string key = item.first.as<std::string>("");
    if (key != "http2") return KeyError("http_server_config." + key, "not supported by podmeter");
  }
  return Status::Ok();
}

Status ParseTop(const YAML::Node& root, WebConfig* c) {
  for (const auto& item : root) {
    const std::string key = item.first.as<std::string>("");
    Status s;
    if (key == "tls_server_config") {
      s = item.second.IsNull() ? Status::Ok() : ParseTls(item.second, c);
    } else if (key == "basic_auth_users") {
      s = ParseUsers(item.second, c);
    } else if (key == "bearer_token_file") {
      s = ScalarInto(item.second, key, &c->bearer_token_file);
    } else if (key == "http_server_config") {
      s = ParseHttpServer(item.second);
    } else if (key == "rate_limit") {
      s = KeyError(key, "not supported by podmeter");
    } else {
      s = KeyError(key, "unknown key");
    }
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

int TlsVersion(const std::string& name) {
  if (name == "TLS10") return TLS1_VERSION;
  if (name == "TLS11") return TLS1_1_VERSION;
  if (name == "TLS12") return TLS1_2_VERSION;
  return TLS1_3_VERSION;
}

std::string Resolve(const std::string& dir, const std::string& path) {
  return path.empty() || path.front() == '/' ? path : JoinPath(dir, path);
}

std::string SslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

// The bearer token file's content without surrounding white space; it must not be empty.
StatusOr<std::string> ReadToken(const std::string& path) {
  StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return KeyError("bearer_token_file", text.status().message());
  std::string token = *text;
  token.erase(0, token.find_first_not_of(" \t\r\n"));
  token.erase(token.find_last_not_of(" \t\r\n") + 1);
  if (token.empty()) return KeyError("bearer_token_file", path + " is empty");
  if (token.find_first_of(" \t\r\n") != std::string::npos) {
    return KeyError("bearer_token_file", path + ": a token has no white space");
  }
  return token;
}

}  // namespace

StatusOr<WebConfig> ParseWebConfig(const std::string& yaml) {
  WebConfig c;
  try {
    YAML::Node root = YAML::Load(yaml);
    if (root.IsNull()) return c;
    if (!root.IsMap()) return Status::InvalidData("web config: expected a mapping at the top");
    if (Status s = ParseTop(root, &c); !s.ok()) return s;
  } catch (const YAML::Exception& e) {
    std::string what = e.what();
    for (char& ch : what) ch = ch == '\n' ? ' ' : ch;
    return Status::InvalidData("web config: " + what);
  }
  return c;
}

Status ConfigureSslContext(const WebSecurity& security, void* ssl_ctx) {
  SSL_CTX* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  if (SSL_CTX_use_certificate_chain_file(ctx, security.cert_file.c_str()) != 1) {
    return Status::InvalidData("cert_file " + security.cert_file + ": " + SslError());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, security.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      return Status::InvalidData("key_file " + security.key_file + " does not match cert_file " +
                                 security.cert_file);
    }
    return Status::InvalidData("key_file " + security.key_file + ": " + SslError());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return Status::InvalidData("key_file " + security.key_file + " does not match cert_file " +
                               security.cert_file + ": " + SslError());
  }
  if (!security.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, security.client_ca_file.c_str(), nullptr) != 1) {
      return Status::InvalidData("client_ca_file " + security.client_ca_file + ": " + SslError());
    }
    int mode = SSL_VERIFY_PEER;
    if (security.client_cert_required) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, nullptr);
  }
  if (security.min_tls_version != 0) SSL_CTX_set_min_proto_version(ctx, security.min_tls_version);
  if (security.max_tls_version != 0) SSL_CTX_set_max_proto_version(ctx, security.max_tls_version);
  return Status::Ok();
}

StatusOr<WebSecurity> LoadWebConfig(const std::string& path) {
  WebSecurity security;
  if (path.empty()) return security;
  StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return Status::InvalidData("--web.config.file: " + text.status().message());
  StatusOr<WebConfig> parsed = ParseWebConfig(*text);
  if (!parsed.ok()) return Status::InvalidData(path + ": " + parsed.status().message());
  const WebConfig& c = *parsed;
  const std::string dir =
      path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  std::string token;
  if (!c.bearer_token_file.empty()) {
    StatusOr<std::string> read = ReadToken(Resolve(dir, c.bearer_token_file));
    if (!read.ok()) return Status::InvalidData(path + ": " + read.status().message());
    token = *read;
  }
  if (!c.basic_auth_users.empty() || !token.empty()) {
    security.auth = std::make_shared<Authenticator>(c.basic_auth_users, token, &BcryptMatches);
  }
  if (!c.tls) return security;
  security.cert_file = Resolve(dir, c.cert_file);
  security.key_file = Resolve(dir, c.key_file);
  security.client_ca_file = Resolve(dir, c.client_ca_file);
  security.client_cert_required = c.client_auth_type == "RequireAndVerifyClientCert";
  security.min_tls_version = TlsVersion(c.min_version);
  security.max_tls_version = TlsVersion(c.max_version);
  if (security.min_tls_version > security.max_tls_version) {
    return Status::InvalidData(path + ": web config: min_version is above max_version");
  }
  // Load everything once now, so that a bad file stops podmeter at start-up (exit 2).
  std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) return Status::InvalidData(path + ": " + SslError());
  if (Status s = ConfigureSslContext(security, ctx.get()); !s.ok()) {
    return Status::InvalidData(path + ": " + s.message());
  }
  return security;
}

}  // namespace podmeter
