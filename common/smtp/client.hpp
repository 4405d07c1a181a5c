// The SMTP client session as a pure state machine (no sockets, no clock): the remote
// delivery agent and `mailctl etrn` feed it replies and connection events, and it says
// what to write and what happened. One session serves any number of transactions (and
// ETRN commands) in a row, so connections can be reused.
//   greeting -> EHLO (HELO if EHLO is refused with 5xx) -> [STARTTLS -> EHLO] -> [AUTH]
//   -> ready -> MAIL FROM, RCPT TO..., DATA (pipelined when offered, RFC 2920 3.1)
//   -> message -> "." -> ready (RSET first after a failed transaction) ... -> QUIT
// RFC 5321 3.1, 4.1.1, 4.5.3.2; RFC 3207 4.2 (EHLO again after TLS); RFC 4954 (AUTH);
// RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 6531 (SMTPUTF8), RFC 1985 (ETRN).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "common/mail/outcome.hpp"
#include "common/smtp/ehlo.hpp"
#include "common/smtp/reply.hpp"
#include "common/smtp/tls_policy.hpp"

namespace common::smtp {

using mail::Outcome;

struct SessionOptions {
  std::string helo_name;  // our host name for EHLO/HELO
  TlsPolicy tls = TlsPolicy::kMay;
  std::string auth_user;  // empty: no AUTH (RFC 4954); AUTH is only ever sent over TLS
  std::string auth_password;
  // kVerify: the name the certificate must carry. Empty: the host being connected to
  // (an MX name comes from DNS; a relayhost with credentials pins its configured name).
  std::string tls_name;
};

// One message to send. Addresses are in the queue's canonical form ("" = null sender).
struct Transaction {
  std::string sender;
  std::vector<std::string> recipients;  // at least one
  std::uint64_t size = 0;               // SIZE= estimate (RFC 1870), 0: none
  bool body_8bit = false;               // BODY=8BITMIME when offered (RFC 6152)
  bool smtputf8 = false;                // the sender asked for SMTPUTF8 (RFC 6531)
  // RFC 8689: only over TLS to a server that offers REQUIRETLS, and passed on in MAIL;
  // otherwise every recipient fails with 5.7.10. (That the TLS is verified is the
  // caller's part: it gives such a message only to a session with verified TLS.)
  bool requiretls = false;
};

// Which command (or event) an answer belongs to, for "(in reply to RCPT TO)".
enum class Stage : std::uint8_t {
  kConnect,
  kGreeting,
  kEhlo,
  kHelo,
  kStartTls,
  kTlsHandshake,
  kAuth,
  kMail,
  kRcpt,
  kData,
  kDot,
  kRset,
  kEtrn,
  kQuit,
  kIdle,
};
const char* stage_name(Stage s);

// RFC 5321 4.5.3.2 timeouts for the reply awaited at `s`, scaled so that base = 300 s
// gives the RFC's values: 5 min for the greeting, MAIL and RCPT (and, as Postfix, EHLO,
// STARTTLS, AUTH, RSET, ETRN, QUIT), 2 min for DATA, 10 min after the final dot. The
// 3 min "data block" timeout (4.5.3.2.5) is data_block_timeout().
int reply_timeout(Stage s, int base_seconds);
int data_block_timeout(int base_seconds);

// What happened to one recipient, or why a session failed.
struct Report {
  Outcome outcome = Outcome::kOk;
  Stage stage = Stage::kConnect;
  std::optional<Reply> reply;  // the server's answer that decided it, if any
  std::string status;          // RFC 3463 code: the reply's, or chosen here
  std::string detail;          // what happened when no reply decided it
};

struct Output {
  std::string write;            // bytes to send now (may hold credentials: never log it)
  bool start_tls = false;       // begin the TLS handshake (after checking no bytes are pending)
  bool send_body = false;       // send the message data now (DataEncoder), then on_body_sent()
  bool close = false;           // close the connection after writing `write`
  bool ready = false;           // idle: ready for send() / etrn() / quit()
  std::optional<Report> error;  // the session failed (outside a transaction)
  std::vector<Report> results;  // a transaction ended: one report per recipient
  std::optional<Reply> etrn;    // the answer to an ETRN command
};

class ClientSession {
 public:
  explicit ClientSession(SessionOptions opt) : opt_(std::move(opt)) {}

  // Events from the connection.
  Output on_reply(const Reply& r);
  Output on_tls_established();
  Output on_tls_failed(const std::string& why);
  // The connection closed, timed out, or sent a malformed reply.
  Output on_closed();
  Output on_timeout();
  Output on_protocol_error(const std::string& why);

  // Commands, only when ready().
  Output send(Transaction tx);
  Output etrn(const std::string& domain);
  Output quit();

  bool ready() const { return state_ == State::kReady; }
  // The reply the session waits for now (kIdle when it waits for nothing).
  Stage waiting() const;
  bool tls_active() const { return tls_active_; }
  bool in_transaction() const { return tx_.has_value(); }
  const Capabilities& capabilities() const { return caps_; }

 private:
  enum class State {
    kGreeting,
    kEhlo,
    kHelo,
    kStartTls,
    kHandshake,
    kAuthPlain,
    kAuthLogin,
    kAuthUser,
    kAuthPass,
    kReady,
    kTransaction,
    kDot,
    kDotDiscard,
    kRset,
    kEtrn,
    kQuit,
    kClosed,
  };
  Output after_hello(Output out);
  Output after_tls_decision(Output out);
  Output auth(Output out);
  Output fail(Output out, Stage stage, const Reply* r, std::string status, std::string detail, bool quit);
  Output transaction_reply(const Reply& r);
  Output next_command(Output out);
  Output finish_transaction(Output out, bool needs_rset);
  Output lost(Output out, const std::string& what, const std::string& status);
  std::string mail_command() const;
  void decide(std::size_t i, const Reply& r, Stage stage);

  SessionOptions opt_;
  State state_ = State::kGreeting;
  Capabilities caps_;
  bool tls_active_ = false;
  bool tls_tried_ = false;

  // The transaction in progress.
  std::optional<Transaction> tx_;
  std::vector<std::optional<Report>> results_;  // decided recipients
  std::deque<Stage> awaited_;                   // commands sent, replies not yet read
  std::size_t next_rcpt_ = 0;                   // next RCPT to send (unpipelined)
  std::size_t rcpt_replies_ = 0;                // RCPT replies read so far
  std::size_t accepted_ = 0;
  std::optional<Reply> mail_failed_;
  bool data_sent_ = false;
};

// Outcome of a reply code: 2xx/3xx ok, 4xx temporary, 5xx permanent.
Outcome outcome_of(const Reply& r);
// The reply's enhanced code, or X.0.0 by its class.
std::string status_of(const Reply& r);

}  // namespace common::smtp
