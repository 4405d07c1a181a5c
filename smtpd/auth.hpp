// Password checks for SMTP AUTH without stalling the event loop. A yescrypt check costs
// tens of milliseconds of CPU; done on the loop, one login would stall every other
// session. The loop thread looks the hash up (an LMDB read, microseconds: PasswordStore),
// then the worker threads of a bounded common::io::WorkQueue run the check
// (PasswordPool) and the verdict comes back on the loop thread. Workers touch nothing but
// the job they were given: no LMDB, no sessions, no logging.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/accounts/passwd.hpp"
#include "common/io/work_queue.hpp"
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

  PasswordPool(event_base* base, std::size_t threads, std::size_t max_queued, Done done)
      : base_(base), done_(std::move(done)), queue_(threads, max_queued) {}

  common::Status start() { return queue_.start(base_); }
  // Queues a check; false when max_queued checks are already waiting (the caller
  // answers 454, try again). The password is wiped once checked, or dropped.
  bool submit(std::uint64_t job, std::string hash, std::string password);

 private:
  event_base* base_;
  Done done_;
  common::io::WorkQueue queue_;  // after done_: its tasks refer to it
};

}  // namespace smtpd
