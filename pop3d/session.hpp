// One POP3 session as a state machine (RFC 1939 3: AUTHORIZATION, TRANSACTION, UPDATE),
// with CAPA (RFC 2449), STLS (RFC 2595) and AUTH PLAIN (RFC 5034). The same contract as
// smtpd's Session: the connection (connection.cpp) feeds it lines and events and gets
// back an Output, the bytes to write and what to do next; it never touches a socket, so
// the tests drive it directly. Slow or timed work (password checks, the failure delay,
// TLS, opening the maildrop, streaming a message, the deletions of the UPDATE state) is
// the connection's: the session is busy() until the connection reports back, and no
// further command line is read meanwhile, which is what makes PIPELINING (RFC 2449 6.6)
// safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/auth/outcome.hpp"
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
using AuthResult = common::auth::Outcome;

struct SessionStats {
  std::size_t retrieved = 0;
  std::size_t deleted = 0;  // removed at QUIT
  std::uint64_t bytes = 0;  // RFC 1939 sizes of the messages sent
};

// What the connection does after a session call: write `bytes`, then act on the rest,
// in the order of the fields. At most one of the waits (verify, start_tls,
// open_maildrop, stream, update) is set; each is answered with the matching call.
struct Output {
  std::string bytes;
  // A successful login (for the log and POP-before-SMTP).
  std::optional<std::string> logged_in;
  // Check these credentials; answer with auth_result(). The password must not be
  // logged or kept.
  struct Credentials {
    std::string user;
    std::string password;
  };
  std::optional<Credentials> verify;
  // After the bytes ("+OK Begin TLS"): discard any input read after the STLS line
  // (RFC 2595 4, against command injection), handshake, then tls_started().
  bool start_tls = false;
  // After a good password: the maildrop of the account (at this path when the host knows
  // it) must be opened (Maildrop::open: lock, new/ -> cur/, list) without holding up
  // other sessions; then maildrop_opened(). pop3d hands the client to the POP3 mailbox
  // process for that, which continues with resume(); only a failure comes back here.
  std::optional<std::string> open_maildrop;
  // Send the file through the encoder as the socket drains; then stream_done().
  struct Stream {
    common::io::UniqueFd fd;
    WireEncoder encoder;
  };
  std::optional<Stream> stream;
  // The UPDATE state after QUIT (RFC 1939 6): remove what the maildrop marks
  // (Maildrop::commit) and release it, without holding up other sessions, even if the
  // client is gone by then; then update_done().
  std::unique_ptr<Maildrop> update;
  // Close once the bytes are written.
  std::optional<SessionStats> close;
};

class Session {
 public:
  enum class State { kAuthorization, kTransaction, kClosed };

  explicit Session(SessionOptions opt) : opt_(std::move(opt)) {}
  ~Session();

  // The greeting (RFC 1939 4).
  [[nodiscard]] Output start();
  // UNTRUSTED: one line from the client, CRLF removed. REQUIRES: !busy().
  [[nodiscard]] Output on_line(std::string_view line);
  // The client sent a line longer than kMaxLine (the connection discarded it).
  [[nodiscard]] Output on_line_too_long();
  [[nodiscard]] Output auth_result(const AuthResult& r);
  // `why` says whether a failure was the lock ([IN-USE]).
  [[nodiscard]] Output maildrop_opened(common::Result<std::unique_ptr<Maildrop>> drop,
                                       Maildrop::OpenError why);
  // The POP3 mailbox process: a session whose login happened in pop3d, with its maildrop
  // open; the same reply as maildrop_opened() (+OK Logged in), in the TRANSACTION state.
  [[nodiscard]] Output resume(const std::string& account, std::unique_ptr<Maildrop> drop);
  [[nodiscard]] Output tls_started();
  [[nodiscard]] Output stream_done(const common::Status& st);
  // How many messages UPDATE removed, or why it could not remove them all.
  [[nodiscard]] Output update_done(const common::Result<std::size_t>& removed);

  bool busy() const { return wait_ != Wait::kNone || state_ == State::kClosed; }
  // QUIT was received and the deletions are under way.
  bool updating() const { return wait_ == Wait::kUpdate; }
  State state() const { return state_; }
  const std::string& user() const { return user_; }
  bool tls_active() const { return opt_.tls_active; }

 private:
  enum class Wait { kNone, kAuth, kOpen, kTls, kStream, kUpdate };
  Output take() { return std::exchange(out_, Output()); }
  // The bodies of the public calls; each adds to out_.
  void do_on_line(std::string_view line);
  void do_auth_result(const AuthResult& r);
  void do_maildrop_opened(common::Result<std::unique_ptr<Maildrop>> drop, Maildrop::OpenError why);
  void do_tls_started();
  void do_stream_done(const common::Status& st);
  void do_update_done(const common::Result<std::size_t>& removed);
  void send(std::string_view text) { out_.bytes.append(text); }
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
  Output out_;
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
