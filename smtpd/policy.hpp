// Accept/reject decisions as pure functions over what the session knows (SessionFacts)
// and a lookup interface over the accounts (Directory), so they are tested without
// LMDB or sockets. The session calls them; accounts_directory.hpp adapts the real
// accounts database. Relay control lives here: who may send to which domains
// (check_recipient), who may use which envelope sender and when MAIL needs AUTH
// (check_sender), and who may start which queue with ETRN (check_etrn).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/accounts/address_book.hpp"
#include "common/mail/address.hpp"
#include "common/result.hpp"
#include "smtpd/commands.hpp"
#include "smtpd/reply.hpp"

namespace smtpd {

// What the session knows about its client when it decides.
struct SessionFacts {
  std::string client_ip;  // textual address, e.g. "192.0.2.1"
  bool tls = false;       // STARTTLS done, or an implicit-TLS port
  std::string helo;
  std::string auth_user;       // after AUTH: the account's address; empty: not authenticated
  bool relay_network = false;  // the client is in relay_networks
  bool etrn_network = false;   // the client is in etrn_networks
  // Relay domains whose own release networks (relay_domain_settings) hold the client.
  std::vector<std::string> etrn_granted = {};
  // POP-before-SMTP: the relay database has a fresh entry for the client. Looked up once,
  // at the first MAIL, and only when pop_before_smtp is on; nullopt until then.
  std::optional<bool> relay_db;
  // The relay database could not be read for this transaction: a refusal that it might
  // have lifted is a temporary failure (451 4.3.0), never a 5xx.
  bool relay_db_failed = false;
};

// May this client send mail to any domain? Authenticated, a trusted network, or a
// POP-before-SMTP entry.
bool may_relay(const SessionFacts& f);

struct DomainInfo {
  std::string alias_of;                // domain alias: the same local parts exist there
  std::string catchall;                // non-empty: every local part is accepted
  std::uint64_t max_message_size = 0;  // mailctl domain set max-size; 0: none
  std::size_t max_recipients = 0;      // mailctl domain set max-recipients; 0: none
};

// The accounts as the policy needs them. Errors mean "cannot tell now" (451).
class Directory {
 public:
  virtual ~Directory() = default;
  // `name` is lower-case.
  virtual common::Result<std::optional<DomainInfo>> domain(const std::string& name) = 0;
  // May the authenticated user `user` (the account's lower-case address) use `sender`
  // as MAIL FROM? The address book's answer (AddressBook::sends_as).
  virtual common::Result<bool> sends_as(const std::string& user, const common::mail::Address& sender) = 0;
  // The address book's verdict on a recipient (common/accounts/address_book.hpp): the
  // answer the local agent's expansion would give, so RCPT accepts only what delivery
  // delivers.
  virtual common::accounts::Recipient recipient(const common::mail::Address& rcpt) = 0;
  // The administrator's filtering rules (mailctl rule), read anew for each transaction
  // so that a change needs no restart. None unless the directory has a database.
  virtual common::Result<std::vector<common::accounts::FilterRule>> filter_rules() {
    return std::vector<common::accounts::FilterRule>();
  }
  // ODMR (mailctl atrn grant): the domains the account `login` may pull with ATRN, lower
  // case. None unless the directory has a database.
  virtual common::Result<std::vector<std::string>> atrn_domains(const std::string& /*login*/) {
    return std::vector<std::string>();
  }
};

struct SenderRules {
  std::uint64_t size_limit = 0;
  bool submission = false;         // a submission port (RFC 6409)
  bool sender_login_check = true;  // smtpd_sender_login_check
};

// MAIL FROM:
//  - RFC 6409 4.3: on a submission port MAIL needs AUTH first, 530 5.7.0, unless the
//    client is authorised otherwise (relay_networks, POP-before-SMTP); 451 4.3.0 when
//    the relay database could not be read.
//  - RFC 1870 6.1: the declared size against the limit, 552 5.3.4.
//  - An authenticated user may use as sender only their own address, an alias whose
//    targets include it, the same local part in an alias domain of theirs, or the null
//    sender <> (bounces, receipts); anything else 554 5.7.1. Lookup failure 451 4.3.0.
// Returns a 250 reply when the sender is acceptable.
Reply check_sender(const SessionFacts& facts, const MailArgs& mail, const SenderRules& rules, Directory& dir);

// RCPT TO:
//  - a local domain (accounts.mdb), or postmaster@<hostname> (a bare <Postmaster> was
//    mapped to it by the session), from anyone: whatever the address book's expansion
//    delivers (users, aliases, domain aliases, subaddresses, postmaster@ and abuse@
//    defaults - RFC 5321 4.5.1, RFC 2142 -, catch-alls, SRS0/SRS1 addresses of ours).
//    Unknown local part, invalid SRS address 550 5.1.1; disabled 550 5.2.1; an alias
//    loop 550 5.4.6; a user whose mailbox is full 452 4.2.2 (RFC 3463 3.3; the client
//    tries later); anything else delivery would refuse, with its status.
//  - a domain in `relay_domains` (we are its backup MX), from anyone: the addresses on
//    its relay recipient list (mailctl relay-recipient) and their subaddresses, others
//    550 5.1.1 like unknown local users; any local part if the domain has no list.
//  - any other domain, an address literal included: only if may_relay(), else
//    554 5.7.1 "Relay access denied".
//  - sender-specified routing: a local part holding '%', '!' or '@' (the percent hack,
//    bang paths, "user@foreign"@local) is refused 554 5.7.1 whatever the domain unless
//    may_relay(), like Postfix's allow_untrusted_routing = no.
//  - lookup failure 451 4.3.0; so are the relay refusals when the relay database could
//    not be read (facts.relay_db_failed).
// REQUIRES: relay_domains lower-case.
Reply check_recipient(const SessionFacts& facts, const common::mail::Address& rcpt, Directory& dir,
                      const std::vector<std::string>& relay_domains);

// Per-domain limits (mailctl domain set max-size, max-recipients), for a recipient
// check_recipient accepted; `earlier` are the recipients accepted before it and
// `declared_size` the MAIL SIZE= value. The recipient's domain (an alias domain counts as
// its target): at most max_recipients of its addresses per message, 452 4.5.3 (RFC 5321
// 4.5.3.1.10), and no declared size above max_message_size, 552 5.3.4 (RFC 1870 6.1).
// An authenticated user's own domain limits what they send the same way: its
// max_recipients counts every recipient, its max_message_size the declared size.
// Lookup failure 451 4.3.0. nullopt: within the limits.
std::optional<Reply> check_domain_limits(const SessionFacts& facts, const common::mail::Address& rcpt,
                                         const std::vector<common::mail::Address>& earlier,
                                         std::optional<std::uint64_t> declared_size, Directory& dir);

// ETRN (RFC 1985): nullopt when the request may go to the queue manager, else the
// refusal: a queue name 458 (not supported), a client outside etrn_networks or a node
// that is not one of our relay_domains 459.
// A relay domain in `own_release` (it has release= networks) may be started only by the
// clients those networks hold (facts.etrn_granted), not by etrn_networks.
std::optional<Reply> check_etrn(const SessionFacts& facts, const EtrnArgs& etrn,
                                const std::vector<std::string>& relay_domains,
                                const std::vector<std::string>& own_release = {});

// An SRS address of ours (common/mail/srs.hpp) exists to carry bounces back to the
// original sender: only the null sender (RFC 5321 4.5.5: bounces, and RFC 3834
// auto-replies) may use it, unless the client may relay anyway. Anything else would let
// whoever saw the address once send mail to the original sender through us for its
// lifetime: 550 5.7.1. nullopt: allowed. Call it for a recipient check_recipient accepted.
// The relay domains this client may release (RFC 1985 ETRN rights: a domain's own
// release= networks, else etrn_networks): what a wake-up message or a connection from it
// releases. Empty: none.
std::vector<std::string> releasable_domains(const SessionFacts& facts,
                                            const std::vector<std::string>& relay_domains,
                                            const std::vector<std::string>& own_release);

std::optional<Reply> check_srs_return(const SessionFacts& facts, const common::mail::Address& rcpt,
                                      const common::mail::Address& sender);

}  // namespace smtpd
