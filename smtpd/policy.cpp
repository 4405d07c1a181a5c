// Accept/reject decisions (see policy.hpp). Pure: no I/O beyond the Directory interface.
#include "smtpd/policy.hpp"

#include "common/log/log.hpp"

namespace smtpd {
namespace {

Reply ok_rcpt() { return make_reply(250, "2.1.5", "Ok"); }

Reply lookup_failed(const common::Status& st) {
  static common::log::RateLimiter limit(std::chrono::seconds(10), 16);
  std::size_t dropped = 0;
  if (limit.allow("lookup", &dropped))
    common::log::warn("accounts lookup failed: %s (%zu similar suppressed)", st.message().c_str(),
                      dropped);
  return make_reply(451, "4.3.0", "Temporary lookup failure, try again later");
}

}  // namespace

Reply check_sender(const SessionFacts&, const MailArgs& mail, std::uint64_t size_limit) {
  if (mail.size && *mail.size > size_limit)
    return make_reply(552, "5.3.4", "Message size exceeds fixed limit of " +
                                        std::to_string(size_limit) + " bytes");
  return make_reply(250, "2.1.0", "Ok");
}

Reply check_recipient(const SessionFacts&, const common::mail::Address& rcpt, Directory& dir,
                      std::string_view hostname) {
  if (rcpt.domain.empty()) return make_reply(501, "5.1.3", "Recipient address needs a domain");
  std::string key = rcpt.key();  // lower-case "local@domain"
  std::string local = key.substr(0, key.size() - rcpt.domain.size() - 1);
  const std::string& domain = rcpt.domain;

  // RFC 5321 4.5.1: postmaster must always be accepted; a bare <Postmaster> was mapped
  // to postmaster@<hostname> by the session.
  if (local == "postmaster" && domain == hostname) return ok_rcpt();

  // Address literals are never local domains here.
  auto d = rcpt.literal ? common::Result<std::optional<DomainInfo>>(std::optional<DomainInfo>())
                        : dir.domain(domain);
  if (!d) return lookup_failed(d.status());
  if (!d->has_value()) return make_reply(550, "5.7.1", "Relay access denied");
  const DomainInfo& info = **d;

  // RFC 5321 4.5.1 (postmaster) and RFC 2142 (abuse) for every domain we serve.
  if (local == "postmaster" || local == "abuse") return ok_rcpt();

  auto check = [&](const std::string& k, bool* found) -> std::optional<Reply> {
    auto m = dir.mailbox(k);
    if (!m) return lookup_failed(m.status());
    *found = m->has_value();
    if (!*found) return std::nullopt;
    if ((*m)->disabled) return make_reply(550, "5.2.1", "Mailbox disabled, not accepting messages");
    return ok_rcpt();
  };
  bool found = false;
  if (auto r = check(key, &found)) return *r;
  if (!info.alias_of.empty()) {
    if (auto r = check(local + "@" + info.alias_of, &found)) return *r;
  }
  if (!info.catchall.empty()) return ok_rcpt();
  return make_reply(550, "5.1.1", "Recipient address rejected: User unknown");
}

}  // namespace smtpd
