// Recipient resolution for the local agent: envelope recipient -> what to do with the
// message for it, from accounts.mdb. Expansion, in this order for each address:
//   alias record (its targets, recursively) -> user (stop) -> not a local domain (a
//   remote target; at the top: unknown) -> SRS0/SRS1 local part (reversed, sent back to
//   the original sender) -> domain alias (same local part in the target domain) ->
//   subaddress "user+tag" (recipient_delimiter) -> postmaster@/abuse@ default ->
//   the domain's catch-all -> unknown (5.1.1 at the top; a target elsewhere is sent on
//   in a new message so that it bounces on its own).
// An address reached twice is expanded once; if that leaves nothing, it was a loop
// (5.4.6). At most kMaxDepth levels and kMaxAddresses addresses.
// The result has at most one mailbox written directly (the one user the recipient leads
// to, unless that user forwards without keeping a copy) and the addresses to send a new
// message to: remote ones (forwarding; the sender then rewritten with SRS) and local
// ones resolved again on their own (when the recipient fans out to several users, or a
// user forwards to other local users), so that each final recipient gets its own verdict
// in the queue and a failure for one never repeats the delivery to another.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/accounts/accounts.hpp"
#include "common/mail/outcome.hpp"
#include "common/result.hpp"

namespace delivery::local {

inline constexpr int kMaxDepth = 10;
inline constexpr std::size_t kMaxAddresses = 1000;

struct ResolverConfig {
  std::string accounts_path;
  std::string mail_root;
  std::string recipient_delimiter = "+";
  std::string postmaster_address;  // "" -> postmaster@hostname when that is a local domain
  std::string hostname;
  std::string srs_secret;  // "" -> SRS addresses cannot be checked (temporary failure)
};

struct Mailbox {
  std::string address;                // the user it belongs to ("user@domain"), for Delivered-To
  std::string path;                   // absolute Maildir path
  bool store = true;                  // false: the user forwards without keeping a copy
  std::int64_t quota = 0;             // bytes, 0 = none
  std::int64_t max_message_size = 0;  // the user's domain limit, 0 = none
  common::accounts::Autoreply autoreply;
  // Lower-case addresses that led to this user (recipient, aliases, the user): for the
  // auto-reply rule "only if one of them is in To/Cc" (RFC 3834 2).
  std::set<std::string> known_as;
};

struct Resolution {
  std::optional<common::mail::Verdict> failure;  // set: no delivery, this is the answer
  std::optional<Mailbox> mailbox;                // the one user reached (a copy unless !store)
  std::vector<std::string> local_targets;        // a new message, original sender
  std::vector<std::string> remote_targets;       // a new message, sender rewritten (SRS)
  bool keep_sender = false;                      // an SRS return: no rewriting
  std::string srs_domain;                        // our domain for the SRS address
  std::vector<std::string> delivered_to;         // Delivered-To lines of the new messages
};

class Resolver {
 public:
  // The accounts database is opened read-only on first use and re-tried after a failure,
  // so the agent starts (and answers "try later") before mailctl init has run.
  explicit Resolver(ResolverConfig cfg);
  Resolver(std::string accounts_path, std::string mail_root);

  // `loop_marks`: the lower-cased Delivered-To values of the message. A recipient (or
  // the user it leads to) found there is a mail loop (5.4.6), as in Postfix's local(8).
  Resolution resolve(const std::string& recipient, const std::set<std::string>& loop_marks, std::int64_t now);

  // Is `domain` one of ours (a domain record exists)? For SRS: mail from our own
  // domains keeps its sender.
  common::Result<bool> is_local_domain(const std::string& domain);
  // The user record of `address` (for the over-quota flag re-check).
  common::Result<std::optional<common::accounts::User>> user(const std::string& address);

  const ResolverConfig& config() const { return cfg_; }

 private:
  struct Expansion;
  common::accounts::Accounts* accounts(std::string* why);
  void expand(const std::string& text, int depth, bool allow_default, Expansion& e);
  void fail_db(Expansion& e, const common::Status& st, const std::string& key);
  std::optional<std::string> postmaster_target(const std::string& key, Expansion& e);

  ResolverConfig cfg_;
  std::unique_ptr<common::accounts::Accounts> accounts_;
};

}  // namespace delivery::local
