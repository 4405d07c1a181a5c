// Accept/reject decisions as pure functions over what the session knows (SessionFacts)
// and a lookup interface over the accounts (Directory), so they are tested without
// LMDB or sockets. The session calls them; accounts_directory.hpp adapts the real
// accounts database. Relay control (relay database, AUTH, submission ports) will add
// facts here and widen check_recipient; the session does not change.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/mail/address.hpp"
#include "common/result.hpp"
#include "smtpd/commands.hpp"
#include "smtpd/reply.hpp"

namespace smtpd {

// What the session knows about its client when it decides.
struct SessionFacts {
  std::string client_ip;  // textual address, e.g. "192.0.2.1"
  bool tls = false;       // STARTTLS done
  std::string helo;
  std::string auth_user;  // empty: not authenticated (AUTH comes with relay control)
};

struct DomainInfo {
  std::string alias_of;  // domain alias: the same local parts exist there
  std::string catchall;  // non-empty: every local part is accepted
};

struct MailboxInfo {
  bool disabled = false;
};

// The accounts as the policy needs them. Errors mean "cannot tell now" (451).
class Directory {
 public:
  virtual ~Directory() = default;
  // `name` is lower-case.
  virtual common::Result<std::optional<DomainInfo>> domain(const std::string& name) = 0;
  // A user or an alias with this key ("local@domain", lower-case).
  virtual common::Result<std::optional<MailboxInfo>> mailbox(const std::string& key) = 0;
};

// MAIL FROM: the declared size against the limit (RFC 1870 6.1: 552 5.3.4).
// Returns a 250 reply when the sender is acceptable.
Reply check_sender(const SessionFacts& facts, const MailArgs& mail, std::uint64_t size_limit);

// RCPT TO: `rcpt` must be a mailbox of a local domain. Accepted: an existing user or
// alias; any local part of a catch-all domain; in a domain alias, a mailbox of its
// target; "postmaster" and "abuse" of every local domain (RFC 5321 4.5.1, RFC 2142);
// postmaster@<hostname> always (where a bare <Postmaster> lands). Refused: unknown
// local part 550 5.1.1, disabled user 550 5.2.1, any other domain 550 5.7.1 (no relay
// yet), lookup failure 451 4.3.0.
// REQUIRES: hostname lower-case.
Reply check_recipient(const SessionFacts& facts, const common::mail::Address& rcpt,
                      Directory& dir, std::string_view hostname);

}  // namespace smtpd
