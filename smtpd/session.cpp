// The SMTP state machine (see session.hpp). UNTRUSTED: everything in feed() comes from
// the network. Replies follow RFC 5321 4.2/4.3.2 with RFC 3463 enhanced codes.
#include "smtpd/session.hpp"

#include <algorithm>
#include <cerrno>

#include "common/log/log.hpp"
#include "common/log/maillog.hpp"
#include "common/mail/ascii.hpp"
#include "smtpd/received.hpp"

namespace smtpd {

using common::mail::lower;

namespace {

namespace log = common::log;
using common::mail::Outcome;

// Like Postfix's smtpd_hard_error_limit: a client that gets this many 5xx replies is
// disconnected (dictionary attacks, confused or hostile peers).
constexpr int kMaxErrors = 20;

// Text from the queue manager, made safe for one reply line.
std::string reply_text(const std::string& text, const char* fallback) {
  std::string out;
  for (char c : text) {
    if (out.size() >= 200) break;
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  return out.empty() ? fallback : out;
}

// An enhanced status code "c.x.y" of the given class (RFC 3463 2), e.g. from a Verdict.
bool valid_status(const std::string& s, char cls) {
  if (s.size() < 5 || s.size() > 9 || s[0] != cls || s[1] != '.') return false;
  int dots = 0;
  for (std::size_t i = 2; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (s[i - 1] == '.' || ++dots > 1) return false;
    } else if (s[i] < '0' || s[i] > '9') {
      return false;
    }
  }
  return dots == 1 && s.back() != '.';
}

// The spool is full (or over quota): RFC 5321 4.2.5 "452 insufficient system storage",
// RFC 3463 3.4 X.3.1 "mail system full". Transient: the client tries again later.
bool storage_full(int err) { return err == ENOSPC || err == EDQUOT; }
Reply storage_full_reply() { return make_reply(452, "4.3.1", "Error: insufficient system storage"); }

}  // namespace

Session::Session(const SessionConfig& cfg, ClientInfo client, Backend& backend)
    : cfg_(cfg), host_lower_(lower(cfg.hostname)), client_(std::move(client)), backend_(backend) {
  facts_.client_ip = client_.ip;
  facts_.relay_network = client_.relay_network;
  facts_.etrn_network = client_.etrn_network;
  facts_.etrn_granted = client_.etrn_granted;
}

bool Session::waiting() const {
  return phase_ == Phase::kWaitLookup || phase_ == Phase::kWaitSubmit || phase_ == Phase::kWaitAuth ||
         phase_ == Phase::kWaitEtrn || phase_ == Phase::kWaitCheck || phase_ == Phase::kWaitMilter ||
         phase_ == Phase::kWaitAtrn;
}

void Session::set_implicit_tls(std::string description) {
  facts_.tls = true;
  tls_desc_ = std::move(description);
}

Output Session::take() {
  Output o = std::move(out_);
  out_ = Output();
  return o;
}

Output Session::start() {
  if (cfg_.milters) {
    milter_connect();  // the greeting once the filters let the client in
    return take();
  }
  // RFC 2645 4: the ODMR port says what it is.
  send_raw(
      "220 " + cfg_.hostname +
      (cfg_.port == Port::kOdmr ? " ESMTP Mailbag on-demand mail relay ready\r\n" : " ESMTP Mailbag\r\n"));
  return take();
}

Output Session::feed(std::string_view bytes) {
  if (waiting()) {
    in_.append(bytes);  // pipelined commands; processed after the answer
    return take();
  }
  if (!wants_input()) return take();  // TLS starting (RFC 3207 4.2) or closed: dropped
  in_.append(bytes);
  if (!held_back_) process();  // else the held commands come first, at resume()
  return take();
}

Output Session::resume() {
  if (held_back_ && wants_input()) process();
  return take();
}

void Session::process() {
  held_back_ = false;
  while (!closed()) {
    if (phase_ == Phase::kData) {
      feed_data();
      if (phase_ == Phase::kData) break;  // needs more input
      continue;
    }
    if (phase_ == Phase::kBdat) {
      feed_chunk();
      if (phase_ == Phase::kBdat) break;  // needs more input
      continue;
    }
    if (phase_ != Phase::kCommand) break;
    if (out_.bytes.size() >= kMaxOutputPerTurn) {
      held_back_ = true;
      break;
    }
    std::string_view line;
    bool too_long = false;
    if (!next_line(&line, &too_long)) break;
    if (too_long) {
      auth_abort(make_reply(500, "5.5.2", "Error: line too long"));  // RFC 5321 4.5.3.1.4
      continue;
    }
    handle_line(line);
  }
  if (in_pos_ > 0) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
}

// Finds the next LF-terminated line. An over-long line is dropped up to its LF (so the
// tail is never taken for a command) and reported once, as one line.
bool Session::next_line(std::string_view* line, bool* too_long) {
  std::string_view rest(in_.data() + in_pos_, in_.size() - in_pos_);
  std::size_t nl = rest.find('\n');
  if (discarding_) {
    if (nl == std::string_view::npos) {
      in_pos_ = in_.size();
      return false;
    }
    in_pos_ += nl + 1;
    discarding_ = false;
    *too_long = true;
    return true;
  }
  if (nl == std::string_view::npos) {
    if (rest.size() >= kMaxCommandLine) {  // the line will not fit whatever follows
      discarding_ = true;
      in_pos_ = in_.size();
    }
    return false;
  }
  in_pos_ += nl + 1;
  if (nl + 1 > kMaxCommandLine) {
    *too_long = true;
    return true;
  }
  *line = rest.substr(0, nl + 1);
  return true;
}

void Session::handle_line(std::string_view line) {
  // RFC 5321 2.3.8: lines end with CRLF only; a bare LF or CR is refused, never guessed.
  if (line.size() < 2 || line[line.size() - 2] != '\r')
    return auth_abort(make_reply(500, "5.5.2", "Error: bare LF not allowed (RFC 5321 2.3.8)"));
  std::string_view text = line.substr(0, line.size() - 2);
  if (text.find('\r') != std::string_view::npos)
    return auth_abort(make_reply(500, "5.5.2", "Error: bare CR not allowed (RFC 5321 2.3.8)"));
  if (text.find('\0') != std::string_view::npos)
    return auth_abort(make_reply(500, "5.5.2", "Error: NUL character in command"));
  if (auth_step_ != AuthStep::kNone) return auth_response(text);
  handle_command(split_command(text));
}

void Session::handle_command(const Command& c) {
  if (cfg_.port == Port::kOdmr && odmr_command(c)) return;
  switch (c.verb) {
    case Verb::kHelo: return cmd_helo(c, false);
    case Verb::kEhlo: return cmd_helo(c, true);
    case Verb::kMail: return cmd_mail(c);
    case Verb::kRcpt: return cmd_rcpt(c);
    case Verb::kData: return cmd_data(c);
    case Verb::kStartTls: return cmd_starttls(c);
    case Verb::kAuth: return cmd_auth(c);
    case Verb::kEtrn: return cmd_etrn(c);
    case Verb::kBdat: return cmd_bdat(c);
    case Verb::kRset:
      if (!c.arg.empty()) return send(make_reply(501, "5.5.4", "Syntax: RSET"));
      reset_transaction();
      return send(make_reply(250, "2.0.0", "Ok"));
    case Verb::kNoop:  // RFC 5321 4.1.1.9: an argument is allowed and ignored
      return send(make_reply(250, "2.0.0", "Ok"));
    case Verb::kQuit: return close_with(make_reply(221, "2.0.0", "Bye"));
    case Verb::kHelp:
      return send(
          make_reply(214, "2.0.0",
                     "Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT HELP VRFY STARTTLS AUTH ETRN BDAT"));
    case Verb::kVrfy:  // RFC 5321 3.5.3: 252 when we will not verify; discloses nothing
      if (c.arg.empty()) return send(make_reply(501, "5.5.4", "Syntax: VRFY address"));
      return send(make_reply(252, "2.1.5", "Cannot VRFY user, but will accept message and attempt delivery"));
    case Verb::kExpn:  // RFC 5321 3.5.2: lists are not disclosed
      return send(make_reply(502, "5.5.1", "Error: EXPN not supported"));
    case Verb::kAtrn:  // RFC 2645 4: only on the ODMR port
      return send(make_reply(502, "5.5.1", "Error: ATRN is served on the ODMR port only"));
    case Verb::kUnknown:
      if (c.name.empty()) return send(make_reply(500, "5.5.2", "Error: bad syntax"));
      return send(make_reply(500, "5.5.2", "Error: command not recognized"));
  }
}

void Session::send_raw(std::string text) { out_.bytes += text; }

void Session::send(const Reply& r) {
  out_.bytes += r.render();
  if (r.code >= 500 && ++errors_ >= kMaxErrors)
    close_with(make_reply(421, "4.7.0", cfg_.hostname + " Error: too many errors"));
}

void Session::close_with(const Reply& r) {
  out_.bytes += r.render();
  reset_transaction();
  phase_ = Phase::kClosed;
  out_.close = true;
}

void Session::reset_transaction() { tx_.reset(); }

void Session::cmd_helo(const Command& c, bool ehlo) {
  auto p = parse_helo(c.arg);
  if (!p.ok()) return send(p.error);
  if (cfg_.milters) {
    pending_helo_ = *p.value;
    pending_ehlo_ = ehlo;
    return milter_request(MilterRequest::Stage::kHelo, {std::move(*p.value)}, {});
  }
  facts_.helo = std::move(*p.value);
  finish_helo(ehlo);
}

void Session::finish_helo(bool ehlo) {
  // RFC 5321 4.1.4: a later EHLO resets the state as RSET does.
  reset_transaction();
  helo_ = ehlo ? Helo::kEhlo : Helo::kHelo;
  // RFC 2034 3: no enhanced code in the replies to HELO/EHLO (4.1.1.1 grammar).
  if (!ehlo) return send_raw("250 " + cfg_.hostname + "\r\n");
  std::vector<std::string> lines = {
      cfg_.hostname,
      "PIPELINING",                                       // RFC 2920
      "SIZE " + std::to_string(cfg_.message_size_limit),  // RFC 1870
      "8BITMIME",                                         // RFC 6152
      "ENHANCEDSTATUSCODES",                              // RFC 2034
      "ETRN",                                             // RFC 1985
      "SMTPUTF8",                                         // RFC 6531
      "CHUNKING",                                         // RFC 3030
      "DSN",                                              // RFC 3461
  };
  if (cfg_.tls_available && !facts_.tls) lines.push_back("STARTTLS");  // RFC 3207
  // RFC 4954 4: mechanisms that send the password in clear only under TLS (RFC 4954 14).
  if (facts_.tls) lines.push_back("REQUIRETLS");  // RFC 8689 4.1: only on a TLS session
  if (facts_.tls) lines.push_back("AUTH PLAIN LOGIN");
  send_raw(render_lines(250, lines));
}

void Session::cmd_mail(const Command& c) {
  if (helo_ == Helo::kNone) return send(make_reply(503, "5.5.1", "Error: send HELO/EHLO first"));
  if (tx_) return send(make_reply(503, "5.5.1", "Error: nested MAIL command"));
  auto p = parse_mail(c.arg, helo_ == Helo::kEhlo);
  if (!p.ok()) return send(p.error);
  // RFC 8689 4.1: REQUIRETLS is not offered without TLS, so not accepted either.
  if (p.value->requiretls && !facts_.tls)
    return send(make_reply(530, "5.7.10", "REQUIRETLS needs a TLS session (STARTTLS first)"));
  LookupRequest q;
  q.kind = LookupRequest::Kind::kMail;
  // POP-before-SMTP: one lookup per session, when it can matter.
  q.ask_relay_db =
      cfg_.pop_before_smtp && !facts_.relay_db && facts_.auth_user.empty() && !facts_.relay_network;
  q.rules.size_limit = cfg_.message_size_limit;
  q.rules.submission = cfg_.port != Port::kMx;
  q.rules.sender_login_check = cfg_.sender_login_check;
  q.read_filter_rules = rules_apply();
  q.mail = std::move(*p.value);
  ask(std::move(q));
}

// MAIL passed smtpd's rules and the built-in checks: the filters have their say (after
// the checks, as Postfix asks its milters after its own restrictions), then the
// transaction begins.
void Session::mail_passed(MailArgs mail, const Reply& ok, common::ipc::CheckDone checks) {
  if (cfg_.milters) {
    milter_ok_ = ok;
    pending_mail_ = std::move(mail);
    pending_mail_checks_ = std::move(checks);
    std::vector<std::string> args = {"<" + pending_mail_->envelope_sender() + ">"};
    if (pending_mail_->size) args.push_back("SIZE=" + std::to_string(*pending_mail_->size));
    if (pending_mail_->body == Body::k8BitMime) args.push_back("BODY=8BITMIME");
    if (pending_mail_->smtputf8) args.push_back("SMTPUTF8");
    return milter_request(MilterRequest::Stage::kMail, std::move(args),
                          {{"{mail_addr}", pending_mail_->envelope_sender()}});
  }
  tx_.emplace();
  tx_->mail = std::move(mail);
  tx_->mail_checks = std::move(checks);
  send(ok);
}

void Session::cmd_rcpt(const Command& c) {
  if (!tx_) return send(make_reply(503, "5.5.1", "Error: need MAIL command"));
  auto p = parse_rcpt(c.arg, tx_->mail.smtputf8);
  if (!p.ok()) return send(p.error);
  common::mail::Address a = std::move(p.value->rcpt);
  // RFC 5321 4.5.1: a bare <Postmaster> is the postmaster of this host.
  if (a.domain.empty()) a.domain = host_lower_;
  for (const auto& r : tx_->rcpts)
    if (r.key() == a.key()) return send(make_reply(250, "2.1.5", "Ok"));  // duplicate
  if (!cfg_.wakeup_address.empty() && a.key() == cfg_.wakeup_address) return wakeup_rcpt(std::move(a));
  // RFC 5321 4.5.3.1.10: 452 for recipients past the limit; the client sends the rest
  // in another transaction.
  if (tx_->rcpts.size() >= cfg_.max_recipients)
    return send(make_reply(452, "4.5.3", "Error: too many recipients"));
  LookupRequest q;
  q.kind = LookupRequest::Kind::kRcpt;
  q.rcpt = std::move(a);
  q.earlier = tx_->rcpts;
  q.declared_size = tx_->mail.size;
  q.relay_domains = cfg_.relay_domains;
  asked_dsn_ = std::move(p.value->dsn);
  ask(std::move(q));
}

// RFC 3848 WITH values: ESMTP, ESMTPS (TLS), ESMTPA (AUTH), ESMTPSA (both); AUTH needs
// EHLO, so plain SMTP never has the A.
std::string Session::protocol_name() const {
  if (helo_ != Helo::kEhlo && !facts_.tls) return "SMTP";
  std::string p = "ESMTP";
  if (facts_.tls) p += "S";
  if (!facts_.auth_user.empty()) p += "A";
  return p;
}

void Session::cmd_data(const Command& c) {
  if (!c.arg.empty()) return send(make_reply(501, "5.5.4", "Syntax: DATA"));
  if (!tx_) return send(make_reply(503, "5.5.1", "Error: need MAIL command"));
  // RFC 3030 2: "If a DATA statement is issued after a BDAT for the current
  // transaction, a 503 "Bad sequence of commands" MUST be issued."
  if (tx_->bdat) return send(make_reply(503, "5.5.1", "Error: DATA after BDAT"));
  if (tx_->rcpts.empty()) return send(make_reply(503, "5.5.1", "Error: need RCPT command"));
  if (auto refused = begin_message()) return send(*refused);
  send_raw("354 End data with <CR><LF>.<CR><LF>\r\n");  // RFC 2034: no code on 3xx
  phase_ = Phase::kData;
}

// The queue file and its Received header, at DATA or the first BDAT; the reply to give
// when the file could not be made.
std::optional<Reply> Session::begin_message() {
  common::spool::Envelope env;
  env.queue_id = backend_.new_queue_id();
  env.arrival = backend_.now();
  env.protocol = protocol_name();
  env.client = facts_.helo + " " + client_.literal;
  env.auth_user = facts_.auth_user;
  env.body_8bit = tx_->mail.body == Body::k8BitMime;
  env.smtputf8 = tx_->mail.smtputf8;
  env.requiretls = tx_->mail.requiretls;
  env.sender = tx_->mail.envelope_sender();
  for (const auto& r : tx_->rcpts) env.recipients.push_back(r.str());
  env.dsn_ret = tx_->mail.ret;
  env.dsn_envid = tx_->mail.envid;
  if (std::any_of(tx_->dsn.begin(), tx_->dsn.end(), [](const auto& d) { return d.given(); }))
    env.dsn = tx_->dsn;

  auto w = backend_.create_queue_file(env);
  if (!w) {
    log::error("cannot create queue file: %s", w.message().c_str());
    if (storage_full(w.status().err())) return storage_full_reply();
    return make_reply(451, "4.3.0", "Error: cannot create queue file, try again later");
  }
  tx_->writer.emplace(std::move(*w));
  tx_->queue_id = env.queue_id;
  tx_->client = env.client;
  if (checks_apply()) tx_->env = env;

  ReceivedInfo ri;
  ri.helo = header_safe_name(facts_.helo, env.smtputf8);
  ri.client_literal = client_.literal;
  ri.hostname = cfg_.hostname;
  // RFC 6531 3.7.3: UTF8SMTP, UTF8SMTPS, UTF8SMTPA, UTF8SMTPSA.
  ri.protocol = env.smtputf8 ? "UTF8SMTP" + std::string(facts_.tls ? "S" : "") +
                                   std::string(facts_.auth_user.empty() ? "" : "A")
                             : env.protocol;
  ri.queue_id = env.queue_id;
  ri.tls = facts_.tls ? tls_desc_ : "";
  if (env.recipients.size() == 1) ri.for_rcpt = env.recipients.front();
  ri.time = env.arrival;
  common::Status st = tx_->writer->append(received_header(ri));
  if (!st) tx_->write_error = st.err() ? st.err() : -1;
  return std::nullopt;
}

void Session::feed_data() {
  Transaction& t = *tx_;
  std::string_view rest(in_.data() + in_pos_, in_.size() - in_pos_);
  if (rest.empty()) return;
  chunk_.clear();
  in_pos_ += t.reader.feed(rest, &chunk_);
  store_text();
  if (t.reader.done()) finish_data();
}

// Appends the text the reader produced (chunk_) to the queue file. Once the message is
// certain to be refused nothing more is written, but the data is still read to its real
// end (see data_reader.hpp).
void Session::store_text() {
  Transaction& t = *tx_;
  bool refused = t.reader.bare_lf() || t.reader.bare_cr() || t.reader.nul() || t.reader.long_line() ||
                 t.reader.size() > cfg_.message_size_limit || t.write_error != 0;
  if (refused || chunk_.empty()) return;
  common::Status st = t.writer->append(chunk_);
  if (!st) {
    t.write_error = st.err() ? st.err() : -1;
    log::error("%s: writing queue file: %s", t.queue_id.c_str(), st.message().c_str());
  }
}

Reply Session::data_verdict() const {
  const Transaction& t = *tx_;
  // RFC 5321 4.3.2: after the data only 250, 552, 554, 451, 452, 450 and 550 are valid.
  if (t.reader.bare_lf() || t.reader.bare_cr())
    return make_reply(554, "5.6.0", "Error: bare LF/CR not allowed, RFC 5321 2.3.8");
  if (t.reader.nul()) return make_reply(554, "5.6.0", "Error: NUL characters not allowed (RFC 2045 2.8)");
  // RFC 5321 4.5.3.1.6 sets the limit; 4.5.3.1.10 uses 552 for data over a limit.
  if (t.reader.long_line())
    return make_reply(552, "5.6.0", "Error: line longer than 1000 octets (RFC 5321 4.5.3.1.6)");
  if (t.reader.size() > cfg_.message_size_limit)
    return make_reply(
        552, "5.3.4",
        "Error: message size exceeds fixed limit of " + std::to_string(cfg_.message_size_limit) + " bytes");
  if (storage_full(t.write_error)) return storage_full_reply();
  if (t.write_error != 0) return make_reply(451, "4.3.0", "Error: queue file write error");
  return make_reply(250, "2.0.0", "Ok");
}

void Session::finish_data() {
  Transaction& t = *tx_;
  phase_ = Phase::kCommand;
  Reply v = data_verdict();
  if (!v.is_error()) {
    common::Status st = t.writer->finish();
    if (!st) {
      log::error("%s: finishing queue file: %s", t.queue_id.c_str(), st.message().c_str());
      // A small message is written only here: a full disk must still say 452 4.3.1.
      v = storage_full(st.err()) ? storage_full_reply()
                                 : make_reply(451, "4.3.0", "Error: queue file write error");
    }
  }
  if (v.is_error()) {
    log::info("%s: reject: %s from %s: %d %s %s", t.queue_id.c_str(), t.bdat ? "BDAT" : "DATA",
              log::printable(t.client).c_str(), v.code, v.status.c_str(), v.text.c_str());
    reset_transaction();  // drops the unlinked file
    return send(v);
  }
  if (checks_apply() || content_rules_apply()) return begin_data_check();
  data_passed();
}

// The message passed the built-in checks (their Authentication-Results header is in the
// queue file, so the filters see it): the filters, then the queue manager.
void Session::data_passed() {
  if (cfg_.milters) return milter_message();  // submit_file() once the filters agree
  submit_file();
}

void Session::submit_file() {
  Transaction& t = *tx_;
  t.stored = t.writer->size();
  out_.submit = Submission{t.writer->release_fd(), t.queue_id};
  t.writer.reset();
  phase_ = Phase::kWaitSubmit;
}

Output Session::submit_done(const common::mail::Verdict& v) {
  if (phase_ != Phase::kWaitSubmit || !tx_) return take();
  Transaction& t = *tx_;
  Reply r;
  switch (v.outcome) {
    case Outcome::kOk:
      r = make_reply(250, "2.0.0", "Ok: queued as " + t.queue_id);
      common::maillog::received(t.queue_id, t.mail.envelope_sender(), t.stored, t.rcpts.size(), t.client);
      break;
    case Outcome::kTemporary:
      r = make_reply(451, valid_status(v.status, '4') ? v.status : "4.3.0",
                     reply_text(v.text, "Error: queue manager failure, try again later"));
      break;
    case Outcome::kPermanent:
    default:
      r = make_reply(554, valid_status(v.status, '5') ? v.status : "5.3.0",
                     reply_text(v.text, "Error: message refused by the queue manager"));
      break;
  }
  if (r.is_error())
    log::info("%s: not queued: %d %s %s", t.queue_id.c_str(), r.code, r.status.c_str(), r.text.c_str());
  out_.bytes += r.render();  // not counted as a client error
  reset_transaction();
  phase_ = Phase::kCommand;
  process();  // commands the client pipelined after the data
  return take();
}

void Session::cmd_starttls(const Command& c) {
  // Not advertised without a certificate: "not implemented" (RFC 5321 4.2.4).
  if (!cfg_.tls_available) return send(make_reply(502, "5.5.1", "Error: command not implemented"));
  if (facts_.tls) return send(make_reply(503, "5.5.1", "Error: TLS already active"));
  if (!c.arg.empty()) return send(make_reply(501, "5.5.4", "Syntax: STARTTLS"));  // RFC 3207 4
  if (tx_) return send(make_reply(503, "5.5.1", "Error: MAIL transaction in progress"));
  send(make_reply(220, "2.0.0", "Ready to start TLS"));
  // RFC 3207 4.2, CVE-2011-0411: whatever the client sent after STARTTLS was sent in
  // clear and must not be taken as a command inside TLS. Drop it all.
  in_pos_ = in_.size();
  discarding_ = false;
  phase_ = Phase::kTls;
  out_.start_tls = true;
}

Output Session::tls_established(std::string description) {
  if (phase_ != Phase::kTls) return take();
  // RFC 3207 4.2: the client knows nothing from before; it must EHLO again.
  facts_.tls = true;
  tls_desc_ = std::move(description);
  facts_.helo.clear();
  facts_.auth_user.clear();
  auth_step_ = AuthStep::kNone;
  helo_ = Helo::kNone;
  reset_transaction();
  in_.clear();
  in_pos_ = 0;
  phase_ = Phase::kCommand;
  return take();
}

Output Session::timeout() {
  if (!closed()) close_with(make_reply(421, "4.4.2", cfg_.hostname + " Error: timeout exceeded"));
  return take();
}

}  // namespace smtpd
