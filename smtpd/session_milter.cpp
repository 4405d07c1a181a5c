// The session's side of the mail filters (milters): at each stage a filter may want
// (connect, HELO, MAIL, RCPT, the message before the reply to DATA) the session asks
// the I/O layer to run them (Output::milter) and waits; milter_done() carries on with
// the command, or answers with the filters' refusal, so a refusal is always an SMTP
// reply and never a bounce. Only used when filters are configured (SessionConfig::
// milters): without them no code here runs.
#include <cerrno>

#include "common/io/fdio.hpp"
#include "common/log/log.hpp"
#include "smtpd/session.hpp"

namespace smtpd {

namespace log = common::log;
using Stage = MilterRequest::Stage;
using Action = MilterVerdict::Action;

void Session::milter_request(Stage stage, std::vector<std::string> args, common::milter::Macros m) {
  MilterRequest r;
  r.stage = stage;
  r.args = std::move(args);
  r.macros = std::move(m);
  // Sendmail's macros as Postfix sets them, those rspamd, OpenDKIM and OpenDMARC read.
  if (stage == Stage::kHelo && facts_.tls) {
    // tls_desc_: "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"
    std::string_view d = tls_desc_;
    std::string_view version = d.substr(0, d.find(' '));
    std::string_view cipher;
    if (std::size_t c = d.find("with cipher "); c != std::string_view::npos) {
      cipher = d.substr(c + 12);
      cipher = cipher.substr(0, cipher.find(' '));
    }
    r.macros.push_back({"{tls_version}", std::string(version)});
    r.macros.push_back({"{cipher}", std::string(cipher)});
  }
  if (stage == Stage::kMail && !facts_.auth_user.empty()) {
    r.macros.push_back({"{auth_type}", auth_mech_});
    r.macros.push_back({"{auth_authen}", facts_.auth_user});
  }
  r.log_id = tx_ && !tx_->queue_id.empty() ? tx_->queue_id : client_.literal;
  milter_stage_ = stage;
  phase_ = Phase::kWaitMilter;
  out_.milter = std::move(r);
}

void Session::milter_connect() {
  common::milter::Macros m = {
      {"j", cfg_.hostname},
      {"{daemon_name}", cfg_.port == Port::kMx ? "mx" : "submission"},
      {"{client_addr}", client_.ip},
      {"{client_name}", "unknown"},  // smtpd does no reverse lookups
  };
  milter_request(Stage::kConnect, {client_.literal, client_.ip}, std::move(m));
}

void Session::milter_message() {
  Transaction& t = *tx_;
  milter_request(Stage::kMessage, {}, {{"i", t.queue_id}});
  out_.milter->eom_macros = {{"i", t.queue_id}};
  out_.milter->fd = t.writer->fd();
}

Output Session::milter_done(MilterVerdict v) {
  if (phase_ != Phase::kWaitMilter) return take();
  phase_ = Phase::kCommand;
  bool pass = v.action == Action::kContinue;
  switch (milter_stage_) {
    case Stage::kConnect:
      // Refused at connect: greeted as usual, then every MAIL gets the refusal (as
      // Postfix does), so that the client learns why and can QUIT cleanly.
      if (!pass && v.action != Action::kDiscard) {
        log::info("reject: CONNECT from %s: %d %s %s", client_.literal.c_str(), v.reply.code,
                  v.reply.status.c_str(), v.reply.text.c_str());
        connect_refusal_ = v.reply;
      }
      send_raw("220 " + cfg_.hostname + " ESMTP Mailbag\r\n");
      break;
    case Stage::kHelo:
      if (pass) {
        facts_.helo = std::move(pending_helo_);
        finish_helo(pending_ehlo_);
      } else {
        send(v.reply);
      }
      break;
    case Stage::kMail:
      if (pass || v.action == Action::kDiscard) {
        tx_.emplace();
        tx_->mail = std::move(*pending_mail_);
        tx_->mail_checks = std::move(pending_mail_checks_);
        send(milter_ok_);
      } else {
        log::info("reject: MAIL from %s%s: %d %s %s; from=<%s>", log::printable(facts_.helo, 64).c_str(),
                  client_.literal.c_str(), v.reply.code, v.reply.status.c_str(), v.reply.text.c_str(),
                  log::printable(pending_mail_->envelope_sender()).c_str());
        send(v.reply);
      }
      pending_mail_.reset();
      break;
    case Stage::kRcpt:
      if (pass || v.action == Action::kDiscard) {
        if (tx_) {
          tx_->rcpts.push_back(std::move(*pending_rcpt_));
          tx_->dsn.push_back(std::move(pending_rcpt_dsn_));
        }
        send(milter_ok_);
      } else {
        log::info("reject: RCPT from %s%s: %d %s %s; to=<%s>", log::printable(facts_.helo, 64).c_str(),
                  client_.literal.c_str(), v.reply.code, v.reply.status.c_str(), v.reply.text.c_str(),
                  log::printable(pending_rcpt_->str()).c_str());
        send(v.reply);
      }
      pending_rcpt_.reset();
      break;
    case Stage::kMessage:
      milter_message_done(v);
      if (phase_ != Phase::kCommand) return take();  // handed to the queue manager
      break;
  }
  process();  // commands the client pipelined meanwhile
  return take();
}

void Session::milter_message_done(MilterVerdict& v) {
  Transaction& t = *tx_;
  if (v.action == Action::kContinue && v.edited && v.envelope.recipients.empty()) {
    log::info("%s: discard: the filters removed every recipient", t.queue_id.c_str());
    v.action = Action::kDiscard;
  }
  if (v.action == Action::kDiscard) {
    // Accepted, then dropped (the filter's choice: the client must not retry).
    log::info("%s: discard: DATA from %s by a mail filter", t.queue_id.c_str(),
              log::printable(t.client).c_str());
    reset_transaction();
    return send(make_reply(250, "2.0.0", "Ok: discarded"));
  }
  if (v.action != Action::kContinue) {
    log::info("%s: reject: DATA from %s: %d %s %s", t.queue_id.c_str(), log::printable(t.client).c_str(),
              v.reply.code, v.reply.status.c_str(), v.reply.text.c_str());
    reset_transaction();
    return send(v.reply);
  }
  if (v.edited) {
    if (v.envelope.junk && !t.writer->junk())
      log::info("%s: junk: a mail filter's spam verdict: into the Junk folder", t.queue_id.c_str());
    if (!v.envelope.hold_reason.empty())
      log::info("%s: quarantine: a mail filter holds it in the queue: %s", t.queue_id.c_str(),
                log::printable(v.envelope.hold_reason, 200).c_str());
    common::Status st = rewrite_queue_file(v);
    if (!st) {
      log::error("%s: rewriting queue file after the mail filters: %s", t.queue_id.c_str(),
                 st.message().c_str());
      reset_transaction();
      return send(make_reply(451, "4.3.0", "Error: queue file write error"));
    }
  }
  submit_file();
}

// The filters changed the message: a new queue file (same queue id) from the edited
// envelope and message replaces the spooled one, which is dropped unlinked. The
// queue manager fsyncs it as any other before the 250.
common::Status Session::rewrite_queue_file(MilterVerdict& v) {
  Transaction& t = *tx_;
  v.envelope.data_size = 0;
  v.envelope.data_lines = 0;
  // The DSN requests (RFC 3461) follow their recipients through added and removed ones;
  // a recipient a filter added asked for nothing.
  std::vector<common::mail::DsnRcpt> dsn;
  bool asked = false;
  for (const auto& r : v.envelope.recipients) {
    common::mail::DsnRcpt d;
    for (std::size_t i = 0; i < t.rcpts.size() && i < t.dsn.size(); ++i)
      if (t.rcpts[i].str() == r) d = t.dsn[i];
    asked = asked || d.given();
    dsn.push_back(std::move(d));
  }
  v.envelope.dsn = asked ? dsn : std::vector<common::mail::DsnRcpt>();
  auto w = backend_.create_queue_file(v.envelope);
  if (!w) return w.status();
  MB_TRY(w->append(v.message));
  MB_TRY(w->finish());
  t.writer.emplace(std::move(*w));
  t.mail.sender = common::mail::Address();
  t.mail.sender_as_sent = v.envelope.sender;
  if (!v.envelope.sender.empty())
    if (auto a = common::mail::parse_mailbox(v.envelope.sender)) t.mail.sender = std::move(*a);
  t.rcpts.clear();
  t.dsn.clear();
  for (std::size_t i = 0; i < v.envelope.recipients.size(); ++i)
    if (auto a = common::mail::parse_mailbox(v.envelope.recipients[i])) {
      t.rcpts.push_back(std::move(*a));
      t.dsn.push_back(dsn[i]);
    }
  return common::Status::ok();
}

}  // namespace smtpd
