// Implementation of the pure SMTP client session (see client.hpp). UNTRUSTED: replies
// come from the remote server; the session acts only on their codes and keeps their
// text for reports.
#include "common/smtp/client.hpp"

#include <algorithm>

#include "common/check.hpp"
#include "common/mail/base64.hpp"
#include "common/mail/idna.hpp"

namespace common::smtp {
namespace {

// A queued address must never carry a line end into a command (command injection).
bool safe_in_command(std::string_view s) {
  for (unsigned char c : s)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

}  // namespace

const char* stage_name(Stage s) {
  switch (s) {
    case Stage::kConnect: return "connect";
    case Stage::kGreeting: return "initial greeting";
    case Stage::kEhlo: return "EHLO";
    case Stage::kHelo: return "HELO";
    case Stage::kStartTls: return "STARTTLS";
    case Stage::kTlsHandshake: return "TLS handshake";
    case Stage::kAuth: return "AUTH";
    case Stage::kMail: return "MAIL FROM";
    case Stage::kRcpt: return "RCPT TO";
    case Stage::kData: return "DATA";
    case Stage::kDot: return "end of DATA";
    case Stage::kBdat: return "BDAT";
    case Stage::kRset: return "RSET";
    case Stage::kEtrn: return "ETRN";
    case Stage::kQuit: return "QUIT";
    case Stage::kIdle: return "idle";
  }
  return "?";
}

int reply_timeout(Stage s, int base) {
  switch (s) {
    case Stage::kData: return std::max(1, base * 2 / 5);  // RFC 5321 4.5.3.2.3: 2 minutes
    case Stage::kDot:                                     // RFC 5321 4.5.3.2.6: 10 minutes
    case Stage::kBdat: return std::max(1, base * 2);      // a chunk may be the last: as the dot
    default: return std::max(1, base);                    // 4.5.3.2.1, .2, .4: 5 minutes
  }
}

// RFC 5321 4.5.3.2.5: 3 minutes.
int data_block_timeout(int base) { return std::max(1, base * 3 / 5); }

Outcome outcome_of(const Reply& r) {
  if (r.klass() == 5) return Outcome::kPermanent;
  if (r.klass() == 4) return Outcome::kTemporary;
  return Outcome::kOk;
}

std::string status_of(const Reply& r) {
  if (!r.enhanced.empty()) return r.enhanced;
  return std::to_string(r.klass() == 3 ? 2 : r.klass()) + ".0.0";
}

Stage ClientSession::waiting() const {
  switch (state_) {
    case State::kGreeting: return Stage::kGreeting;
    case State::kEhlo: return Stage::kEhlo;
    case State::kHelo: return Stage::kHelo;
    case State::kStartTls: return Stage::kStartTls;
    case State::kHandshake: return Stage::kTlsHandshake;
    case State::kAuthPlain:
    case State::kAuthLogin:
    case State::kAuthUser:
    case State::kAuthPass: return Stage::kAuth;
    case State::kTransaction: return awaited_.empty() ? Stage::kIdle : awaited_.front();
    case State::kDot:
    case State::kDotDiscard: return Stage::kDot;
    case State::kBdat: return bdat_pending_ > 0 ? Stage::kBdat : Stage::kIdle;
    case State::kRset: return Stage::kRset;
    case State::kEtrn: return Stage::kEtrn;
    case State::kQuit: return Stage::kQuit;
    case State::kReady:
    case State::kClosed: return Stage::kIdle;
  }
  return Stage::kIdle;
}

Output ClientSession::fail(Output out, Stage stage, const Reply* r, std::string status, std::string detail,
                           bool quit) {
  Report rep;
  rep.outcome = Outcome::kTemporary;
  rep.stage = stage;
  if (r) rep.reply = *r;
  rep.status = std::move(status);
  rep.detail = std::move(detail);
  out.error = std::move(rep);
  // RFC 5321 3.1/4.1.1.10: say QUIT before going, unless the server already closed.
  if (quit && !(r && r->code == 421)) out.write += "QUIT\r\n";
  out.close = true;
  state_ = State::kClosed;
  return out;
}

Output ClientSession::on_reply(const Reply& r) {
  Output out;
  switch (state_) {
    case State::kGreeting:
      // RFC 5321 3.1: 220 is service ready; 554 (or anything else) means no service.
      if (r.code != 220)
        return fail(std::move(out), Stage::kGreeting, &r, status_of(r).replace(0, 1, "4"), "", true);
      state_ = State::kEhlo;
      out.write = "EHLO " + opt_.helo_name + "\r\n";
      return out;
    case State::kEhlo:
      if (r.code == 250) {
        caps_ = parse_ehlo(r);
        return after_hello(std::move(out));
      }
      // RFC 5321 4.1.4 / 3.2: a server that does not know EHLO answers 5xx: try HELO.
      // HELO is not possible after STARTTLS: the extensions would be lost.
      if (r.klass() == 5 && !tls_active_) {
        state_ = State::kHelo;
        out.write = "HELO " + opt_.helo_name + "\r\n";
        return out;
      }
      return fail(std::move(out), Stage::kEhlo, &r, "4.0.0", "", true);
    case State::kHelo:
      if (r.code != 250) return fail(std::move(out), Stage::kHelo, &r, "4.0.0", "", true);
      caps_ = Capabilities();
      return after_hello(std::move(out));
    case State::kStartTls:
      if (r.code == 220) {
        state_ = State::kHandshake;
        out.start_tls = true;
        return out;
      }
      if (opt_.tls == TlsPolicy::kEncrypt || opt_.tls == TlsPolicy::kVerify)
        return fail(std::move(out), Stage::kStartTls, &r, "4.7.4",
                    "TLS is required, but STARTTLS was refused", true);
      return after_tls_decision(std::move(out));  // opportunistic: go on in clear
    case State::kAuthPlain:
    case State::kAuthPass:
      if (r.code == 235) {
        state_ = State::kReady;
        out.ready = true;
        return out;
      }
      return fail(std::move(out), Stage::kAuth, &r, "4.7.0", "authentication failed", true);
    case State::kAuthLogin:
      if (r.code != 334)
        return fail(std::move(out), Stage::kAuth, &r, "4.7.0", "authentication failed", true);
      state_ = State::kAuthUser;
      out.write = common::mail::encode_base64(opt_.auth_user) + "\r\n";
      return out;
    case State::kAuthUser:
      if (r.code != 334)
        return fail(std::move(out), Stage::kAuth, &r, "4.7.0", "authentication failed", true);
      state_ = State::kAuthPass;
      out.write = common::mail::encode_base64(opt_.auth_password) + "\r\n";
      return out;
    case State::kTransaction:
    case State::kDot:
    case State::kDotDiscard: return transaction_reply(r);
    case State::kBdat: return bdat_reply(r);
    case State::kRset:
      if (r.code != 250) return fail(std::move(out), Stage::kRset, &r, "4.0.0", "", true);
      state_ = State::kReady;
      out.ready = true;
      return out;
    case State::kEtrn:
      out.etrn = r;
      if (r.code == 421) {
        out.close = true;
        state_ = State::kClosed;
        return out;
      }
      state_ = State::kReady;
      out.ready = true;
      return out;
    case State::kQuit:
      out.close = true;
      state_ = State::kClosed;
      return out;
    case State::kHandshake:
    case State::kReady:
    case State::kClosed: break;
  }
  // A reply nobody asked for: an idle server saying 421, or a confused one.
  if (state_ == State::kClosed) {
    out.close = true;
    return out;
  }
  return fail(std::move(out), Stage::kIdle, &r, "4.5.0", "unexpected reply", r.code != 421);
}

Output ClientSession::after_hello(Output out) {
  bool must = opt_.tls == TlsPolicy::kEncrypt || opt_.tls == TlsPolicy::kVerify;
  if (!tls_active_ && opt_.tls != TlsPolicy::kNone && !tls_tried_ && caps_.starttls) {
    tls_tried_ = true;
    state_ = State::kStartTls;
    out.write = "STARTTLS\r\n";
    return out;
  }
  if (must && !tls_active_)
    return fail(std::move(out), state_ == State::kHelo ? Stage::kHelo : Stage::kEhlo, nullptr, "4.7.4",
                "TLS is required, but was not offered by the server", true);
  return after_tls_decision(std::move(out));
}

Output ClientSession::after_tls_decision(Output out) {
  if (!opt_.auth_user.empty()) return auth(std::move(out));
  state_ = State::kReady;
  out.ready = true;
  return out;
}

Output ClientSession::auth(Output out) {
  // Credentials never travel in clear, whatever the policy says.
  if (!tls_active_)
    return fail(std::move(out), Stage::kAuth, nullptr, "4.7.4", "AUTH needs TLS, which is not active", true);
  if (caps_.has_auth("PLAIN")) {
    // RFC 4616 2: message = [authzid] NUL authcid NUL passwd; RFC 4954 4 initial response.
    std::string msg;
    msg.push_back('\0');
    msg += opt_.auth_user;
    msg.push_back('\0');
    msg += opt_.auth_password;
    state_ = State::kAuthPlain;
    out.write = "AUTH PLAIN " + common::mail::encode_base64(msg) + "\r\n";
    return out;
  }
  if (caps_.has_auth("LOGIN")) {
    state_ = State::kAuthLogin;
    out.write = "AUTH LOGIN\r\n";
    return out;
  }
  return fail(std::move(out), Stage::kAuth, nullptr, "4.7.0",
              caps_.auth.empty() ? "authentication is configured, but the server offers no AUTH"
                                 : "the server offers no AUTH mechanism we support (PLAIN, LOGIN)",
              true);
}

Output ClientSession::on_tls_established() {
  MB_CHECK(state_ == State::kHandshake, "TLS established outside the handshake");
  tls_active_ = true;
  // RFC 3207 4.2: forget what we knew and ask again.
  caps_ = Capabilities();
  state_ = State::kEhlo;
  Output out;
  out.write = "EHLO " + opt_.helo_name + "\r\n";
  return out;
}

Output ClientSession::on_tls_failed(const std::string& why) {
  return fail(Output(), Stage::kTlsHandshake, nullptr, "4.7.5", "TLS handshake failed: " + why, false);
}

std::string ClientSession::mail_command() const {
  const Transaction& tx = *tx_;
  std::string cmd = "MAIL FROM:<" + tx.sender + ">";
  if (caps_.size && tx.size > 0) cmd += " SIZE=" + std::to_string(tx.size);
  if (tx.body_8bit && caps_.eightbitmime) cmd += " BODY=8BITMIME";
  if (tx.smtputf8 && caps_.smtputf8) cmd += " SMTPUTF8";
  // RFC 8689 4.2.2: sent on; a bounce (null sender) also goes where it is not offered
  // (RFC 8689 5), without the parameter.
  if (tx.requiretls && caps_.requiretls) cmd += " REQUIRETLS";
  // RFC 3461 5.2.1 (c), (d): RET and ENVID unchanged, ENVID as xtext (4.4).
  if (caps_.dsn && tx.dsn_ret != common::mail::DsnRet::kUnspecified)
    cmd += std::string(" RET=") + common::mail::ret_text(tx.dsn_ret);
  if (caps_.dsn && !tx.dsn_envid.empty()) cmd += " ENVID=" + common::mail::xtext_encode(tx.dsn_envid);
  return cmd + "\r\n";
}

std::string ClientSession::rcpt_command(std::size_t i) const {
  const Transaction& tx = *tx_;
  std::string cmd = "RCPT TO:<" + tx.recipients[i] + ">";
  if (caps_.dsn && i < tx.dsn.size()) {
    // RFC 3461 5.2.1 (a), (b): NOTIFY and ORCPT unchanged; ORCPT as addr-type ";"
    // xtext (4.2), the address type kept as received.
    const auto& d = tx.dsn[i];
    if (d.notify != 0) cmd += " NOTIFY=" + common::mail::notify_text(d.notify);
    if (auto semi = d.orcpt.find(';'); semi != std::string::npos)
      cmd += " ORCPT=" + d.orcpt.substr(0, semi + 1) + common::mail::xtext_encode(d.orcpt.substr(semi + 1));
  }
  return cmd + "\r\n";
}

Output ClientSession::send(Transaction tx) {
  MB_CHECK(state_ == State::kReady, "send() while the session is not ready");
  MB_CHECK(!tx.recipients.empty(), "transaction without recipients");
  Output out;
  std::size_t n = tx.recipients.size();
  auto all = [&](Outcome o, Stage st, std::string status, std::string detail) {
    for (std::size_t i = 0; i < n; ++i)
      out.results.push_back(Report{o, st, std::nullopt, status, detail, false});
    out.ready = true;
    return out;
  };
  bool bad = !safe_in_command(tx.sender);
  for (const auto& r : tx.recipients) bad = bad || !safe_in_command(r);
  for (const auto& d : tx.dsn) bad = bad || !safe_in_command(d.orcpt);
  if (bad) return all(Outcome::kPermanent, Stage::kMail, "5.1.3", "address with a line break or NUL");
  // RFC 8689 4.2.1: no REQUIRETLS message over a session without TLS, or to a server
  // that does not promise to keep requiring it; 5.7.10 (RFC 8689 5).
  if (tx.requiretls && !tls_active_)
    return all(Outcome::kPermanent, Stage::kMail, "5.7.10",
               "REQUIRETLS: the message requires TLS, not active");
  // RFC 8689 5: a bounce of a REQUIRETLS message is not discarded only because the next
  // hop does not offer REQUIRETLS (it still needs TLS, above).
  if (tx.requiretls && !caps_.requiretls && !tx.sender.empty())
    return all(Outcome::kPermanent, Stage::kMail, "5.7.10",
               "REQUIRETLS: the message requires TLS all the way, and the server does not offer REQUIRETLS");
  // RFC 1870 6.1: a message larger than the server's fixed limit cannot go there.
  if (caps_.size && caps_.size_limit > 0 && tx.size > caps_.size_limit)
    return all(Outcome::kPermanent, Stage::kMail, "5.3.4",
               "message size " + std::to_string(tx.size) + " exceeds the fixed size limit " +
                   std::to_string(caps_.size_limit) + " of the server");
  // RFC 6531 3.2: a UTF-8 envelope cannot go to a server without SMTPUTF8, except that
  // the domain of an address whose local part is ASCII may go as A-labels (RFC 5891).
  // (Headers are not inspected: like Postfix, only what would break on the wire counts.)
  if (tx.smtputf8 && !caps_.smtputf8) {
    auto sender = common::mail::address_to_ascii(tx.sender);
    bool ok = sender.has_value();
    std::vector<std::string> rcpts;
    for (const auto& r : tx.recipients) {
      auto a = common::mail::address_to_ascii(r);
      ok = ok && a.has_value();
      if (a) rcpts.push_back(std::move(*a));
    }
    if (!ok)
      return all(Outcome::kPermanent, Stage::kMail, "5.6.7",
                 "SMTPUTF8 is required, but was not offered by the server");
    tx.sender = std::move(*sender);
    tx.recipients = std::move(rcpts);
  }
  tx_ = std::move(tx);
  results_.assign(n, std::nullopt);
  awaited_.clear();
  next_rcpt_ = 0;
  rcpt_replies_ = 0;
  accepted_ = 0;
  mail_failed_.reset();
  data_sent_ = false;
  // RFC 3030 4.2: BDAT chunks are pipelined, so BDAT only with PIPELINING too.
  bdat_ = caps_.chunking && caps_.pipelining;
  bdat_pending_ = 0;
  bdat_last_sent_ = bdat_failed_ = false;
  state_ = State::kTransaction;
  out.write = mail_command();
  awaited_.push_back(Stage::kMail);
  if (caps_.pipelining) {
    // RFC 2920 3.1: MAIL, every RCPT and DATA in one group; DATA ends the group. With
    // BDAT the group ends after the last RCPT: no chunk goes before a recipient is
    // accepted, so a refused message costs no data.
    for (std::size_t i = 0; i < n; ++i) {
      out.write += rcpt_command(i);
      awaited_.push_back(Stage::kRcpt);
    }
    next_rcpt_ = n;
    if (!bdat_) {
      out.write += "DATA\r\n";
      awaited_.push_back(Stage::kData);
      data_sent_ = true;
    }
  }
  return out;
}

void ClientSession::decide(std::size_t i, const Reply& r, Stage stage) {
  results_[i] = Report{outcome_of(r), stage, r, status_of(r), "", false};
  results_[i]->dsn_passed = caps_.dsn && r.klass() == 2;
}

// Sends the next command when not pipelining.
Output ClientSession::next_command(Output out) {
  if (!awaited_.empty() || caps_.pipelining) return out;
  if (next_rcpt_ < tx_->recipients.size()) {
    out.write = rcpt_command(next_rcpt_++);
    awaited_.push_back(Stage::kRcpt);
    return out;
  }
  if (!data_sent_) {
    data_sent_ = true;
    out.write = "DATA\r\n";
    awaited_.push_back(Stage::kData);
  }
  return out;
}

Output ClientSession::transaction_reply(const Reply& r) {
  Output out;
  if (state_ == State::kDot || state_ == State::kDotDiscard) {
    bool discard = state_ == State::kDotDiscard;
    // RFC 5321 4.1.1.4: the reply to the final dot ends the transaction either way.
    if (!discard)
      for (std::size_t i = 0; i < results_.size(); ++i)
        if (!results_[i]) decide(i, r, Stage::kDot);
    return finish_transaction(std::move(out), false);
  }
  MB_CHECK(!awaited_.empty(), "transaction reply with nothing awaited");
  Stage st = awaited_.front();
  awaited_.pop_front();
  if (st == Stage::kMail) {
    if (r.klass() != 2) {
      mail_failed_ = r;
      for (std::size_t i = 0; i < results_.size(); ++i) decide(i, r, Stage::kMail);
      // Unpipelined: nothing else was sent. Pipelined: read the RCPT and DATA replies
      // first (RFC 2920 3.1), then end.
      if (awaited_.empty() || r.code == 421) return finish_transaction(std::move(out), r.code != 421);
      return out;
    }
    return next_command(std::move(out));
  }
  if (st == Stage::kRcpt) {
    std::size_t i = rcpt_replies_++;
    if (!mail_failed_ && i < results_.size()) {
      if (r.klass() == 2)
        ++accepted_;  // decided by the final reply
      else
        decide(i, r, Stage::kRcpt);
    }
    if (r.code == 421) {
      for (std::size_t k = 0; k < results_.size(); ++k)
        if (!results_[k]) decide(k, r, Stage::kRcpt);
      return finish_transaction(std::move(out), false);
    }
    if (!caps_.pipelining && accepted_ == 0 && next_rcpt_ >= tx_->recipients.size() && !mail_failed_)
      return finish_transaction(std::move(out), true);  // nobody accepted: no DATA
    if (bdat_ && awaited_.empty()) {
      // Every RCPT answered: the chunks go if anyone was accepted (RFC 3030 2).
      if (mail_failed_ || accepted_ == 0) return finish_transaction(std::move(out), true);
      state_ = State::kBdat;
      out.send_body = true;
      out.bdat = true;
      return out;
    }
    return next_command(std::move(out));
  }
  // DATA
  if (r.code == 354) {
    if (mail_failed_ || accepted_ == 0) {
      // RFC 2920 3.1: DATA accepted although no recipient was: end an empty message.
      state_ = State::kDotDiscard;
      out.write = ".\r\n";
      return out;
    }
    state_ = State::kDot;
    out.send_body = true;
    return out;
  }
  for (std::size_t i = 0; i < results_.size(); ++i)
    if (!results_[i]) decide(i, r, Stage::kData);
  return finish_transaction(std::move(out), r.code != 421);
}

void ClientSession::on_bdat_chunk(bool last) {
  MB_CHECK(state_ == State::kBdat && !bdat_last_sent_ && !bdat_failed_, "BDAT chunk outside the message");
  ++bdat_pending_;
  bdat_last_sent_ = last;
}

// RFC 3030 2: every chunk gets a reply; the reply to the LAST chunk is the message's.
// A refused chunk fails the message: no more chunks, the replies to those already in the
// pipeline are read (4.2), and then RSET, since the server's state is not known.
Output ClientSession::bdat_reply(const Reply& r) {
  Output out;
  if (bdat_pending_ == 0) return lost(std::move(out), "protocol error (reply to no BDAT chunk)", "4.5.0");
  --bdat_pending_;
  if (r.klass() != 2 && !bdat_failed_) {
    bdat_failed_ = true;
    out.stop_body = true;
    for (std::size_t i = 0; i < results_.size(); ++i)
      if (!results_[i]) decide(i, r, Stage::kBdat);
  }
  if (r.code == 421) {
    for (std::size_t i = 0; i < results_.size(); ++i)
      if (!results_[i]) decide(i, r, Stage::kBdat);
    return finish_transaction(std::move(out), false);
  }
  if (bdat_pending_ > 0 || (!bdat_failed_ && !bdat_last_sent_)) return out;
  if (!bdat_failed_)
    for (std::size_t i = 0; i < results_.size(); ++i)
      if (!results_[i]) decide(i, r, Stage::kBdat);
  return finish_transaction(std::move(out), bdat_failed_);
}

Output ClientSession::finish_transaction(Output out, bool needs_rset) {
  for (auto& res : results_) {
    MB_CHECK(res.has_value(), "transaction ended with an undecided recipient");
    out.results.push_back(std::move(*res));
  }
  bool closing = false;
  for (const auto& rep : out.results)
    if (rep.reply && rep.reply->code == 421) closing = true;
  tx_.reset();
  results_.clear();
  awaited_.clear();
  if (closing) {
    out.close = true;
    state_ = State::kClosed;
    return out;
  }
  if (needs_rset) {
    // RFC 5321 4.1.1.5: clear the failed transaction before the next one.
    state_ = State::kRset;
    out.write += "RSET\r\n";
    return out;
  }
  state_ = State::kReady;
  out.ready = true;
  return out;
}

// The connection is gone (or must go) while `what`.
Output ClientSession::lost(Output out, const std::string& what, const std::string& status) {
  Stage st = waiting();
  out.close = true;
  if (state_ == State::kQuit || state_ == State::kClosed || state_ == State::kReady) {
    state_ = State::kClosed;
    return out;
  }
  if (tx_) {
    std::string detail = what + " while waiting for the reply to " + stage_name(st);
    if (state_ == State::kDot || state_ == State::kBdat) detail = what + " after sending the message data";
    for (std::size_t i = 0; i < results_.size(); ++i)
      if (!results_[i]) results_[i] = Report{Outcome::kTemporary, st, std::nullopt, status, detail, false};
    for (auto& res : results_) out.results.push_back(std::move(*res));
    tx_.reset();
    results_.clear();
    awaited_.clear();
    state_ = State::kClosed;
    return out;
  }
  std::string detail = what + " while waiting for the reply to " + stage_name(st);
  if (st == Stage::kGreeting) detail = what + " while waiting for the initial greeting";
  if (st == Stage::kTlsHandshake) detail = what + " during the TLS handshake";
  return fail(std::move(out), st, nullptr, status, detail, false);
}

Output ClientSession::on_closed() { return lost(Output(), "lost connection", "4.4.2"); }
Output ClientSession::on_timeout() { return lost(Output(), "conversation timed out", "4.4.2"); }
Output ClientSession::on_protocol_error(const std::string& why) {
  return lost(Output(), "protocol error (" + why + ")", "4.5.0");
}

Output ClientSession::etrn(const std::string& domain) {
  MB_CHECK(state_ == State::kReady, "etrn() while the session is not ready");
  Output out;
  if (!safe_in_command(domain))
    return fail(std::move(out), Stage::kEtrn, nullptr, "5.5.4", "bad ETRN argument", true);
  state_ = State::kEtrn;
  out.write = "ETRN " + domain + "\r\n";
  return out;
}

Output ClientSession::quit() {
  Output out;
  if (state_ == State::kClosed || state_ == State::kQuit) return out;
  MB_CHECK(state_ == State::kReady, "quit() while the session is busy");
  state_ = State::kQuit;
  out.write = "QUIT\r\n";
  return out;
}

}  // namespace common::smtp
