// The rules of the TLS key protocol (private/tlskey, frames KeyOp/KeyOpDone in
// common/ipc/messages.hpp, described in mailbag-ipc(7)) that both sides share: the key
// fingerprint that names a key, and what a well-formed KeyOp is. Pure, so the key
// daemon's checks are tested without sockets.
// UNTRUSTED: check_key_op() reads frames from smtpd and pop3d, which parse the network.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <string>

#include "common/ipc/codec.hpp"
#include "common/ipc/messages.hpp"
#include "common/result.hpp"

namespace common::tls {

inline constexpr std::size_t kKeyIdSize = 32;  // SHA-256
// RSA blocks up to a 16384-bit modulus; digests up to SHA-512.
inline constexpr std::size_t kMaxRsaBlock = 2048;
inline constexpr std::size_t kMaxDigest = 64;

// SHA-256 of the DER SubjectPublicKeyInfo of `key` (only its public part is read), the
// same for a certificate's key and the private key it belongs to. Empty on failure.
std::string key_id(const EVP_PKEY* key);
// The first 8 bytes of a key id in hex, for the logs.
std::string short_id(const std::string& id);

// Decodes a KeyOp and checks its fields: the op is known, key_id has 32 bytes (or is
// empty for kKeyId), data is empty for kKeyId and within the limits above otherwise.
// An error: the peer speaks nonsense and its connection is closed.
Result<ipc::KeyOp> check_key_op(const ipc::FrameView& frame);

}  // namespace common::tls
