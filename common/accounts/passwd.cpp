// Implementation of the password store (see passwd.hpp).
#include "common/accounts/passwd.hpp"

#include <crypt.h>
#include <openssl/crypto.h>

#include <cstring>

namespace common::accounts {
namespace {

// A valid hash of a random password: checked against when the user does not exist, so
// both paths do the same yescrypt work.
const std::string& dummy_hash() {
  static const std::string h = [] {
    auto r = hash_password("mailbag-dummy-password-for-timing");
    return r ? *r : std::string();
  }();
  return h;
}

}  // namespace

Result<std::string> hash_password(std::string_view password) {
  if (password.find('\0') != std::string_view::npos) return Status::error("password contains NUL");
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (!crypt_gensalt_rn("$y$", 0, nullptr, 0, salt, sizeof salt))
    return Status::sys("crypt_gensalt (yescrypt)");
  crypt_data data;
  std::memset(&data, 0, sizeof data);
  std::string pw(password);
  const char* h = crypt_rn(pw.c_str(), salt, &data, sizeof data);
  OPENSSL_cleanse(pw.data(), pw.size());
  if (!h || h[0] == '*') return Status::error("crypt failed");
  std::string out = h;
  OPENSSL_cleanse(&data, sizeof data);
  return out;
}

bool check_password(std::string_view password, const std::string& hash) {
  if (hash.empty() || password.find('\0') != std::string_view::npos) return false;
  crypt_data data;
  std::memset(&data, 0, sizeof data);
  std::string pw(password);
  const char* h = crypt_rn(pw.c_str(), hash.c_str(), &data, sizeof data);
  OPENSSL_cleanse(pw.data(), pw.size());
  bool ok =
      h && h[0] != '*' && std::strlen(h) == hash.size() && CRYPTO_memcmp(h, hash.data(), hash.size()) == 0;
  OPENSSL_cleanse(&data, sizeof data);
  return ok;
}

Result<std::unique_ptr<Passwords>> Passwords::open(const std::string& path, bool writable) {
  lmdb::EnvOptions opt;
  opt.read_only = !writable;
  opt.map_size = 4u << 20;
  opt.mode = 0640;
  auto env = lmdb::Env::open(path, opt);
  if (!env) return env.status();
  std::unique_ptr<Passwords> p(new Passwords(std::move(*env)));
  auto d = p->env_->dbi("passwd", writable);
  if (!d) return d.status();
  p->dbi_ = *d;
  return p;
}

Result<std::optional<std::string>> Passwords::hash(const std::string& address) {
  auto t = env_->read();
  if (!t) return t.status();
  auto v = t->get(dbi_, address);
  if (!v) return v.status();
  if (!*v) return std::optional<std::string>();
  return std::optional<std::string>(std::string(**v));
}

Status Passwords::set(const std::string& address, const std::string& hash) {
  return env_->update([&](lmdb::WriteTxn& t) { return t.put(dbi_, address, hash); });
}

Result<bool> Passwords::remove(const std::string& address) {
  bool existed = false;
  Status st = env_->update([&](lmdb::WriteTxn& t) -> Status {
    auto r = t.del(dbi_, address);
    if (!r) return r.status();
    existed = *r;
    return Status::ok();
  });
  if (!st) return st;
  return existed;
}

Result<bool> PasswordStore::verify(const std::string& address, std::string_view password) {
  auto h = hash(address);
  if (!h) return h.status();
  if (!*h) {
    (void)check_password(password, dummy_hash());
    return false;
  }
  return check_password(password, **h);
}

}  // namespace common::accounts
