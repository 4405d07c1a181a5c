// The network daemons' side of the authentication protocol: smtpd (AUTH) and pop3d
// (USER/PASS) hand each login and password to the authentication daemon (common/authd,
// program mailbag-auth) over private/auth and get ok, bad credentials or a temporary
// failure back, with the canonical account (and, for pop3d, a one-time login token that
// the POP3 mailbox process redeems for the account's Maildir). They never see a password
// hash. One connection, kept open and re-made every second while the daemon
// is down; every failure of the conversation (not running, gone mid-check, no answer in
// time) is a temporary failure for the client, never a hang.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <functional>
#include <string>

#include "common/ipc/client.hpp"
#include "common/ipc/messages.hpp"

namespace common::auth {

struct Verdict {
  ipc::AuthResult result = ipc::AuthResult::kTempFail;
  std::string account;  // with kOk
  std::string maildir;  // with kOk from redeem()
  std::string token;    // with kOk from check(), service pop3: the one-time login token
  std::string why;      // with a failed conversation, for the log
};

class Client {
 public:
  // A check that waits longer than this for its answer fails temporarily. The daemon
  // bounds its queue (a full queue answers at once), so only a stuck daemon gets here.
  static constexpr int kTimeoutMs = 30000;
  using Done = std::function<void(const Verdict&)>;

  // `service`: "smtp" or "pop3" (protocol.hpp); `role`: the program, for Hello.
  Client(event_base* base, const std::string& socket_path, std::string service, const std::string& role,
         int timeout_ms = kTimeoutMs);

  // Connects now, and again every second after a loss, until destroyed.
  void start();
  // Asks. Returns 0 when the daemon cannot be reached now (`done` is never called: the
  // caller answers "try again later" at once); otherwise `done` runs exactly once, on a
  // later turn of the loop. The password is wiped from `password`.
  std::uint64_t check(const std::string& client_ip, const std::string& login, std::string password,
                      Done done);
  // The POP3 mailbox process: redeems the login token that came with `account`. `done`
  // gets kOk with the Maildir in `maildir`, kBadCredentials for a token that is unknown,
  // spent, expired or another account's, kTempFail when the conversation failed. The
  // same contract as check() (0: not reachable now, `done` never called).
  std::uint64_t redeem(const std::string& account, std::string token, Done done);
  void cancel(std::uint64_t id) { client_.cancel(id); }
  bool connected() const { return client_.connected(); }

 private:
  std::string service_;
  ipc::AsyncClient client_;
};

}  // namespace common::auth
