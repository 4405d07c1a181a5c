// A private key that lives in another process: an EVP_PKEY carrying a certificate's
// public key whose private-key operations are answered by the key daemon (KeyClient),
// as OpenSMTPD's ca process serves its smtpd. smtpd and pop3d install it in their
// SSL_CTX instead of the key itself, so a process that parses the network never holds
// the key. Built on OpenSSL's RSA_METHOD and EC_KEY_METHOD hooks, which OpenSSL 3.0 still
// calls for such a ("foreign") key in TLS 1.2 and 1.3, RSA-PSS included: libssl hashes
// and pads, the hook does only the private-key step. Ed25519 and other key types are
// refused (their one-shot signatures have no such hook).
#pragma once

#include <openssl/x509.h>

#include <memory>
#include <string>

#include "common/result.hpp"
#include "common/tls/key_client.hpp"
#include "common/tls/tls.hpp"

namespace common::tls {

// The key for `cert`'s public key (RSA or EC), its operations sent to `client`.
Result<PkeyPtr> remote_key(X509* cert, std::shared_ptr<KeyClient> client);

}  // namespace common::tls
