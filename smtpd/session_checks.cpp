// Session's side of the built-in checks (see session.hpp, check_policy.hpp): MAIL waits
// for the DNS list and SPF verdicts, the finished message for DKIM and DMARC; then the
// reply, one log line per verdict, and the queue file written again with our
// Authentication-Results header on top and any incoming one that claims our
// authserv-id removed (RFC 8601 5).
#include <fcntl.h>
#include <unistd.h>

#include "common/checks/authres.hpp"
#include "common/log/log.hpp"
#include "smtpd/session.hpp"

namespace smtpd {

namespace ipc = common::ipc;
namespace log = common::log;

bool Session::checks_apply() const {
  return cfg_.checks.any() && cfg_.port == Port::kMx && !client_.relay_network && facts_.auth_user.empty();
}

void Session::begin_mail_check(MailArgs mail, const Reply& ok) {
  ipc::Check c;
  c.stage = ipc::CheckStage::kMail;
  c.client_ip = client_.ip;
  c.helo = facts_.helo;
  c.sender = mail.envelope_sender();
  pending_mail_ = std::move(mail);
  pending_mail_reply_ = ok;
  out_.check = std::move(c);
  phase_ = Phase::kWaitCheck;
}

void Session::begin_data_check() {
  Transaction& t = *tx_;
  bool content = content_rules_apply();
  if (!cfg_.checks.data && !content) return data_checked(ipc::CheckDone());
  auto pe = common::spool::read_envelope(t.writer->fd());
  // A read-only descriptor of the same file for the checks process (the writer's own
  // is read-write).
  int ro = open(("/proc/self/fd/" + std::to_string(t.writer->fd())).c_str(), O_RDONLY | O_CLOEXEC);
  if (!pe || ro < 0) {
    if (ro >= 0) close(ro);
    log::error("%s: cannot hand the message to the checks process", t.queue_id.c_str());
    return data_checked(unanswered(ipc::CheckStage::kData, cfg_.checks));
  }
  ipc::Check c;
  c.stage = ipc::CheckStage::kData;
  c.queue_id = t.queue_id;
  c.client_ip = client_.ip;
  c.helo = facts_.helo;
  c.sender = t.mail.envelope_sender();
  c.data_offset = pe->data_offset;
  c.data_size = pe->env.data_size;
  c.earlier = t.mail_checks.results;
  if (content) add_content_rules(c);
  out_.check = std::move(c);
  out_.check_fd = common::io::UniqueFd(ro);
  phase_ = Phase::kWaitCheck;
}

Output Session::check_done(const ipc::CheckDone& v) {
  if (phase_ != Phase::kWaitCheck) return take();
  phase_ = Phase::kCommand;
  if (pending_mail_) {
    mail_checked(v);
  } else if (tx_ && tx_->writer) {
    data_checked(v);
  }
  if (phase_ == Phase::kCommand) process();  // commands pipelined behind
  return take();
}

void Session::log_verdicts(const ipc::CheckDone& v, const std::string& queue_id) {
  const char* id = queue_id.empty() ? "NOQUEUE" : queue_id.c_str();
  if (v.dnsbl == 1)
    log::info("%s: check: client=%s dnsbl=listed dns.zone=%s (%s)", id, client_.literal.c_str(),
              log::printable(v.dnsbl_zone, 255).c_str(), log::printable(v.dnsbl_code, 64).c_str());
  if (v.dnsbl == 3) log::info("%s: check: client=%s dnsbl=temperror", id, client_.literal.c_str());
  for (const auto& r : v.results)
    log::info("%s: check: client=%s %s", id, client_.literal.c_str(),
              log::printable(describe(r), 600).c_str());
}

void Session::mail_checked(const ipc::CheckDone& v) {
  MailArgs mail = std::move(*pending_mail_);
  pending_mail_.reset();
  log_verdicts(v, "");
  if (auto r = mail_check_reply(v, cfg_.checks, client_.ip)) {
    log::info("reject: MAIL from %s%s: %d %s %s; from=<%s>", log::printable(facts_.helo, 64).c_str(),
              client_.literal.c_str(), r->code, r->status.c_str(), r->text.c_str(),
              log::printable(mail.envelope_sender()).c_str());
    return send(*r);
  }
  mail_passed(std::move(mail), pending_mail_reply_, v);
}

void Session::data_checked(const ipc::CheckDone& v) {
  Transaction& t = *tx_;
  log_verdicts(v, t.queue_id);
  std::optional<Reply> r = content_reply(v);  // the administrator's rules (session_rules.cpp)
  if (!r) r = data_check_reply(v, cfg_.checks);
  if (!r && checks_apply() && !add_authres(v)) r = make_reply(451, "4.3.0", "Error: queue file write error");
  // Without the built-in checks the queue file stays; a junk verdict of the rules is
  // written into its J record in place (QueueFileWriter::finish may run again).
  if (!r && !checks_apply() && t.writer->junk() && !t.writer->finish())
    r = make_reply(451, "4.3.0", "Error: queue file write error");
  if (r) {
    log::info("%s: reject: DATA from %s: %d %s %s", t.queue_id.c_str(), log::printable(t.client).c_str(),
              r->code, r->status.c_str(), r->text.c_str());
    out_.bytes += r->render();  // not counted as a client error
    reset_transaction();
    return;
  }
  if (junk(v, cfg_.checks)) log::info("%s: DMARC quarantine: into the Junk folder", t.queue_id.c_str());
  data_passed();
}

// The queue file again, with the header on top: [envelope] Authentication-Results,
// then the message as received (our Received first) without forged results.
bool Session::add_authres(const ipc::CheckDone& data) {
  Transaction& t = *tx_;
  std::vector<common::checks::ResInfo> res;
  const ipc::CheckDone* parts[] = {&t.mail_checks, &data};
  for (const ipc::CheckDone* v : parts)
    for (const auto& r : v->results)
      if (r.method != "checks") res.push_back(r);
  auto pe = common::spool::read_envelope(t.writer->fd());
  if (!pe) {
    log::error("%s: re-reading queue file: %s", t.queue_id.c_str(), pe.message().c_str());
    return false;
  }
  auto w = backend_.create_queue_file(t.env);
  if (!w) {
    log::error("%s: cannot create queue file: %s", t.queue_id.c_str(), w.message().c_str());
    return false;
  }
  common::checks::AuthResStripper strip(cfg_.checks.authserv_id);
  std::string out = common::checks::format_authres(cfg_.checks.authserv_id, res);
  std::string buf(64 * 1024, '\0');
  std::uint64_t off = pe->data_offset, left = pe->env.data_size;
  bool ok = true;
  while (ok && left > 0) {
    ssize_t n =
        pread(t.writer->fd(), buf.data(), std::min<std::uint64_t>(buf.size(), left), static_cast<off_t>(off));
    if (n <= 0) {
      ok = false;
      break;
    }
    strip.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)), &out);
    ok = static_cast<bool>(w->append(out));
    out.clear();
    off += static_cast<std::uint64_t>(n);
    left -= static_cast<std::uint64_t>(n);
  }
  strip.finish(&out);
  // DMARC quarantine (RFC 7489 6.3 p=quarantine): the server's junk verdict, which local
  // delivers into the user's Junk folder.
  // A junk word of the administrator's rules marked the first file already.
  if (junk(data, cfg_.checks) || t.writer->junk()) w->mark_junk();
  if (ok) ok = static_cast<bool>(w->append(out)) && static_cast<bool>(w->finish());
  if (!ok) {
    log::error("%s: writing the queue file again failed", t.queue_id.c_str());
    return false;
  }
  if (strip.removed() > 0)
    log::info("%s: removed %d Authentication-Results header(s) claiming %s", t.queue_id.c_str(),
              strip.removed(), cfg_.checks.authserv_id.c_str());
  t.writer.emplace(std::move(*w));
  return true;
}

}  // namespace smtpd
