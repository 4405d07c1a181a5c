// The address book: the one place that decides what a mail address or a login name means
// here. smtpd asks it at RCPT (rcpt), the queue manager which agent takes a recipient
// (transport), the local agent what to do with a message (expand), smtpd and pop3d which
// account a login names (login), and mailctl whether an alias or forward target exists
// and where an address leads (target_exists, next_hops). It is pure: every answer comes
// from the Lookup it is handed (the LMDB accounts database, or a map in tests), the
// rules, and the caller's clock, so the programs cannot disagree about an address.
//
// Expansion, in this order for each address (RFC 5321 2.4 leaves a local part's meaning
// to its host; ours are lower-case, so keys fold case):
//   alias record (its targets, recursively) -> user (stop) -> not a local domain (a
//   remote target; at the top: unknown; postmaster@<hostname> is the postmaster
//   default below) -> SRS0/SRS1 local part (reversed, sent back to the original sender)
//   -> domain alias (same local part in the target domain) -> subaddress "user+tag"
//   (recipient_delimiter, when user or that alias exists) -> postmaster@/abuse@ default
//   -> the domain's catch-all -> unknown (5.1.1 for the recipient, also after a domain
//   alias or subaddress rewrote it; an alias or forward target is sent on in a new
//   message so that it bounces on its own).
// An address reached twice is expanded once; if that leaves nothing, it was a loop
// (5.4.6). At most kMaxDepth levels and kMaxAddresses addresses. The result has at most
// one mailbox written directly (the one user the recipient leads to, unless that user
// forwards without keeping a copy) and the addresses to send a new message to: remote
// ones (forwarding; the sender then rewritten with SRS) and local ones resolved again on
// their own (a fan-out to several users, or a user forwarding to other local users), so
// that each final recipient gets its own verdict in the queue.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/accounts/lookup.hpp"
#include "common/mail/address.hpp"
#include "common/mail/outcome.hpp"
#include "common/result.hpp"

namespace common::accounts {

inline constexpr int kMaxDepth = 10;
inline constexpr std::size_t kMaxAddresses = 1000;

struct Rules {
  std::string hostname;                   // this server's name: postmaster@<hostname> always exists
  std::string postmaster_address;         // "" -> postmaster@hostname when that is a local domain
  std::string recipient_delimiter = "+";  // "" -> no subaddressing
  std::string mail_root;                  // mail_directory: Maildir paths are relative to it
  std::string srs_secret;                 // "" -> SRS addresses cannot be checked (temporary failure)
};

// Why a recipient is refused, for the RCPT reply and the tests that compare RCPT with
// delivery. kOk: deliverable (to a mailbox, or on to other addresses).
enum class Class { kOk, kUnknown, kBadSrs, kDisabled, kFull, kLoop, kTempFail, kRefused };

struct Mailbox {
  std::string address;                // the user it belongs to ("user@domain"), for Delivered-To
  std::string path;                   // absolute Maildir path (mail_root + "/" + the user's)
  bool store = true;                  // false: the user forwards without keeping a copy
  std::int64_t quota = 0;             // bytes, 0 = none
  std::int64_t max_message_size = 0;  // the user's domain limit, 0 = none
  bool junk_folder = true;            // junk goes into the ".Junk" folder (else the inbox)
  Autoreply autoreply;
  // Lower-case addresses that led to this user (recipient, aliases, the user): for the
  // auto-reply rule "only if one of them is in To/Cc" (RFC 3834 2).
  std::set<std::string> known_as;
};

struct Expansion {
  std::optional<mail::Verdict> failure;     // set: no delivery, this is the answer
  Class why = Class::kOk;                   // with failure: its class
  bool db_error = false;                    // the failure is a lookup error (re-open the database)
  std::optional<Mailbox> mailbox;           // the one user reached (a copy unless !store)
  std::vector<std::string> local_targets;   // a new message, original sender
  std::vector<std::string> remote_targets;  // a new message, sender rewritten (SRS)
  bool keep_sender = false;                 // an SRS return: no rewriting
  std::string srs_domain;                   // our domain for the SRS address
  std::vector<std::string> delivered_to;    // Delivered-To lines of the new messages
};

// The RCPT verdict. local=false: not one of our domains (nor postmaster@<hostname>), so
// relay rules decide. Otherwise `why` is the class of the answer expand() would give now
// (kFull: the user it leads to has the local agent's "mailbox full" flag) and `verdict`
// its status and text when refused.
// For a domain of another host with a relay recipient list (we are its backup MX:
// mailctl relay-recipient), relay_list is set and `why` says whether the address is on
// it (kUnknown: refuse like an unknown local user); without a list the relay rules decide.
struct Recipient {
  bool local = false;
  bool relay_list = false;
  Class why = Class::kOk;
  mail::Verdict verdict;
};

enum class Transport { kLocal, kRemote };

// Subaddressing (recipient_delimiter, any of its characters): the base of `local`
// ("user" of "user+tag"), or "" if it has none.
std::string subaddress_base(const std::string& local, const std::string& delimiter);

struct Login {
  std::string address;  // "user@domain", lower-case
  std::string maildir;  // absolute: mail_root + "/" + the user's Maildir
};

class AddressBook {
 public:
  AddressBook(Lookup& db, Rules rules) : db_(db), rules_(std::move(rules)) {}

  // The local agent: what to do with a message for `recipient`. `loop_marks`: the
  // lower-cased Delivered-To values of the message; a recipient (or the user it leads
  // to) found there is a mail loop (5.4.6), as in Postfix's local(8). `now` (UNIX time)
  // checks SRS ages.
  Expansion expand(const std::string& recipient, const std::set<std::string>& loop_marks, std::int64_t now);

  // smtpd at RCPT: what expand() would answer (without Delivered-To marks), and a full
  // mailbox (`full(user)`, the local agent's flag) as kFull.
  Recipient rcpt(const mail::Address& rcpt, std::int64_t now,
                 const std::function<bool(const std::string&)>& full = {});

  // The queue manager: our domains, and postmaster@<hostname>, go to the local agent;
  // everything else (address literals included) to the remote one. An error: cannot
  // tell now.
  Result<Transport> transport(const std::string& address);

  // Which account a login name means (smtpd AUTH, pop3d USER/AUTH): "user@domain"
  // (case-insensitive), or a bare local part when there is exactly one non-alias domain.
  // nullopt: no such user, an alias, a disabled user, a name that is no valid address, or
  // a Maildir path that is not valid_relative_maildir (all look the same to a client).
  Result<std::optional<Login>> login(std::string_view name);

  // mailctl: does the local address `key` lead somewhere (a user, an alias, a subaddress
  // of either, a domain alias's target that does, postmaster@/abuse@, and - if
  // `catchall_counts` - a catch-all)? Addresses of other domains count as existing.
  Result<bool> target_exists(const std::string& key, bool catchall_counts);
  // mailctl's loop check: where `key` leads in one step (alias targets, the forwards of a
  // user who keeps no copy, the same local part in an alias domain's target), lower-case.
  Result<std::vector<std::string>> next_hops(const std::string& key);

  // smtpd's sender check (smtpd_sender_login_check): may the authenticated user `user`
  // (the account's lower-case address) use `sender` as MAIL FROM? Its own address, an
  // alias (or a subaddress of one) whose targets include the user, and the same local
  // part in an alias domain of either. An error: cannot tell now.
  Result<bool> sends_as(const std::string& user, const mail::Address& sender);

  Result<bool> is_local_domain(const std::string& domain);
  const Rules& rules() const { return rules_; }

 private:
  struct Walk;
  Expansion expand_now(const std::string& recipient, const std::set<std::string>& loop_marks,
                       std::int64_t now);
  Result<Transport> transport_now(const std::string& address);
  // A domain record, read once per question: RCPT's transport check, the walk and the
  // mailbox's size limit ask for the same domain. Each public entry starts afresh, so an
  // answer never rests on a record read for an earlier question.
  Result<std::optional<Domain>> domain(const std::string& name);
  void walk(const std::string& text, int depth, bool allow_default, Walk& w, bool top = false);
  void fail_db(Walk& w, const Status& st, const std::string& key);
  bool postmaster_default(const std::string& key, const std::string& domain, int depth, Walk& w);
  std::optional<std::string> postmaster_target(const std::string& key, Walk& w);
  bool is_hostname_postmaster(const std::string& key) const;
  Result<std::optional<std::vector<std::string>>> alias_targets(const std::string& key);
  void relay_rcpt(const std::string& key, Recipient& out);

  Lookup& db_;
  Rules rules_;
  std::vector<std::pair<std::string, std::optional<Domain>>> domains_read_;
};

}  // namespace common::accounts
