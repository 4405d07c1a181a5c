// Password checks for SMTP AUTH without stalling the event loop. A yescrypt check costs
// tens of milliseconds of CPU; done on the loop, one login would stall every other
// session. The loop thread looks the hash up (an LMDB read, microseconds: PasswordStore),
// then a small pool of worker threads runs the check (PasswordPool) and posts the
// verdict back through an eventfd that the loop watches. Workers touch nothing but the
// job they were given: no LMDB, no sessions, no logging.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/accounts/passwd.hpp"
#include "common/io/event.hpp"
#include "common/io/unique_fd.hpp"
#include "common/result.hpp"

namespace smtpd {

// passwd.mdb, opened read-only before the privilege drop (smtpd is in group mb-auth) or,
// if that failed, retried at most once a second, so AUTH works as soon as it can.
class PasswordStore {
 public:
  PasswordStore(std::string path, std::unique_ptr<common::accounts::Passwords> db);
  // The hash of `address`, nullopt if the user has none.
  common::Result<std::optional<std::string>> hash(const std::string& address);
  // A valid yescrypt hash of a random password: checked instead when the user does not
  // exist, so that a missing user costs the same time as a wrong password.
  const std::string& dummy_hash() const { return dummy_; }

 private:
  std::string path_;
  std::unique_ptr<common::accounts::Passwords> db_;
  std::chrono::steady_clock::time_point last_try_{};
  common::Status last_error_;
  std::string dummy_;
};

class PasswordPool {
 public:
  // Called on the loop thread with each verdict.
  using Done = std::function<void(std::uint64_t job, bool ok)>;

  PasswordPool(event_base* base, std::size_t threads, std::size_t max_queued, Done done);
  ~PasswordPool();
  PasswordPool(const PasswordPool&) = delete;
  PasswordPool& operator=(const PasswordPool&) = delete;

  common::Status start();
  // Queues a check; false when max_queued checks are already waiting (the caller
  // answers 454, try again). The password is wiped once checked.
  bool submit(std::uint64_t job, std::string hash, std::string password);

 private:
  struct Job {
    std::uint64_t id = 0;
    std::string hash;
    std::string password;
  };
  struct Result {
    std::uint64_t id = 0;
    bool ok = false;
  };
  static void notify_cb(evutil_socket_t, short, void* self) noexcept;
  void worker();
  void deliver();

  event_base* base_;
  std::size_t nthreads_;
  std::size_t max_queued_;
  Done done_;
  common::io::UniqueFd efd_;
  common::io::EventPtr ev_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  std::vector<Result> results_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace smtpd
