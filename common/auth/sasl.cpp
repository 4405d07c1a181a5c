// SASL helpers (see sasl.hpp). UNTRUSTED: network input.
#include "common/auth/sasl.hpp"

#include <openssl/crypto.h>

#include "common/mail/address.hpp"
#include "common/mail/ascii.hpp"

namespace common::auth::sasl {

using common::mail::lower;

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

}  // namespace common::auth::sasl
