// Login resolution, the verifier thread and the failure throttle (see auth.hpp).
#include "pop3d/auth.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <unistd.h>

#include "common/check.hpp"
#include "common/log/log.hpp"
#include "common/mail/ascii.hpp"

namespace pop3d {

using common::Result;
using common::Status;

namespace {

// Same rule as the local agent's: relative, no empty, "." or ".." component, printable.
bool valid_relative(std::string_view rel) {
  if (rel.empty() || rel.size() > 1024 || rel.front() == '/' || rel.back() == '/') return false;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= rel.size(); ++i) {
    if (i < rel.size()) {
      auto u = static_cast<unsigned char>(rel[i]);
      if (u < 0x21 || u > 0x7e) return false;
      if (rel[i] != '/') continue;
    }
    std::string_view part = rel.substr(start, i - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = i + 1;
  }
  return true;
}

}  // namespace

Result<std::optional<LoginTarget>> resolve_login(common::accounts::Accounts& accounts,
                                                 const std::string& mail_directory, std::string_view name) {
  std::string address = common::mail::lower(name);
  if (address.find('@') == std::string::npos) {
    auto domains = accounts.domains();
    if (!domains) return domains.status();
    std::vector<std::string> real;
    for (const auto& d : *domains)
      if (d.alias_of.empty()) real.push_back(d.name);
    if (real.size() != 1) return std::optional<LoginTarget>();
    address += "@" + real[0];
  }
  if (!common::accounts::split_user_address(address)) return std::optional<LoginTarget>();
  auto user = accounts.user(address);
  if (!user) return user.status();
  if (!*user || (*user)->disabled || !valid_relative((*user)->maildir)) return std::optional<LoginTarget>();
  return std::optional<LoginTarget>(LoginTarget{address, mail_directory + "/" + (*user)->maildir});
}

void LoginThrottle::prune(const std::string& addr, double now) {
  auto it = failures_.find(addr);
  if (it == failures_.end()) return;
  while (!it->second.empty() && it->second.front() <= now - kWindow) it->second.pop_front();
  if (it->second.empty()) failures_.erase(it);
}

void LoginThrottle::record_failure(const std::string& addr, double now) {
  prune(addr, now);
  // Bounded memory under a flood from many addresses: forget the whole table.
  if (failures_.size() > 100000) failures_.clear();
  auto& q = failures_[addr];
  q.push_back(now);
  if (q.size() > static_cast<std::size_t>(kMaxFailures)) q.pop_front();
}

bool LoginThrottle::blocked(const std::string& addr, double now) {
  prune(addr, now);
  auto it = failures_.find(addr);
  return it != failures_.end() && it->second.size() >= static_cast<std::size_t>(kMaxFailures);
}

double LoginThrottle::delay(const std::string& addr, double now) {
  prune(addr, now);
  auto it = failures_.find(addr);
  std::size_t n = it == failures_.end() ? 0 : it->second.size();
  return n <= 3 ? 1.0 : 2.0;
}

Verifier::Verifier(std::unique_ptr<common::accounts::Accounts> accounts,
                   std::unique_ptr<common::accounts::Passwords> passwords, std::string mail_directory)
    : accounts_(std::move(accounts)),
      passwords_(std::move(passwords)),
      mail_directory_(std::move(mail_directory)) {
  unsigned char rnd[24];
  MB_CHECK(RAND_bytes(rnd, sizeof rnd) == 1, "RAND_bytes");
  std::string pw;
  for (unsigned char c : rnd) pw += "0123456789abcdef"[c & 15];
  auto h = common::accounts::hash_password(pw);
  MB_CHECK(h.is_ok(), "hash_password for the dummy hash");
  dummy_hash_ = *h;
}

Verifier::~Verifier() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

Status Verifier::start() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return Status::sys("pipe");
  pipe_r_.reset(fds[0]);
  pipe_w_.reset(fds[1]);
  for (std::size_t i = 0; i < kThreads; ++i) threads_.emplace_back([this] { worker(); });
  return Status::ok();
}

void Verifier::submit(Job job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

std::vector<Verifier::Done> Verifier::take_results() {
  char buf[256];
  while (::read(pipe_r_.get(), buf, sizeof buf) > 0) {
  }
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(done_, {});
}

AuthResult Verifier::check(const std::string& user, const std::string& password) {
  AuthResult r;
  std::optional<LoginTarget> target;
  std::optional<std::string> hash;
  {
    std::lock_guard<std::mutex> lock(db_mu_);
    auto t = resolve_login(*accounts_, mail_directory_, user);
    if (!t) {
      common::log::error("accounts database: %s", t.message().c_str());
      r.outcome = AuthResult::Outcome::kTempFail;
      return r;
    }
    target = std::move(*t);
    if (target) {
      auto h = passwords_->hash(target->address);
      if (!h) {
        common::log::error("password database: %s", h.message().c_str());
        r.outcome = AuthResult::Outcome::kTempFail;
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
  } else {
    // An unknown user costs the same yescrypt work as a wrong password.
    ++full_checks_;
    (void)common::accounts::check_password(password, dummy_hash_);
    ok = false;
  }
  if (!ok) {
    r.outcome = AuthResult::Outcome::kBadCredentials;
    return r;
  }
  r.outcome = AuthResult::Outcome::kOk;
  r.address = target->address;
  r.maildir = target->maildir;
  return r;
}

void Verifier::worker() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (stop_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    Done d{job.conn_id, check(job.user, job.password)};
    OPENSSL_cleanse(job.password.data(), job.password.size());
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_.push_back(std::move(d));
    }
    char one = 1;
    (void)!::write(pipe_w_.get(), &one, 1);  // a full pipe already means "look"
  }
}

}  // namespace pop3d
