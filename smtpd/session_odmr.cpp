// The Session on the ODMR port (odmr_listen, RFC 2645): the provider's side of On-Demand
// Mail Relay. A site whose address changes connects, says EHLO, STARTTLS and AUTH, and
// asks with ATRN for the mail queued here for its domains; those its login was granted
// (mailctl atrn grant) go to the queue manager, and when mail waits the session answers
// 250 and ends: the roles turn (RFC 2645 5.3) and the connection is relayed to the remote
// agent, which delivers as the SMTP client (connection.cpp, queue-manager, remote).
// Nothing else of SMTP is served here: no mail is accepted on this port.
// UNTRUSTED: the ATRN argument comes from the network (parse_atrn, commands.cpp).
#include <algorithm>

#include "common/log/log.hpp"
#include "smtpd/session.hpp"

namespace smtpd {

namespace log = common::log;

bool Session::odmr_command(const Command& c) {
  switch (c.verb) {
    case Verb::kEhlo: odmr_ehlo(c); return true;
    case Verb::kAtrn: cmd_atrn(c); return true;
    case Verb::kHelo:  // RFC 2645 5.1.1: the client says EHLO, to see AUTH and ATRN
      send(make_reply(502, "5.5.1", "Error: send EHLO (RFC 2645)"));
      return true;
    case Verb::kMail:
    case Verb::kRcpt:
    case Verb::kData:
    case Verb::kBdat:
    case Verb::kEtrn:
    case Verb::kVrfy:
    case Verb::kExpn:  // RFC 2645 5: the ODMR service takes no mail
      send(make_reply(502, "5.5.1", "Error: not on the ODMR port; send mail to port 25 or 587"));
      return true;
    case Verb::kHelp:
      send(make_reply(214, "2.0.0", "Commands: EHLO STARTTLS AUTH ATRN RSET NOOP QUIT HELP"));
      return true;
    default: return false;  // STARTTLS, AUTH, RSET, NOOP, QUIT, unknown: as on any port
  }
}

// RFC 2645 5.1.1: the reply offers AUTH (RFC 4954; here only under TLS, 14) and ATRN.
void Session::odmr_ehlo(const Command& c) {
  auto p = parse_helo(c.arg);
  if (!p.ok()) return send(p.error);
  facts_.helo = std::move(*p.value);
  reset_transaction();
  helo_ = Helo::kEhlo;
  std::vector<std::string> lines = {cfg_.hostname, "ENHANCEDSTATUSCODES"};
  if (cfg_.tls_available && !facts_.tls) lines.push_back("STARTTLS");  // RFC 3207
  if (facts_.tls) lines.push_back("AUTH PLAIN LOGIN");
  lines.push_back("ATRN");
  send_raw(render_lines(250, lines));
}

// RFC 2645 5.2.1: ATRN needs an authenticated session (530); the domains must be the
// client's (450 "ATRN request refused" otherwise, and nothing is released); 451 when
// it cannot be decided now; 453 when no mail waits; 250 and the turn otherwise. The
// grants are read like the other lookups (lookups.hpp), off the loop if need be.
void Session::cmd_atrn(const Command& c) {
  if (helo_ != Helo::kEhlo) return send(make_reply(503, "5.5.1", "Error: send EHLO first"));
  atrn_arg_ = std::string(c.arg);
  if (facts_.auth_user.empty()) {
    if (!facts_.tls)
      return atrn_refuse(
          make_reply(530, "5.7.0", "Authentication required: STARTTLS, then AUTH (RFC 2645 5.2.1)"),
          "no TLS, no AUTH");
    return atrn_refuse(make_reply(530, "5.7.0", "Authentication required (RFC 2645 5.2.1)"), "no AUTH");
  }
  auto p = parse_atrn(c.arg);
  if (!p.ok()) return atrn_refuse(p.error, "malformed argument");
  LookupRequest q;
  q.kind = LookupRequest::Kind::kAtrn;
  q.atrn_domains = std::move(p.value->domains);
  ask(std::move(q));
}

void Session::atrn_refuse(const Reply& r, const std::string& why) {
  log::info("reject: ATRN %s from %s%s%s: %d %s %s (%s), nothing released",
            log::printable(atrn_arg_, 200).c_str(), client_.literal.c_str(),
            facts_.auth_user.empty() ? "" : " as ", log::printable(facts_.auth_user).c_str(), r.code,
            r.status.c_str(), r.text.c_str(), why.c_str());
  send(r);
}

void Session::atrn_looked_up(std::vector<std::string> domains, LookupAnswer a) {
  if (!a.atrn_granted || !*a.atrn_granted) {
    return atrn_refuse(make_reply(451, "4.3.0", "Unable to process ATRN request now"),
                       "accounts database: " + (a.atrn_granted ? a.atrn_granted->message() : "no answer"));
  }
  const std::vector<std::string>& granted = **a.atrn_granted;
  if (domains.empty()) {  // RFC 2645 5.2.1: no argument, the login's own domains
    domains = granted;
    if (domains.size() > kMaxAtrnDomains) domains.resize(kMaxAtrnDomains);
    if (domains.empty())
      return atrn_refuse(
          make_reply(450, "4.7.1", "ATRN request refused: no domain is granted to " + facts_.auth_user),
          "no grants");
  }
  for (const auto& d : domains)
    if (std::find(granted.begin(), granted.end(), d) == granted.end())
      return atrn_refuse(
          make_reply(450, "4.7.1", "ATRN request refused: " + d + " is not granted to " + facts_.auth_user),
          "not granted");
  pending_atrn_ = domains;
  out_.atrn = AtrnRequest{std::move(domains), facts_.auth_user};
  phase_ = Phase::kWaitAtrn;
}

Output Session::atrn_done(std::optional<std::uint32_t> messages) {
  if (phase_ != Phase::kWaitAtrn) return take();
  phase_ = Phase::kCommand;
  std::string list;
  for (const auto& d : pending_atrn_) list += (list.empty() ? "" : ",") + d;
  if (!messages) {
    log::warn("ATRN %s from %s as %s: queue manager or remote agent unavailable, nothing released",
              list.c_str(), client_.literal.c_str(), facts_.auth_user.c_str());
    send(make_reply(451, "4.3.0", "Unable to process ATRN request now"));
  } else if (*messages == 0) {
    log::info("ATRN %s from %s as %s: no mail waiting", list.c_str(), client_.literal.c_str(),
              facts_.auth_user.c_str());
    send(make_reply(453, "4.3.0", "You have no mail"));
  } else {
    log::info("ATRN %s from %s as %s: %u messages; now reversing the connection", list.c_str(),
              client_.literal.c_str(), facts_.auth_user.c_str(), *messages);
    send(make_reply(250, "2.0.0", "OK now reversing the connection"));
    phase_ = Phase::kTurned;
    out_.turned = true;
    return take();
  }
  process();
  return take();
}

std::string Session::take_input() {
  std::string rest = in_.substr(in_pos_);
  in_.clear();
  in_pos_ = 0;
  return rest;
}

}  // namespace smtpd
