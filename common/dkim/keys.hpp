// DKIM keys: generation (RSA 2048, Ed25519) and loading through OpenSSL's EVP_PKEY, the
// public half as the p= value of a key record (RFC 6376 3.6.1, RFC 8463 4), and the
// exact DNS TXT record to publish, split into strings of at most 255 bytes (RFC 1035
// 3.3.14; RFC 6376 3.6.2.2: a verifier joins them). No cryptography of our own.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace common::dkim {

enum class Algorithm { kRsa, kEd25519 };
// "rsa" / "ed25519": the k= tag, the --algorithm value and the key store's word.
const char* algorithm_name(Algorithm a);
Result<Algorithm> parse_algorithm(std::string_view s);
// The a= tag of a signature: "rsa-sha256" / "ed25519-sha256".
const char* signature_algorithm(Algorithm a);

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

inline constexpr int kRsaBits = 2048;

// A new private key.
Result<Pkey> generate_key(Algorithm a);
// PKCS#8 PEM of a private key, and back. load_private_key checks that the key is of
// algorithm `a` (a wrong type is refused, not used for the other algorithm).
Result<std::string> private_key_pem(EVP_PKEY* key);
Result<Pkey> load_private_key(std::string_view pem, Algorithm a);

// The p= value: base64 of the DER SubjectPublicKeyInfo for RSA (what every verifier
// reads), of the raw 32-byte public key for Ed25519 (RFC 8463 4.2).
Result<std::string> public_key_value(EVP_PKEY* key, Algorithm a);

// "v=DKIM1; k=rsa; p=..." (the record's text before splitting).
std::string key_record_text(Algorithm a, std::string_view p);
// The zone-file line: SEL._domainkey.DOMAIN. IN TXT "..." "..." with strings of at most
// 255 bytes each.
std::string txt_record_line(std::string_view domain, std::string_view selector, std::string_view text);
std::vector<std::string> split_txt(std::string_view text, std::size_t max = 255);

// A selector: one or more labels of letters, digits and hyphens (RFC 6376 3.1), at most
// 63 bytes each. Refuses anything that could leave the key store's file names.
bool valid_selector(std::string_view s);

}  // namespace common::dkim
