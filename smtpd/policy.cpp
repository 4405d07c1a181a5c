// Accept/reject decisions (see policy.hpp). Pure: no I/O beyond the Directory interface.
#include "smtpd/policy.hpp"

#include <algorithm>

#include "common/log/log.hpp"
#include "common/mail/ascii.hpp"
#include "common/mail/srs.hpp"

namespace smtpd {
namespace {

Reply ok_rcpt() { return make_reply(250, "2.1.5", "Ok"); }

Reply relay_denied() { return make_reply(554, "5.7.1", "Relay access denied"); }

Reply lookup_failed(const common::Status& st) {
  static common::log::RateLimiter limit(std::chrono::seconds(10), 16);
  std::size_t dropped = 0;
  if (limit.allow("lookup", &dropped))
    common::log::warn("accounts lookup failed: %s (%zu similar suppressed)", st.message().c_str(), dropped);
  return make_reply(451, "4.3.0", "Temporary lookup failure, try again later");
}

// Relaying refused; unless the relay database, which might have allowed it, could not
// be read: then the client tries again later.
Reply refuse_relay(const SessionFacts& f) {
  if (f.relay_db_failed) return lookup_failed(common::Status::error("relay database unreadable"));
  return relay_denied();
}

bool contains(const std::vector<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// The local part of a lower-cased key "local@domain".
std::string key_local(const std::string& key, const std::string& domain) {
  return key.substr(0, key.size() - domain.size() - 1);
}

}  // namespace

bool may_relay(const SessionFacts& f) {
  return !f.auth_user.empty() || f.relay_network || f.relay_db.value_or(false);
}

Reply check_sender(const SessionFacts& facts, const MailArgs& mail, const SenderRules& rules,
                   Directory& dir) {
  // RFC 6409 4.3: "MUST by default issue an error response to the MAIL command if the
  // session has not been authenticated ... unless it has already independently
  // established authentication or authorization (such as being within a protected
  // subnetwork)". RFC 4954 6: 530 5.7.0.
  if (rules.submission && !may_relay(facts))
    return facts.relay_db_failed ? refuse_relay(facts) : make_reply(530, "5.7.0", "Authentication required");
  if (mail.size && *mail.size > rules.size_limit)
    return make_reply(552, "5.3.4",
                      "Message size exceeds fixed limit of " + std::to_string(rules.size_limit) + " bytes");
  if (!facts.auth_user.empty() && rules.sender_login_check && !mail.sender.null()) {
    auto ok = dir.sends_as(facts.auth_user, mail.sender);
    if (!ok) return lookup_failed(ok.status());
    if (!*ok)
      return make_reply(554, "5.7.1", "Sender address rejected: not owned by user " + facts.auth_user);
  }
  return make_reply(250, "2.1.0", "Ok");
}

Reply check_recipient(const SessionFacts& facts, const common::mail::Address& rcpt, Directory& dir,
                      const std::vector<std::string>& relay_domains) {
  using common::accounts::Class;
  if (rcpt.domain.empty()) return make_reply(501, "5.1.3", "Recipient address needs a domain");
  std::string key = rcpt.key();  // lower-case "local@domain"
  std::string local = key_local(key, rcpt.domain);
  bool relay_ok = may_relay(facts);

  // Sender-specified routing through us ("a%b@us", "b!a@us", "\"a@b\"@us"): never for
  // an untrusted client, whichever domain follows.
  if (!relay_ok && local.find_first_of("%!@") != std::string::npos) return refuse_relay(facts);

  common::accounts::Recipient r = dir.recipient(rcpt);
  if (!r.local) {
    // We are a backup MX for these: from anyone, the addresses on the domain's relay
    // recipient list if it has one, else any local part (the better MX decides).
    if (!rcpt.literal && contains(relay_domains, rcpt.domain)) {
      if (r.why == Class::kUnknown)
        return make_reply(550, "5.1.1", "Recipient address rejected: User unknown");
      if (r.why == Class::kTempFail) return lookup_failed(common::Status::error(r.verdict.text));
      return ok_rcpt();
    }
    return relay_ok ? ok_rcpt() : refuse_relay(facts);
  }
  const auto& v = r.verdict;
  switch (r.why) {
    case Class::kOk: return ok_rcpt();
    case Class::kUnknown: return make_reply(550, "5.1.1", "Recipient address rejected: User unknown");
    case Class::kBadSrs: return make_reply(550, "5.1.1", "Recipient address rejected: invalid SRS address");
    case Class::kDisabled: return make_reply(550, "5.2.1", "Mailbox disabled, not accepting messages");
    case Class::kFull: return make_reply(452, "4.2.2", "Mailbox full, try again later");
    case Class::kTempFail: return lookup_failed(common::Status::error(v.text));
    case Class::kLoop:
    case Class::kRefused: break;
  }
  bool temporary = v.outcome == common::mail::Outcome::kTemporary;
  return make_reply(temporary ? 451 : 550, v.status, "Recipient address rejected: " + v.text);
}

std::optional<Reply> check_domain_limits(const SessionFacts& facts, const common::mail::Address& rcpt,
                                         const std::vector<common::mail::Address>& earlier,
                                         std::optional<std::uint64_t> declared_size, Directory& dir) {
  // The limits of a domain of ours (an alias domain's are its target's); nullopt if not ours.
  auto limits_of = [&](const std::string& domain, common::Status* failed) -> std::optional<DomainInfo> {
    auto d = dir.domain(domain);
    if (!d) {
      *failed = d.status();
      return std::nullopt;
    }
    if (!d->has_value() || (*d)->alias_of.empty()) return *d;
    auto t = dir.domain((*d)->alias_of);
    if (!t) {
      *failed = t.status();
      return std::nullopt;
    }
    return *t;
  };
  common::Status failed;
  if (!rcpt.literal && !rcpt.domain.empty()) {
    auto d = limits_of(rcpt.domain, &failed);
    if (!failed.is_ok()) return lookup_failed(failed);
    if (d && d->max_message_size && declared_size && *declared_size > d->max_message_size)
      return make_reply(552, "5.3.4",
                        "Message size exceeds the limit of " + std::to_string(d->max_message_size) +
                            " bytes for " + rcpt.domain);
    if (d && d->max_recipients) {
      std::size_t same = 0;
      for (const auto& e : earlier) same += e.domain == rcpt.domain ? 1 : 0;
      if (same >= d->max_recipients)
        return make_reply(452, "4.5.3", "Too many recipients for " + rcpt.domain + " in one message");
    }
  }
  auto at = facts.auth_user.rfind('@');
  if (at != std::string::npos) {
    auto d = limits_of(facts.auth_user.substr(at + 1), &failed);
    if (!failed.is_ok()) return lookup_failed(failed);
    if (d && d->max_message_size && declared_size && *declared_size > d->max_message_size)
      return make_reply(
          552, "5.3.4",
          "Message size exceeds your limit of " + std::to_string(d->max_message_size) + " bytes");
    if (d && d->max_recipients && earlier.size() >= d->max_recipients)
      return make_reply(
          452, "4.5.3",
          "Too many recipients (your limit is " + std::to_string(d->max_recipients) + " per message)");
  }
  return std::nullopt;
}

std::optional<Reply> check_etrn(const SessionFacts& facts, const EtrnArgs& etrn,
                                const std::vector<std::string>& relay_domains,
                                const std::vector<std::string>& own_release) {
  // RFC 1985 5: 458 "Unable to queue messages for node <x>", 459 "Node <x> not allowed:
  // <reason>".
  if (etrn.queue_name)
    return make_reply(458, "4.3.0",
                      "Unable to queue messages for node #" + etrn.node + ": queue names are not supported");
  std::string node = (etrn.subdomains ? "@" : "") + etrn.node;
  bool allowed =
      contains(own_release, etrn.node) ? contains(facts.etrn_granted, etrn.node) : facts.etrn_network;
  if (!allowed) return make_reply(459, "4.7.1", "Node " + node + " not allowed: client not authorized");
  if (!contains(relay_domains, etrn.node))
    return make_reply(459, "4.7.1", "Node " + node + " not allowed: not a relay domain");
  return std::nullopt;
}

std::vector<std::string> releasable_domains(const SessionFacts& facts,
                                            const std::vector<std::string>& relay_domains,
                                            const std::vector<std::string>& own_release) {
  std::vector<std::string> out;
  for (const auto& d : relay_domains)
    if (contains(own_release, d) ? contains(facts.etrn_granted, d) : facts.etrn_network) out.push_back(d);
  return out;
}

std::optional<Reply> check_srs_return(const SessionFacts& facts, const common::mail::Address& rcpt,
                                      const common::mail::Address& sender) {
  if (sender.null() || may_relay(facts) || !common::mail::srs::is_srs(rcpt.local)) return std::nullopt;
  return make_reply(550, "5.7.1",
                    "Recipient address rejected: SRS addresses take only bounces (MAIL FROM:<>)");
}

}  // namespace smtpd
