// The SMTP client session as a pure state machine (no sockets, no clock): the remote
// delivery agent and `mailctl etrn` feed it replies and connection events, and it says
// what to write and what happened. One session serves any number of transactions (and
// ETRN commands) in a row, so connections can be reused.
//   greeting -> EHLO (HELO if EHLO is refused with 5xx) -> [STARTTLS -> EHLO] -> [AUTH]
//   -> ready -> MAIL FROM, RCPT TO..., DATA (pipelined when offered, RFC 2920 3.1)
//   -> message -> "." -> ready (RSET first after a failed transaction) ... -> QUIT
// With CHUNKING and PIPELINING offered (RFC 3030 2, 4.2) the message goes in BDAT chunks
// instead: MAIL and every RCPT in one group, then, if a recipient was accepted, the
// chunks pipelined, the last one with LAST; the reply to it decides.
// RFC 5321 3.1, 4.1.1, 4.5.3.2; RFC 3207 4.2 (EHLO again after TLS); RFC 4954 (AUTH);
// RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 6531 (SMTPUTF8), RFC 1985 (ETRN),
// RFC 3461 (DSN: the requests passed on to a server that offers it).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "common/mail/dsn.hpp"
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
  // RFC 3461 5.2.1: the DSN requests the message came with, passed on unchanged to a
  // server that offers DSN (RET and ENVID in MAIL; NOTIFY and ORCPT in RCPT, `dsn` empty
  // or one entry per recipient); not sent to one that does not (5.2.2).
  common::mail::DsnRet dsn_ret = common::mail::DsnRet::kUnspecified;
  std::string dsn_envid;  // decoded
  std::vector<common::mail::DsnRcpt> dsn;
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
  kBdat,
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
  // Accepted by a server that offers DSN: it took the recipient's DSN duties on (RFC
  // 3461 5.2.1), so no "relayed" notice is due from us (5.2.2 is for servers without).
  bool dsn_passed = false;
};

struct Output {
  std::string write;            // bytes to send now (may hold credentials: never log it)
  bool start_tls = false;       // begin the TLS handshake (after checking no bytes are pending)
  bool send_body = false;       // send the message data now (DataEncoder)
  bool bdat = false;            // with send_body: in BDAT chunks, each told to on_bdat_chunk()
  bool stop_body = false;       // a BDAT chunk failed: send no more chunks (RFC 3030 2)
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
  // The connection wrote one BDAT chunk (`last`: with LAST); its reply is now awaited.
  void on_bdat_chunk(bool last);

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
    kBdat,
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
  Output bdat_reply(const Reply& r);
  Output next_command(Output out);
  Output finish_transaction(Output out, bool needs_rset);
  Output lost(Output out, const std::string& what, const std::string& status);
  std::string mail_command() const;
  std::string rcpt_command(std::size_t i) const;
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
  bool bdat_ = false;             // this transaction sends BDAT chunks, not DATA
  std::size_t bdat_pending_ = 0;  // chunks written whose reply has not come
  bool bdat_last_sent_ = false;   // the LAST chunk is written
  bool bdat_failed_ = false;      // a chunk was refused
};

// Outcome of a reply code: 2xx/3xx ok, 4xx temporary, 5xx permanent.
Outcome outcome_of(const Reply& r);
// The reply's enhanced code, or X.0.0 by its class.
std::string status_of(const Reply& r);

}  // namespace common::smtp
