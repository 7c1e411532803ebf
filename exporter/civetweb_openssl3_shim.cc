// The two libraries civetweb 1.15 (Debian 12's libcivetweb1) loads for TLS with
// dlopen("libssl.so") and dlopen("libcrypto.so"), built as build/lib/podmeter/libssl.so and
// libcrypto.so: each has that SONAME and depends on OpenSSL 3's real library, so every function
// civetweb looks up resolves to OpenSSL 3, and this file adds the one its 1.1 API table names but
// OpenSSL 3 no longer exports: SSL_get_peer_certificate (now SSL_get1_peer_certificate, same
// reference counting). Without it civetweb calls a null pointer on the first TLS connection.
// http_server.cc loads both by path before starting a TLS server (web_config.h), so civetweb's
// dlopen by name finds them already loaded; nothing is needed in the system's library paths.
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate

extern "C" {

__attribute__((visibility("default"))) X509* SSL_get_peer_certificate(const SSL* ssl) {
  return SSL_get1_peer_certificate(ssl);
}

}  // extern "C"
