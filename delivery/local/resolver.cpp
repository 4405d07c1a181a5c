// Implementation of recipient resolution (see resolver.hpp).
#include "delivery/local/resolver.hpp"

#include "common/log/log.hpp"
#include "common/mail/address.hpp"
#include "common/mail/ascii.hpp"
#include "common/mail/srs.hpp"
#include "delivery/local/maildir.hpp"
#include "delivery/verdict.hpp"

namespace delivery::local {

namespace log = common::log;
using common::accounts::User;
using common::mail::lower;

struct Resolver::Expansion {
  std::int64_t now = 0;
  std::set<std::string> visited;  // lower-case keys
  std::vector<User> users;        // users reached (expansion stops at a user)
  std::vector<std::string> remote;
  std::vector<std::string> unknown;  // local targets that bounce on their own
  std::optional<common::mail::Verdict> failure;
  bool revisited = false;    // an address came back: a loop, if nothing else remains
  bool keep_sender = false;  // an SRS return
  std::string top;           // the recipient, for log lines
};

namespace {

std::string domain_of(const std::string& key) { return key.substr(key.rfind('@') + 1); }

void add_unique(std::vector<std::string>& v, const std::string& s) {
  for (const auto& x : v)
    if (x == s) return;
  v.push_back(s);
}

}  // namespace

Resolver::Resolver(ResolverConfig cfg) : cfg_(std::move(cfg)) {}

Resolver::Resolver(std::string accounts_path, std::string mail_root) {
  cfg_.accounts_path = std::move(accounts_path);
  cfg_.mail_root = std::move(mail_root);
}

common::accounts::Accounts* Resolver::accounts(std::string* why) {
  if (!accounts_) {
    auto a = common::accounts::Accounts::open(cfg_.accounts_path, false);
    if (!a) {
      *why = a.message();
      return nullptr;
    }
    accounts_ = std::move(*a);
  }
  return accounts_.get();
}

common::Result<bool> Resolver::is_local_domain(const std::string& domain) {
  std::string why;
  auto* db = accounts(&why);
  if (!db) return common::Status::error("accounts database: " + why);
  auto d = db->domain(lower(domain));
  if (!d) {
    accounts_.reset();
    return d.status();
  }
  return d->has_value();
}

common::Result<std::optional<User>> Resolver::user(const std::string& address) {
  std::string why;
  auto* db = accounts(&why);
  if (!db) return common::Status::error("accounts database: " + why);
  auto u = db->user(lower(address));
  if (!u) accounts_.reset();
  return u;
}

void Resolver::fail_db(Expansion& e, const common::Status& st, const std::string& key) {
  log::error("accounts database lookup of %s failed: %s", log::printable(key).c_str(), st.message().c_str());
  accounts_.reset();  // re-open next time: the file may have been replaced
  if (!e.failure) e.failure = temporary("4.3.0", "accounts database error");
}

// The address postmaster@ mail goes to when the domain has no such user or alias.
std::optional<std::string> Resolver::postmaster_target(const std::string& key, Expansion& e) {
  if (!cfg_.postmaster_address.empty()) {
    if (lower(cfg_.postmaster_address) != key) return cfg_.postmaster_address;
  } else if (!cfg_.hostname.empty()) {
    std::string candidate = "postmaster@" + lower(cfg_.hostname);
    if (candidate != key) {
      auto local = is_local_domain(cfg_.hostname);
      if (!local) {
        fail_db(e, local.status(), candidate);
        return std::nullopt;
      }
      if (*local) return candidate;
    }
  }
  log::warn("no mailbox for %s: create the user or an alias, or set postmaster_address (RFC 5321 4.5.1)",
            log::printable(key).c_str());
  return std::nullopt;
}

// `allow_default`: the catch-all and the postmaster default may apply (not for their own
// targets, so that a missing target cannot send mail round in circles).
void Resolver::expand(const std::string& text, int depth, bool allow_default, Expansion& e) {
  if (e.failure) return;
  if (depth > kMaxDepth) {
    e.failure = permanent("5.4.6", "alias nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    return;
  }
  auto addr = common::mail::parse_mailbox(text, true);
  if (!addr || addr->domain.empty()) {
    if (depth == 0) {
      e.failure = permanent("5.1.3", "bad recipient address syntax");
    } else {
      log::error("alias or forward target '%s' (for %s) is not an address; skipped",
                 log::printable(text).c_str(), log::printable(e.top).c_str());
    }
    return;
  }
  std::string key = addr->key();
  if (!e.visited.insert(key).second) {
    e.revisited = true;
    return;
  }
  if (e.visited.size() > kMaxAddresses) {
    e.failure =
        permanent("5.5.3", "alias expansion larger than " + std::to_string(kMaxAddresses) + " addresses");
    return;
  }
  std::string why;
  auto* db = accounts(&why);
  if (!db) {
    log::error("cannot open accounts database: %s", why.c_str());
    e.failure = temporary("4.3.0", "accounts database unavailable");
    return;
  }
  auto alias = db->alias(key);
  if (!alias) return fail_db(e, alias.status(), key);
  if (*alias) {
    for (const auto& t : (*alias)->targets) expand(t, depth + 1, true, e);
    return;
  }
  auto user = db->user(key);
  if (!user) return fail_db(e, user.status(), key);
  if (*user) {
    e.users.push_back(std::move(**user));
    if (e.users.back().address.empty()) e.users.back().address = key;
    return;
  }
  const std::string& domain = addr->domain;
  auto dom = addr->literal ? common::Result<std::optional<common::accounts::Domain>>(std::nullopt)
                           : db->domain(domain);
  if (!dom) return fail_db(e, dom.status(), domain);
  if (!*dom) {
    if (depth == 0)
      e.failure = permanent("5.1.1", "no such user");
    else
      add_unique(e.remote, addr->str());
    return;
  }
  std::string local = key.substr(0, key.size() - domain.size() - 1);
  // SRS: a bounce (or reply) to an address we rewrote when forwarding.
  if (common::mail::srs::is_srs(addr->local)) {
    if (cfg_.srs_secret.empty()) {
      e.failure = temporary("4.3.0", "SRS secret not available");
      return;
    }
    auto back = common::mail::srs::reverse(cfg_.srs_secret, addr->local, e.now);
    if (!back) {
      e.failure = permanent("5.1.1", "invalid or expired SRS address (" + back.message() + ")");
      return;
    }
    e.keep_sender = true;
    expand(*back, depth + 1, true, e);
    return;
  }
  if (!(*dom)->alias_of.empty()) {
    expand(local + "@" + (*dom)->alias_of, depth + 1, allow_default, e);
    return;
  }
  // Subaddressing: user+tag -> user, when user (or that alias) exists.
  std::size_t cut =
      cfg_.recipient_delimiter.empty() ? std::string::npos : local.find_first_of(cfg_.recipient_delimiter);
  if (cut != std::string::npos && cut > 0) {
    std::string base = local.substr(0, cut) + "@" + domain;
    auto bu = db->user(base);
    if (!bu) return fail_db(e, bu.status(), base);
    auto ba = *bu ? common::Result<std::optional<common::accounts::Alias>>(std::nullopt) : db->alias(base);
    if (!ba) return fail_db(e, ba.status(), base);
    if (*bu || *ba) {
      expand(base, depth + 1, allow_default, e);
      return;
    }
  }
  if (allow_default && (local == "postmaster" || local == "abuse")) {
    // RFC 5321 4.5.1 (postmaster) and RFC 2142 (abuse) exist for every domain: abuse goes
    // to the domain's postmaster, postmaster to postmaster_address.
    if (local == "abuse") {
      expand("postmaster@" + domain, depth + 1, true, e);
      return;
    }
    auto target = postmaster_target(key, e);
    if (e.failure) return;
    if (target) {
      expand(*target, depth + 1, false, e);
      return;
    }
    e.failure = permanent("5.1.1", "no such user");
    return;
  }
  if (allow_default && !(*dom)->catchall.empty()) {
    expand((*dom)->catchall, depth + 1, false, e);
    return;
  }
  if (depth == 0) {
    e.failure = permanent("5.1.1", "no such user");
  } else if (!allow_default) {
    log::error("%s: the catch-all or postmaster address %s does not exist", log::printable(e.top).c_str(),
               log::printable(key).c_str());
    e.failure = permanent("5.1.1", "catch-all or postmaster target " + key + " does not exist");
  } else {
    add_unique(e.unknown, addr->str());  // bounces on its own, naming itself
  }
}

Resolution Resolver::resolve(const std::string& recipient, const std::set<std::string>& loop_marks,
                             std::int64_t now) {
  Resolution r;
  Expansion e;
  e.now = now;
  e.top = recipient;
  // The queue manager validated the address when the message was queued; parse again for
  // the lookup key. RFC 5321 2.4 leaves the meaning of a local part to its host; ours
  // are lower-case, so the key folds case.
  expand(recipient, 0, true, e);
  if (e.failure) {
    r.failure = e.failure;
    return r;
  }
  auto top = common::mail::parse_mailbox(recipient, true);
  std::string top_key = top ? top->key() : lower(recipient);
  if (loop_marks.count(top_key)) {
    r.failure = permanent("5.4.6", "mail forwarding loop for " + top_key);
    return r;
  }
  r.srs_domain = domain_of(top_key);
  r.keep_sender = e.keep_sender;
  r.delivered_to.push_back(top_key);
  r.remote_targets = e.remote;
  r.local_targets = e.unknown;

  if (e.users.size() >= 2) {
    // A fan-out: each user gets the message in its own queue entry.
    for (const auto& u : e.users) add_unique(r.local_targets, lower(u.address));
    return r;
  }
  if (e.users.empty()) {
    if (r.remote_targets.empty() && r.local_targets.empty())
      r.failure = e.revisited ? permanent("5.4.6", "alias loop: " + top_key + " leads back to itself")
                              : permanent("5.1.1", "no such user");
    return r;
  }

  User u = std::move(e.users.front());
  std::string ukey = lower(u.address);
  if (u.disabled) {
    r.failure = permanent("5.2.1", "mailbox disabled");
    return r;
  }
  if (loop_marks.count(ukey)) {
    r.failure = permanent("5.4.6", "mail forwarding loop for " + ukey);
    return r;
  }
  if (!valid_relative_maildir(u.maildir)) {
    log::error("user %s has a bad maildir path '%s' in the accounts database", log::printable(ukey).c_str(),
               log::printable(u.maildir).c_str());
    r.failure = temporary("4.3.0", "mailbox misconfigured");
    return r;
  }
  std::set<std::string> known = e.visited;  // every address that led here
  bool keep = true;
  if (!u.forward.empty()) {
    // Redirection: the targets are expanded like an alias's (sharing the visited set, so
    // a forward back to the user or to an alias holding the user stops there).
    if (ukey != top_key) r.delivered_to.push_back(ukey);
    Expansion f;
    f.now = now;
    f.top = ukey;
    f.visited = e.visited;
    for (const auto& t : u.forward) expand(t, 1, true, f);
    if (f.failure) {
      r.failure = f.failure;
      return r;
    }
    for (const auto& x : f.users) add_unique(r.local_targets, lower(x.address));
    for (const auto& x : f.unknown) add_unique(r.local_targets, x);
    for (const auto& x : f.remote) add_unique(r.remote_targets, x);
    if (f.keep_sender) r.keep_sender = true;
    bool forwarded = !f.users.empty() || !f.unknown.empty() || !f.remote.empty();
    // A forward that leads nowhere (only back to the user) keeps the mail here.
    keep = u.keep_copy || !forwarded;
  }
  // The mailbox, also when it keeps no copy: an auto-reply still goes out (a user away
  // who forwards their mail).
  Mailbox mb;
  mb.address = u.address;
  mb.path = cfg_.mail_root + "/" + u.maildir;
  mb.store = keep;
  mb.quota = u.quota;
  mb.autoreply = u.autoreply;
  mb.known_as = std::move(known);
  mb.known_as.insert(ukey);
  std::string why;
  if (auto* db = accounts(&why)) {
    auto d = db->domain(domain_of(ukey));
    if (!d) {
      Expansion dummy;
      fail_db(dummy, d.status(), domain_of(ukey));
      r.failure = dummy.failure;
      return r;
    }
    if (*d) mb.max_message_size = (*d)->max_message_size;
  }
  r.mailbox = std::move(mb);
  return r;
}

}  // namespace delivery::local
