// One POP3 session as a state machine (RFC 1939 3: AUTHORIZATION, TRANSACTION, UPDATE),
// with CAPA (RFC 2449), STLS (RFC 2595) and AUTH PLAIN (RFC 5034). It sees lines and
// answers through SessionHost; it never touches a socket, so the tests drive it directly.
// Slow or timed work (password checks, the failure delay, TLS, opening the maildrop,
// streaming a message, the deletions of the UPDATE state) is the host's: the session is
// busy() until the host reports back, and the host reads no further command lines
// meanwhile, which is what makes PIPELINING (RFC 2449 6.6) safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/io/unique_fd.hpp"
#include "common/result.hpp"
#include "pop3d/commands.hpp"
#include "pop3d/maildrop.hpp"
#include "pop3d/stream.hpp"

namespace pop3d {

struct SessionOptions {
  std::string hostname;
  bool tls_available = false;   // a certificate is loaded: STLS may be offered
  bool tls_active = false;      // implicit TLS (port 995) or after STLS
  bool plaintext_auth = false;  // pop3_plaintext_auth: logins allowed without TLS
};

// What the host learned about a login attempt.
struct AuthResult {
  enum class Outcome { kOk, kBadCredentials, kThrottled, kTempFail };
  Outcome outcome = Outcome::kBadCredentials;
  std::string address;  // canonical "local@domain" (kOk)
  std::string maildir;  // absolute Maildir path (kOk)
};

struct SessionStats {
  std::size_t retrieved = 0;
  std::size_t deleted = 0;  // removed at QUIT
  std::uint64_t bytes = 0;  // RFC 1939 sizes of the messages sent
};

class SessionHost {
 public:
  virtual ~SessionHost() = default;
  // Queue bytes for the client.
  virtual void send(std::string_view text) = 0;
  // Check credentials; the answer comes back with Session::auth_result(). The password
  // must not be logged or kept.
  virtual void verify(const std::string& user, const std::string& password) = 0;
  // After "+OK Begin TLS" has been sent: discard any input read after the STLS line
  // (RFC 2595 4, against command injection), handshake, then Session::tls_started().
  virtual void start_tls() = 0;
  // After a good password: open the maildrop at `path` (Maildrop::open: lock, new/ ->
  // cur/, list) without holding up other sessions; then Session::maildrop_opened().
  virtual void open_maildrop(const std::string& path) = 0;
  // Send `fd` through `enc` as the socket drains; then Session::stream_done().
  virtual void stream(common::io::UniqueFd fd, WireEncoder enc) = 0;
  // The UPDATE state after QUIT (RFC 1939 6): remove what `drop` marks (Maildrop::commit)
  // and release it, without holding up other sessions; then Session::update_done(). The
  // removal happens even if the client is gone by then.
  virtual void update(std::unique_ptr<Maildrop> drop) = 0;
  // Successful login (for the log and POP-before-SMTP).
  virtual void logged_in(const std::string& address) = 0;
  // Close after the queued output is sent.
  virtual void close(const SessionStats& stats) = 0;
};

class Session {
 public:
  enum class State { kAuthorization, kTransaction, kClosed };

  Session(SessionOptions opt, SessionHost& host) : opt_(std::move(opt)), host_(host) {}
  ~Session();

  // Sends the greeting (RFC 1939 4).
  void start();
  // UNTRUSTED: one line from the client, CRLF removed. REQUIRES: !busy().
  void on_line(std::string_view line);
  // The client sent a line longer than kMaxLine (the host discarded it).
  void on_line_too_long();
  void auth_result(const AuthResult& r);
  // `why` says whether a failure was the lock ([IN-USE]).
  void maildrop_opened(common::Result<std::unique_ptr<Maildrop>> drop, Maildrop::OpenError why);
  void tls_started();
  void stream_done(const common::Status& st);
  // How many messages UPDATE removed, or why it could not remove them all.
  void update_done(const common::Result<std::size_t>& removed);

  bool busy() const { return wait_ != Wait::kNone || state_ == State::kClosed; }
  // QUIT was received and the deletions are under way.
  bool updating() const { return wait_ == Wait::kUpdate; }
  State state() const { return state_; }
  const std::string& user() const { return user_; }
  bool tls_active() const { return opt_.tls_active; }

 private:
  enum class Wait { kNone, kAuth, kOpen, kTls, kStream, kUpdate };
  void reply_ok(std::string_view text);
  void reply_err(std::string_view text);
  void error(std::string_view text);  // -ERR that counts towards the error limit
  void close();
  bool login_allowed() const { return opt_.tls_active || opt_.plaintext_auth; }

  void authorization(const Command& c);
  void transaction(const Command& c);
  void capa();
  void auth(const Command& c);
  void sasl_response(std::string_view line);
  void plain_credentials(std::string_view b64);
  // The live message for a "msg" argument, or nullopt after replying -ERR.
  std::optional<std::size_t> message_arg(std::string_view arg);
  void list(const Command& c, bool uidl);
  void send_message(const Command& c, bool top);
  void quit();

  SessionOptions opt_;
  SessionHost& host_;
  State state_ = State::kAuthorization;
  Wait wait_ = Wait::kNone;
  bool sasl_continue_ = false;  // AUTH PLAIN sent "+ ", waiting for the response line
  std::string pending_user_;    // from USER
  std::string user_;            // logged in
  std::string login_;           // password accepted, maildrop being opened
  std::unique_ptr<Maildrop> drop_;
  SessionStats stats_;
  int errors_ = 0;
};

}  // namespace pop3d
