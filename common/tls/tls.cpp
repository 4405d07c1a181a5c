// Implementation of the TLS context setup (see tls.hpp).
#include "common/tls/tls.hpp"

#include <openssl/err.h>

#include <cstdio>

namespace common::tls {
namespace {

// TLS 1.2 suites: ECDHE with AEAD only (the TLS 1.3 suites are all acceptable as they are).
constexpr const char* kCiphers12 =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

void harden(SSL_CTX* c) {
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                             SSL_OP_NO_TICKET);
  SSL_CTX_set_cipher_list(c, kCiphers12);
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
}

}  // namespace

std::string last_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

Result<SslCtxPtr> server_context_chain(const std::string& cert_file) {
  SslCtxPtr c(SSL_CTX_new(TLS_server_method()));
  if (!c) return Status::error("SSL_CTX_new: " + last_error());
  harden(c.get());
  if (SSL_CTX_use_certificate_chain_file(c.get(), cert_file.c_str()) != 1)
    return Status::error(cert_file + ": " + last_error());
  return c;
}

Result<SslCtxPtr> server_context(const std::string& cert_file, const std::string& key_file) {
  auto c = server_context_chain(cert_file);
  if (!c) return c;
  if (SSL_CTX_use_PrivateKey_file(c->get(), key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return Status::error(key_file + ": " + last_error());
  if (SSL_CTX_check_private_key(c->get()) != 1)
    return Status::error(key_file + ": key does not match certificate " + cert_file);
  return c;
}

Result<SslCtxPtr> client_context(bool verify, const std::string& ca_file) {
  SslCtxPtr c(SSL_CTX_new(TLS_client_method()));
  if (!c) return Status::error("SSL_CTX_new: " + last_error());
  harden(c.get());
  if (verify) {
    SSL_CTX_set_verify(c.get(), SSL_VERIFY_PEER, nullptr);
    if (!ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(c.get(), ca_file.c_str(), nullptr) != 1)
        return Status::error("loading CA certificates from " + ca_file + ": " + last_error());
    } else if (SSL_CTX_set_default_verify_paths(c.get()) != 1) {
      return Status::error("loading system CA store: " + last_error());
    }
  } else {
    SSL_CTX_set_verify(c.get(), SSL_VERIFY_NONE, nullptr);
  }
  return c;
}

Result<SslCtxPtr> dane_client_context() {
  SslCtxPtr c(SSL_CTX_new(TLS_client_method()));
  if (!c) return Status::error("SSL_CTX_new: " + last_error());
  harden(c.get());
  // No CA store: RFC 7672 3.1.3 leaves only DANE-TA(2) and DANE-EE(3), whose trust comes
  // from the TLSA records each SSL gets (connection.cpp), never from PKIX.
  if (SSL_CTX_dane_enable(c.get()) <= 0) return Status::error("SSL_CTX_dane_enable: " + last_error());
  SSL_CTX_set_verify(c.get(), SSL_VERIFY_PEER, nullptr);
  return c;
}

std::string describe(const SSL* ssl) {
  const SSL_CIPHER* ci = SSL_get_current_cipher(ssl);
  int alg = 0;
  int bits = ci ? SSL_CIPHER_get_bits(ci, &alg) : 0;
  char buf[200];
  std::snprintf(buf, sizeof buf, "%s with cipher %s (%d/%d bits)", SSL_get_version(ssl),
                ci ? SSL_CIPHER_get_name(ci) : "?", bits, alg);
  return buf;
}

}  // namespace common::tls
