// OpenSSL in one place: deleters for its objects and the server/client context setup
// every TLS user shares (TLS 1.2 and later, forward-secret AEAD ciphers only, no
// compression, no renegotiation). smtpd and pop3d build theirs through server_tls.hpp.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "common/result.hpp"

namespace common::tls {

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Server context from a PEM chain and key; checks that they match.
Result<SslCtxPtr> server_context(const std::string& cert_file, const std::string& key_file);
// Server context with only the PEM chain: the caller installs the key (server_tls.hpp).
Result<SslCtxPtr> server_context_chain(const std::string& cert_file);
// Client context; `verify` turns on certificate verification against the system store,
// or against the PEM CA certificates in `ca_file` instead when it is not empty.
Result<SslCtxPtr> client_context(bool verify, const std::string& ca_file = "");
// Client context for DANE (RFC 7672): OpenSSL's DANE verifier on, no CA store; each
// connection adds its TLSA records (SSL_dane_enable, SSL_dane_tlsa_add).
Result<SslCtxPtr> dane_client_context();

// The last OpenSSL error as text (and clears the queue).
std::string last_error();
// "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" for Received headers.
std::string describe(const SSL* ssl);

}  // namespace common::tls
