// Password store and worker pool (see auth.hpp).
#include "smtpd/auth.hpp"

#include <openssl/rand.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

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

PasswordPool::PasswordPool(event_base* base, std::size_t threads, std::size_t max_queued, Done done)
    : base_(base), nthreads_(threads), max_queued_(max_queued), done_(std::move(done)) {}

PasswordPool::~PasswordPool() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
    for (auto& j : jobs_) sasl::wipe(&j.password);
    jobs_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

common::Status PasswordPool::start() {
  efd_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!efd_) return common::Status::sys("eventfd");
  ev_.reset(event_new(base_, efd_.get(), EV_READ | EV_PERSIST, notify_cb, this));
  if (!ev_ || event_add(ev_.get(), nullptr) != 0) return common::Status::error("event_new (auth pool)");
  for (std::size_t i = 0; i < nthreads_; ++i) threads_.emplace_back([this] { worker(); });
  return common::Status::ok();
}

bool PasswordPool::submit(std::uint64_t job, std::string hash, std::string password) {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (jobs_.size() >= max_queued_) {
      sasl::wipe(&password);
      return false;
    }
    jobs_.push_back(Job{job, std::move(hash), std::move(password)});
  }
  cv_.notify_one();
  return true;
}

void PasswordPool::worker() {
  for (;;) {
    Job j;
    {
      std::unique_lock<std::mutex> g(mu_);
      cv_.wait(g, [this] { return stop_ || !jobs_.empty(); });
      if (stop_) return;
      j = std::move(jobs_.front());
      jobs_.pop_front();
    }
    bool ok = common::accounts::check_password(j.password, j.hash);
    sasl::wipe(&j.password);
    {
      std::lock_guard<std::mutex> g(mu_);
      results_.push_back(Result{j.id, ok});
    }
    std::uint64_t one = 1;
    ssize_t n = ::write(efd_.get(), &one, sizeof one);  // EAGAIN only when the count is huge
    (void)n;
  }
}

void PasswordPool::notify_cb(evutil_socket_t, short, void* self) noexcept {
  static_cast<PasswordPool*>(self)->deliver();
}

void PasswordPool::deliver() {
  std::uint64_t count = 0;
  ssize_t n = ::read(efd_.get(), &count, sizeof count);
  (void)n;
  std::vector<Result> ready;
  {
    std::lock_guard<std::mutex> g(mu_);
    ready.swap(results_);
  }
  for (const auto& r : ready) done_(r.id, r.ok);
}

}  // namespace smtpd
