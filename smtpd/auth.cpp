// Password store and worker pool (see auth.hpp).
#include "smtpd/auth.hpp"

#include <openssl/rand.h>

#include "common/check.hpp"
#include "smtpd/sasl.hpp"

namespace smtpd {

PasswordStore::PasswordStore(std::string path, std::unique_ptr<common::accounts::Passwords> db)
    : path_(std::move(path)), db_(std::move(db)) {
  unsigned char rnd[24];
  MB_CHECK(RAND_bytes(rnd, sizeof rnd) == 1, "RAND_bytes");
  auto h = common::accounts::hash_password(
      sasl::encode_base64(std::string_view(reinterpret_cast<const char*>(rnd), sizeof rnd)));
  MB_CHECK(h.is_ok(), "hash_password for the dummy hash");
  dummy_ = *h;
}

common::Result<std::optional<std::string>> PasswordStore::hash(const std::string& address) {
  if (!db_) {
    auto now = std::chrono::steady_clock::now();
    if (last_try_ != std::chrono::steady_clock::time_point{} && now - last_try_ < std::chrono::seconds(1))
      return last_error_;
    last_try_ = now;
    auto p = common::accounts::Passwords::open(path_, false);
    if (!p) {
      last_error_ = common::Status::error("password database " + path_ + ": " + p.message());
      return last_error_;
    }
    db_ = std::move(*p);
  }
  return db_->hash(address);
}

namespace {

// One check; the password is wiped however the task ends (run, or dropped unrun).
class CheckTask final : public common::io::Task {
 public:
  CheckTask(std::uint64_t id, std::string hash, std::string password, const PasswordPool::Done& done)
      : id_(id), hash_(std::move(hash)), password_(std::move(password)), done_(done) {}
  ~CheckTask() override { sasl::wipe(&password_); }
  void run() override {
    ok_ = common::accounts::check_password(password_, hash_);
    sasl::wipe(&password_);
  }
  void done() override { done_(id_, ok_); }

 private:
  std::uint64_t id_;
  std::string hash_;
  std::string password_;
  const PasswordPool::Done& done_;  // the pool's, which outlives its queue's tasks
  bool ok_ = false;
};

}  // namespace

bool PasswordPool::submit(std::uint64_t job, std::string hash, std::string password) {
  return queue_.submit(std::make_unique<CheckTask>(job, std::move(hash), std::move(password), done_));
}

}  // namespace smtpd
