// The per-connection SMTP state machine. Pure with respect to the network: the I/O layer
// (connection.cpp) feeds it the bytes it reads and events (timeout, TLS up, queue
// manager answer) and gets back an Output: bytes to write and what to do next (start
// TLS, hand a queue file to the queue manager, close). The only side effects are the
// queue file it writes through Backend and log lines. Tested without sockets in
// session_test.cpp and by the transcripts in tests/dialogs/ (dialogs_test.cpp). With
// mail filters configured it also stops at each filter stage (Output::milter,
// session_milter.cpp).
//
//   RFC 5321 (SMTP), 1869 (EHLO), 1870 (SIZE), 2920 (PIPELINING: the complete lines in
//   the input are processed in order, the replies go out together, up to
//   kMaxOutputPerTurn per turn), 3207 (STARTTLS),
//   6152 (8BITMIME), 6531 (SMTPUTF8), 2034/3463 (enhanced status codes), 4954 (AUTH,
//   in session_auth.cpp with ETRN), 1985 (ETRN), 6409 (submission), 8314 (implicit TLS),
//   3030 (CHUNKING: BDAT, in session_bdat.cpp), 2645 (ODMR: ATRN on its own port, in
//   session_odmr.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/auth/outcome.hpp"
#include "common/checks/rules.hpp"
#include "common/io/unique_fd.hpp"
#include "common/ipc/messages.hpp"
#include "common/mail/address.hpp"
#include "common/mail/outcome.hpp"
#include "common/milter/codec.hpp"
#include "common/result.hpp"
#include "common/spool/queue_file.hpp"
#include "smtpd/check_policy.hpp"
#include "smtpd/commands.hpp"
#include "smtpd/data_reader.hpp"
#include "smtpd/lookups.hpp"
#include "smtpd/policy.hpp"

namespace smtpd {

// Replies one turn (feed, resume, an answer) may produce. Past it the session keeps the
// rest of the pipelined commands (has_pending_commands()) until the I/O layer, its
// output written, calls resume(): a client that pipelines without reading costs a
// bounded amount of memory, not one reply per command it sent.
constexpr std::size_t kMaxOutputPerTurn = 64 * 1024;

// Which kind of listener the client came in on.
enum class Port {
  kMx,           // smtp_listen (25): mail from other servers
  kSubmission,   // submission_listen (587, 5190, ...): RFC 6409, MAIL needs AUTH
  kSubmissions,  // submissions_listen (465): the same after an implicit TLS handshake
  kOdmr,         // odmr_listen (366): RFC 2645, EHLO, STARTTLS, AUTH and ATRN only
};
inline constexpr int kPorts = 4;

struct SessionConfig {
  std::string hostname;  // as configured; lower-cased where used as a domain
  std::uint64_t message_size_limit = 10 << 20;
  std::size_t max_recipients = 100;
  bool tls_available = false;  // a certificate and key are loaded
  Port port = Port::kMx;
  bool sender_login_check = true;
  bool pop_before_smtp = false;            // consult the relay database
  std::vector<std::string> relay_domains;  // lower-case
  std::vector<std::string> own_release;    // relay domains with release= networks
  std::string wakeup_address;              // relay_wakeup_address, lower-case ("": none)
  ChecksConfig checks;                     // the built-in checks (MX port only)
  bool milters = false;                    // mail filters are configured for this port
};

struct ClientInfo {
  std::string ip;                              // "192.0.2.1", "2001:db8::1"
  std::string literal;                         // "[192.0.2.1]", "[IPv6:2001:db8::1]" (RFC 5321 4.1.3)
  bool relay_network = false;                  // in relay_networks
  bool etrn_network = false;                   // in etrn_networks
  std::vector<std::string> etrn_granted = {};  // relay domains whose release= networks hold it
};

// What a session needs from the process around it.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual Directory& directory() = 0;
  // A new queue file in the drop directory (common::spool::QueueFileWriter::create).
  virtual common::Result<common::spool::QueueFileWriter> create_queue_file(
      const common::spool::Envelope& env) = 0;
  virtual std::int64_t now() = 0;  // UNIX time
  virtual std::string new_queue_id() = 0;
  // POP-before-SMTP: does the relay database let `ip` relay now? An error: it cannot
  // tell now.
  virtual common::Result<bool> relay_db_allows(const std::string& ip) = 0;
  // The answer to a session's lookups now, when the database answers without waiting
  // (LMDB, the tests' maps); nullopt: the session waits for it (Output::lookup).
  virtual std::optional<LookupAnswer> lookup_now(const LookupRequest& q) {
    return answer_lookup(q, directory(), [this](const std::string& ip) { return relay_db_allows(ip); });
  }
};

// A finished queue file for the queue manager (ipc::Submit with the fd).
struct Submission {
  common::io::UniqueFd fd;
  std::string queue_id;
};

// Credentials to check (AUTH); answer with auth_done(). The password is wiped by
// whoever holds it last.
struct AuthRequest {
  std::string login;  // the authentication identity as the client sent it
  std::string password;
  AuthRequest() = default;
  AuthRequest(std::string l, std::string p) : login(std::move(l)), password(std::move(p)) {}
  AuthRequest(AuthRequest&& o) noexcept = default;
  AuthRequest& operator=(AuthRequest&& o) noexcept = default;
  ~AuthRequest();
};

// A login's result (kFailed: 535 5.7.8; kBlocked: 421 4.7.0 and close; kTempFail:
// 454 4.7.0; RFC 4954 6).
using AuthOutcome = common::auth::Outcome;

// An allowed ETRN for the queue manager (ipc::Etrn); answer with etrn_done().
struct EtrnRequest {
  std::string domain;
  bool subdomains = false;
};

// An allowed ATRN (RFC 2645 5.2.1) for the queue manager (ipc::Atrn): the domains, each
// granted to `login`; answer with atrn_done().
struct AtrnRequest {
  std::vector<std::string> domains;
  std::string login;
};

// A stage for the mail filters (milters, smtpd/milters.hpp); answer with milter_done().
struct MilterRequest {
  enum class Stage { kConnect, kHelo, kMail, kRcpt, kMessage };
  Stage stage = Stage::kConnect;
  // kConnect: the client's name and address; kHelo: the name; kMail, kRcpt: "<address>"
  // then the ESMTP parameters.
  std::vector<std::string> args;
  common::milter::Macros macros;      // for the stage; kMessage: for DATA
  common::milter::Macros eom_macros;  // kMessage: for the end of the message
  int fd = -1;                        // kMessage: the finished queue file (borrowed)
  std::string log_id;                 // the queue id, or the client, for log lines
};

// The filters' verdict on a stage.
struct MilterVerdict {
  enum class Action { kContinue, kReject, kTempfail, kDiscard };
  Action action = Action::kContinue;
  Reply reply;  // kReject, kTempfail: the SMTP reply
  // kMessage: the filters changed the message. The queue file is written anew from
  // `envelope` (sender and recipients as changed) and `message`.
  bool edited = false;
  common::spool::Envelope envelope;
  std::string message;
};

struct Output {
  std::string bytes;                 // replies, in order; write them before acting on the flags
  bool start_tls = false;            // then begin the TLS handshake (input so far was discarded)
  bool close = false;                // then close the connection
  std::optional<Submission> submit;  // then submit; answer with submit_done()
  std::optional<AuthRequest> auth;   // then check credentials; answer with auth_done()
  std::optional<EtrnRequest> etrn;   // then ask the queue manager; answer with etrn_done()
  // then ask the checks process (at kData passing check_fd); answer with check_done()
  std::optional<common::ipc::Check> check;
  common::io::UniqueFd check_fd;
  std::optional<MilterRequest> milter;  // then run the filters; answer with milter_done()
  // then make these lookups (answer_lookup, off the event loop); answer with lookup_done()
  std::optional<LookupRequest> lookup;
  // then ask the queue manager to release these relay domains (no answer to the session)
  std::vector<std::string> release;
  std::optional<AtrnRequest> atrn;  // then ask the queue manager; answer with atrn_done()
  // The roles have turned (RFC 2645 5.3): once `bytes` are written, relay the connection
  // to the queue manager's side of the ATRN; the session is over (take_input() has the
  // client's bytes it read past the ATRN line).
  bool turned = false;
};

// One mail transaction (MAIL to the end of DATA), owned by the Session.
struct Transaction {
  MailArgs mail;
  std::vector<common::mail::Address> rcpts;
  std::vector<common::mail::DsnRcpt> dsn;  // RFC 3461: one per recipient
  // DATA or BDAT
  DataReader reader;
  bool bdat = false;  // the text comes in BDAT chunks (RFC 3030 2: no DATA then)
  std::optional<common::spool::QueueFileWriter> writer;
  std::string queue_id;
  std::string client;        // "helo [ip]" as in the envelope
  std::uint64_t stored = 0;  // message bytes in the queue file, Received included
  int write_error = 0;       // errno of the first failed write (-1: unknown), 0: none
  // The built-in checks: the envelope (for the rewritten queue file) and the verdicts
  // of MAIL, which the Authentication-Results header and DMARC need too.
  common::spool::Envelope env;
  common::ipc::CheckDone mail_checks;
};

class Session {
 public:
  Session(const SessionConfig& cfg, ClientInfo client, Backend& backend);

  // Before start() on an implicit-TLS port (RFC 8314 3.3): the handshake is done.
  void set_implicit_tls(std::string description);
  // The greeting (RFC 5321 4.2: "220 <domain> ..."; RFC 2034: no enhanced code).
  Output start();
  // UNTRUSTED: bytes read from the client, any split.
  Output feed(std::string_view bytes);
  // More of the commands held back at kMaxOutputPerTurn.
  Output resume();
  // The queue manager's answer to the last submit.
  Output submit_done(const common::mail::Verdict& verdict);
  // The TLS handshake after STARTTLS succeeded; `description` as tls::describe().
  Output tls_established(std::string description);
  // The verdict on the last AuthRequest.
  Output auth_done(const AuthOutcome& outcome);
  // The queue manager's answer to the last EtrnRequest: how many messages it started,
  // or nullopt when it could not be asked.
  Output etrn_done(std::optional<std::uint32_t> messages);
  // The queue manager's answer to the last AtrnRequest: how many messages go over the
  // connection, or nullopt when it could not be asked (session_odmr.cpp).
  Output atrn_done(std::optional<std::uint32_t> messages);
  // After Output::turned: the input read past the ATRN line, for the relay.
  std::string take_input();
  // The checks process's verdicts on the last Output::check (the Connection makes up
  // temperrors when it did not answer in time).
  Output check_done(const common::ipc::CheckDone& verdicts);
  // The answer to the last Output::lookup.
  Output lookup_done(LookupAnswer answer);
  // The filters' verdict on the last MilterRequest (session_milter.cpp).
  Output milter_done(MilterVerdict verdict);
  // No input within the time limit (RFC 5321 4.5.3.2.7).
  Output timeout();

  // Which time limit applies: smtpd_data_timeout inside DATA or a BDAT chunk (RFC
  // 5321 4.5.3.2.5).
  bool in_data() const { return phase_ == Phase::kData || phase_ == Phase::kBdat; }
  // False while waiting for the queue manager, the password check or the TLS
  // handshake, and once closed: the I/O layer stops reading then.
  bool wants_input() const {
    return phase_ == Phase::kCommand || phase_ == Phase::kData || phase_ == Phase::kBdat;
  }
  bool closed() const { return phase_ == Phase::kClosed; }
  // Commands wait in the input for resume() (the last turn reached kMaxOutputPerTurn).
  bool has_pending_commands() const { return held_back_ && wants_input(); }
  bool tls_active() const { return facts_.tls; }
  const SessionFacts& facts() const { return facts_; }

 private:
  enum class Phase {
    kCommand,
    kData,
    kBdat,  // reading the octets of a BDAT chunk
    kWaitLookup,
    kWaitSubmit,
    kWaitAuth,
    kWaitEtrn,
    kWaitCheck,
    kWaitMilter,
    kWaitAtrn,
    kTls,
    kTurned,  // ODMR: the connection is relayed (RFC 2645 5.3), no more commands
    kClosed
  };
  enum class Helo { kNone, kHelo, kEhlo };
  // Inside an AUTH exchange (RFC 4954 4): what the next client line answers.
  enum class AuthStep { kNone, kPlain, kLoginUser, kLoginPassword };

  Output take();
  void process();
  bool next_line(std::string_view* line, bool* too_long);
  void handle_line(std::string_view line);
  void handle_command(const Command& c);
  void send(const Reply& r);
  void send_raw(std::string text);
  void close_with(const Reply& r);
  void reset_transaction();

  void cmd_helo(const Command& c, bool ehlo);
  void cmd_mail(const Command& c);
  void cmd_rcpt(const Command& c);
  // The lookups of MAIL and RCPT: asked of the backend, answered now or at lookup_done().
  void ask(LookupRequest q);
  void looked_up(LookupAnswer a);
  void mail_looked_up(MailArgs mail, LookupAnswer a);
  void rcpt_looked_up(common::mail::Address rcpt, LookupAnswer a);
  void cmd_data(const Command& c);
  void cmd_starttls(const Command& c);
  void cmd_auth(const Command& c);
  void cmd_etrn(const Command& c);
  void wakeup_rcpt(common::mail::Address a);  // session_release.cpp
  // The ODMR port (session_odmr.cpp): true if the command was handled there.
  bool odmr_command(const Command& c);
  void odmr_ehlo(const Command& c);
  void cmd_atrn(const Command& c);
  void atrn_looked_up(std::vector<std::string> asked, LookupAnswer a);
  void atrn_refuse(const Reply& r, const std::string& why);
  // BDAT (session_bdat.cpp).
  void cmd_bdat(const Command& c);
  void feed_chunk();
  void chunk_read();
  void auth_response(std::string_view line);
  void auth_plain(std::string_view b64);
  void auth_login_user(std::string_view b64);
  void auth_login_password(std::string_view b64);
  void auth_abort(const Reply& r);
  bool waiting() const;
  std::optional<Reply> begin_message();
  void feed_data();
  void store_text();
  void finish_data();
  Reply data_verdict() const;
  std::string protocol_name() const;
  void mail_passed(MailArgs mail, const Reply& ok, common::ipc::CheckDone checks);
  void data_passed();
  void submit_file();
  // The built-in checks (session_checks.cpp).
  bool checks_apply() const;
  void begin_mail_check(MailArgs mail, const Reply& ok);
  void begin_data_check();
  void mail_checked(const common::ipc::CheckDone& v);
  void data_checked(const common::ipc::CheckDone& v);
  void log_verdicts(const common::ipc::CheckDone& v, const std::string& queue_id);
  bool add_authres(const common::ipc::CheckDone& data);
  void finish_helo(bool ehlo);
  // The administrator's filtering rules (session_rules.cpp): a refusal, or nothing.
  bool rules_apply() const;
  std::optional<Reply> mail_rules(
      const MailArgs& mail,
      const std::optional<common::Result<std::vector<common::accounts::FilterRule>>>& list);
  std::optional<Reply> rcpt_rules(const common::mail::Address& rcpt);
  bool content_rules_apply() const;
  void add_content_rules(common::ipc::Check& c) const;
  std::optional<Reply> content_reply(const common::ipc::CheckDone& v);
  void log_rule(const std::string& queue_id, std::string_view sender, const char* rule,
                const std::string& extra);
  // session_milter.cpp: a stage for the filters, and what follows their verdict.
  void milter_request(MilterRequest::Stage stage, std::vector<std::string> args, common::milter::Macros m);
  void milter_connect();
  void milter_message();
  void milter_message_done(MilterVerdict& v);
  common::Status rewrite_queue_file(MilterVerdict& v);

  SessionConfig cfg_;
  std::string host_lower_;
  ClientInfo client_;
  Backend& backend_;
  SessionFacts facts_;
  std::string tls_desc_;

  Phase phase_ = Phase::kCommand;
  Helo helo_ = Helo::kNone;
  std::optional<Transaction> tx_;
  std::string in_;  // unprocessed input
  std::size_t in_pos_ = 0;
  bool discarding_ = false;  // inside an over-long command line, dropping to its LF
  bool held_back_ = false;   // process() stopped at kMaxOutputPerTurn
  std::string chunk_;        // scratch for data output
  // The BDAT chunk being read: octets still to come, whether it is the LAST one, and
  // the reply to give once it is read when it is discarded (no transaction).
  std::uint64_t chunk_left_ = 0;
  std::uint64_t chunk_size_ = 0;
  bool chunk_last_ = false;
  std::optional<Reply> chunk_discard_;
  int errors_ = 0;
  AuthStep auth_step_ = AuthStep::kNone;
  std::string auth_login_;                      // AUTH LOGIN: the user name, until the password comes
  std::string pending_node_;                    // ETRN: the node the queue manager is asked about
  std::optional<LookupRequest> asked_;          // the lookups the session waits for
  common::mail::DsnRcpt asked_dsn_;             // RCPT: its DSN parameters meanwhile
  std::vector<std::string> pending_atrn_;       // ATRN: the domains the queue manager is asked about
  std::string atrn_arg_;                        // ATRN: the argument as sent, for the log
  std::optional<MailArgs> pending_mail_;        // MAIL waiting for the checks or the filters
  common::ipc::CheckDone pending_mail_checks_;  // its checks' verdicts, while the filters look
  Reply pending_mail_reply_;
  std::string auth_mech_;  // the AUTH mechanism, for the filters' {auth_type}
  // While the filters look at a command: what it does once they let it pass.
  MilterRequest::Stage milter_stage_ = MilterRequest::Stage::kConnect;
  Reply milter_ok_;  // the reply to send then
  std::string pending_helo_;
  bool pending_ehlo_ = false;
  std::optional<common::mail::Address> pending_rcpt_;
  common::mail::DsnRcpt pending_rcpt_dsn_;
  std::optional<Reply> connect_refusal_;  // the filters refused the client at connect
  // The filtering rules read at the last MAIL (none: no rules, or they do not apply).
  std::optional<common::checks::RuleSet> rules_;
  bool rules_unreadable_ = false;  // the last MAIL could not read them: RCPT says 451
  Output out_;
};

}  // namespace smtpd
