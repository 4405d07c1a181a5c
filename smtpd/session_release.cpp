// The backup MX's wake-up message (Session::wakeup_rcpt): RCPT TO the configured
// relay_wakeup_address from a client that may release relay domains (their release=
// networks, or etrn_networks) releases those domains' queues at once, as ETRN would
// (RFC 1985); the message itself is accepted and then discarded by the queue manager.
// From any other client: 550 5.7.1 and a log line, nothing released.
#include "common/log/log.hpp"
#include "smtpd/session.hpp"

namespace smtpd {

namespace log = common::log;

void Session::wakeup_rcpt(common::mail::Address a) {
  auto domains = releasable_domains(facts_, cfg_.relay_domains, cfg_.own_release);
  if (domains.empty()) {
    log::info(
        "reject: wake-up message from %s: may not release any relay domain, nothing released; from=<%s> "
        "to=<%s>",
        client_.literal.c_str(), log::printable(tx_->mail.envelope_sender()).c_str(),
        log::printable(a.str()).c_str());
    return send(
        make_reply(550, "5.7.1", "Wake-up message refused: this client may not release any relay domain"));
  }
  std::string list;
  for (const auto& d : domains) list += (list.empty() ? "" : ", ") + d;
  log::info("wake-up message from %s: releasing %s", client_.literal.c_str(), list.c_str());
  tx_->rcpts.push_back(std::move(a));
  out_.release.insert(out_.release.end(), domains.begin(), domains.end());
  send(make_reply(250, "2.1.5", "Ok, wake-up: releasing " + list));
}

}  // namespace smtpd
