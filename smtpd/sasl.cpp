// SASL helpers (see sasl.hpp). UNTRUSTED: network input. Base64 decoding is OpenSSL's
// EVP_DecodeBlock after a strict syntax check of our own, since EVP_DecodeBlock itself
// skips white space and does not report how much padding it decoded.
#include "smtpd/sasl.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/mail/address.hpp"
#include "common/mail/ascii.hpp"

namespace smtpd::sasl {

using common::mail::lower;

namespace {

bool b64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

}  // namespace

std::optional<std::string> decode_base64(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  if (in.empty()) return std::string();
  // A response is one command line (2048 octets at most); refuse anything absurd before
  // the int arithmetic EVP_DecodeBlock does.
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

Credentials::~Credentials() { wipe(&password); }

void wipe(std::string* s) {
  if (!s->empty()) OPENSSL_cleanse(s->data(), s->size());
  s->clear();
}

common::Result<Credentials> parse_plain(std::string_view m) {
  auto n1 = m.find('\0');
  if (n1 == std::string_view::npos) return common::Status::error("malformed PLAIN message");
  auto n2 = m.find('\0', n1 + 1);
  if (n2 == std::string_view::npos) return common::Status::error("malformed PLAIN message");
  std::string_view authzid = m.substr(0, n1);
  std::string_view authcid = m.substr(n1 + 1, n2 - n1 - 1);
  std::string_view passwd = m.substr(n2 + 1);
  if (passwd.find('\0') != std::string_view::npos) return common::Status::error("malformed PLAIN message");
  if (authcid.empty() || passwd.empty()) return common::Status::error("empty name or password");
  if (authzid.size() > kMaxField || authcid.size() > kMaxField || passwd.size() > kMaxField)
    return common::Status::error("PLAIN field too long");
  Credentials c;
  c.authzid = std::string(authzid);
  c.authcid = std::string(authcid);
  c.password = std::string(passwd);
  return c;
}

bool valid_login_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxField) return false;
  for (unsigned char c : name)
    if (c <= 0x20 || c == 0x7f) return false;
  return common::mail::is_valid_utf8(name);
}

bool authzid_allowed(std::string_view authzid, std::string_view authcid) {
  if (authzid.empty()) return true;
  if (authzid.size() != authcid.size()) return false;
  for (std::size_t i = 0; i < authzid.size(); ++i)
    if (lower(authzid[i]) != lower(authcid[i])) return false;
  return true;
}

}  // namespace smtpd::sasl
