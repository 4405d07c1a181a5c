// Base64 (RFC 4648 4) through OpenSSL's EVP_EncodeBlock / EVP_DecodeBlock, for every
// place that writes it (SASL challenges, AUTH to a smarthost, DKIM p= and bh=, encoded
// words and MIME parts of notices) and the one strict decoder that reads it from SASL
// clients. MIME bodies, which may be folded and sloppy, are decoded leniently by
// mime_decode.hpp instead.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace common::mail {

// One line of base64, no line breaks, "=" padded.
std::string encode_base64(std::string_view in);

// Strictly: length a multiple of 4, only the alphabet, "=" padding only at the end (at
// most two), zero bits under the padding (RFC 4648 3.5), no white space, at most 1 MiB.
// nullopt when the text is not that. UNTRUSTED input.
std::optional<std::string> decode_base64(std::string_view in);

}  // namespace common::mail
