// --web.config.file: TLS and credentials for the HTTP endpoints in the Prometheus
// exporter-toolkit's format (docs/exporter.md): tls_server_config (cert_file, key_file,
// client_auth_type, client_ca_file, min_version, max_version), basic_auth_users (bcrypt hashes),
// and podmeter's own bearer_token_file. Keys podmeter does not implement are errors, not ignored.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "collectors/base/status.h"
#include "exporter/http_request.h"

namespace podmeter {

/// The file's content, as written (paths not yet resolved).
struct WebConfig {
  std::string cert_file;
  std::string key_file;
  std::string client_auth_type = "NoClientCert";
  std::string client_ca_file;
  std::string min_version = "TLS12";
  std::string max_version = "TLS13";
  std::map<std::string, std::string> basic_auth_users;  ///< user → bcrypt hash
  std::string bearer_token_file;
  bool tls = false;  ///< a tls_server_config section is present
};

/// Parses the YAML text. Errors name the key (one line): unknown keys, keys podmeter does not
/// implement, a missing cert_file/key_file, a basic_auth_users value that is not a bcrypt hash.
StatusOr<WebConfig> ParseWebConfig(const std::string& yaml);

/// What the HTTP server needs: TLS files (resolved paths) and the authenticator.
struct WebSecurity {
  std::string cert_file;  ///< empty: plain HTTP
  std::string key_file;
  std::string client_ca_file;  ///< set: clients must present a certificate it signed
  bool client_cert_required = false;
  int min_tls_version = 0;  ///< OpenSSL's TLS1_2_VERSION etc.; 0: the library's default
  int max_tls_version = 0;
  std::shared_ptr<Authenticator> auth;  ///< null: no credentials asked
};

/// Reads and checks the file at start-up: relative paths are taken from the file's directory,
/// the certificate and key are loaded (and must match), the bearer token file must be readable
/// and not empty. An empty path gives an empty WebSecurity.
StatusOr<WebSecurity> LoadWebConfig(const std::string& path);

/// Loads `security`'s certificate, key, client CA and TLS versions into an OpenSSL SSL_CTX.
/// Errors carry OpenSSL's reason.
Status ConfigureSslContext(const WebSecurity& security, void* ssl_ctx);

}  // namespace podmeter
