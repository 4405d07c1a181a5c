// Login resolution and the password checks (see verifier.hpp).
#include "common/authd/verifier.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/check.hpp"
#include "common/log/log.hpp"
#include "common/pg/deadline.hpp"

namespace authd {

using common::Result;
using common::ipc::AuthResult;

Result<std::optional<LoginTarget>> resolve_login(common::accounts::Lookup& accounts,
                                                 const std::string& mail_directory, std::string_view name) {
  common::accounts::Rules rules;
  rules.mail_root = mail_directory;
  auto login = common::accounts::AddressBook(accounts, std::move(rules)).login(name);
  if (!login) return login.status();
  if (!*login) return std::optional<LoginTarget>();
  return std::optional<LoginTarget>(LoginTarget{(*login)->address, (*login)->maildir});
}

Verifier::Verifier(std::unique_ptr<common::accounts::Lookup> accounts,
                   std::unique_ptr<common::accounts::PasswordStore> passwords, std::string mail_directory,
                   std::size_t threads, std::size_t max_waiting, std::chrono::milliseconds db_timeout)
    : accounts_(std::move(accounts)),
      passwords_(std::move(passwords)),
      mail_directory_(std::move(mail_directory)),
      db_timeout_(db_timeout),
      queue_(threads, max_waiting) {
  unsigned char rnd[24];
  MB_CHECK(RAND_bytes(rnd, sizeof rnd) == 1, "RAND_bytes");
  std::string pw;
  for (unsigned char c : rnd) pw += "0123456789abcdef"[c & 15];
  auto h = common::accounts::hash_password(pw);
  MB_CHECK(h.is_ok(), "hash_password for the dummy hash");
  dummy_hash_ = *h;
}

namespace {

// One check on a worker; the password is wiped however the task ends.
class CheckTask final : public common::io::Task {
 public:
  CheckTask(Verifier& v, std::string login, std::string password, Verifier::Done done,
            std::chrono::steady_clock::time_point deadline)
      : v_(v),
        login_(std::move(login)),
        password_(std::move(password)),
        done_(std::move(done)),
        deadline_(deadline) {}
  ~CheckTask() override { OPENSSL_cleanse(password_.data(), password_.size()); }
  void run() override {
    common::pg::DeadlineScope scope(deadline_);
    result_ = v_.check(login_, password_);
    OPENSSL_cleanse(password_.data(), password_.size());
  }
  void done() override { done_(result_); }

 private:
  Verifier& v_;
  std::string login_;
  std::string password_;
  Verifier::Done done_;
  std::chrono::steady_clock::time_point deadline_;
  Outcome result_;
};

}  // namespace

bool Verifier::submit(const std::string& login, std::string password, Done done) {
  return queue_.submit(std::make_unique<CheckTask>(*this, login, std::move(password), std::move(done),
                                                   std::chrono::steady_clock::now() + db_timeout_));
}

Outcome Verifier::check(const std::string& login, const std::string& password) {
  Outcome r;
  std::optional<LoginTarget> target;
  std::optional<std::string> hash;
  {
    std::lock_guard<std::mutex> lock(db_mu_);
    auto t = resolve_login(*accounts_, mail_directory_, login);
    if (!t) {
      common::log::error("accounts database: %s", t.message().c_str());
      return r;
    }
    target = std::move(*t);
    if (target) {
      auto h = passwords_->hash(target->address);
      if (!h) {
        common::log::error("password database: %s", h.message().c_str());
        return r;
      }
      hash = std::move(*h);
    }
  }
  bool ok;
  if (target && hash) {
    auto ticket = cache_.ticket(target->address, *hash, password);
    if (cache_.check(ticket)) {
      ++cached_checks_;
      ok = true;
    } else {
      ++full_checks_;
      ok = common::accounts::check_password(password, *hash);
      if (ok) cache_.remember(ticket);
    }
    OPENSSL_cleanse(hash->data(), hash->size());
  } else {
    // An unknown user costs the same yescrypt work as a wrong password.
    ++full_checks_;
    (void)common::accounts::check_password(password, dummy_hash_);
    ok = false;
  }
  if (!ok) {
    r.result = AuthResult::kBadCredentials;
    return r;
  }
  r.result = AuthResult::kOk;
  r.account = target->address;
  r.maildir = target->maildir;
  return r;
}

}  // namespace authd
