// Base64 (see base64.hpp). Decoding is OpenSSL's EVP_DecodeBlock after a strict syntax
// check of our own, since EVP_DecodeBlock itself skips white space and does not report
// how much padding it decoded.
#include "common/mail/base64.hpp"

#include <openssl/evp.h>

namespace common::mail {
namespace {

bool b64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

}  // namespace

std::optional<std::string> decode_base64(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  if (in.empty()) return std::string();
  // SASL responses are one command line; refuse anything absurd before the int
  // arithmetic EVP_DecodeBlock does.
  if (in.size() > (1u << 20)) return std::nullopt;
  std::size_t pad = 0;
  if (in.back() == '=') ++pad;
  if (in.size() >= 2 && in[in.size() - 2] == '=') ++pad;
  if (pad == 1 && in[in.size() - 2] == '=') return std::nullopt;
  for (std::size_t i = 0; i < in.size() - pad; ++i)
    if (!b64_char(in[i])) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0 || static_cast<std::size_t>(n) != out.size()) return std::nullopt;
  out.resize(out.size() - pad);  // EVP_DecodeBlock counts the padding as zero bytes
  // RFC 4648 3.5: the bits the padding leaves over must be zero, so each text has one
  // meaning ("Zh==" is not "f").
  if (pad > 0 && encode_base64(out) != in) return std::nullopt;
  return out;
}

std::string encode_base64(std::string_view in) {
  if (in.empty()) return std::string();
  std::string out((in.size() + 2) / 3 * 4 + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

}  // namespace common::mail
