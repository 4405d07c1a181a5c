// The address book (see address_book.hpp): expansion, the RCPT verdict and the transport
// derived from it, logins, and mailctl's target checks, over a Lookup.
#include "common/accounts/address_book.hpp"

#include "common/accounts/accounts.hpp"
#include "common/log/log.hpp"
#include "common/mail/ascii.hpp"
#include "common/mail/srs.hpp"

namespace common::accounts {

namespace log = common::log;
using common::mail::lower;

struct AddressBook::Walk {
  std::int64_t now = 0;
  std::set<std::string> visited;  // lower-case keys
  std::vector<User> users;        // users reached (expansion stops at a user)
  std::vector<std::string> remote;
  std::vector<std::string> unknown;  // local targets that bounce on their own
  std::optional<mail::Verdict> failure;
  Class why = Class::kOk;
  bool db_error = false;
  bool revisited = false;    // an address came back: a loop, if nothing else remains
  bool keep_sender = false;  // an SRS return
  std::string top;           // the recipient, for log lines

  void fail(Class c, mail::Outcome o, std::string status, std::string text) {
    if (failure) return;
    failure = mail::Verdict{o, std::move(status), std::move(text)};
    why = c;
  }
  void permanent(Class c, std::string status, std::string text) {
    fail(c, mail::Outcome::kPermanent, std::move(status), std::move(text));
  }
};

namespace {

std::string domain_of(const std::string& key) { return key.substr(key.rfind('@') + 1); }

void add_unique(std::vector<std::string>& v, const std::string& s) {
  for (const auto& x : v)
    if (x == s) return;
  v.push_back(s);
}

}  // namespace

std::string subaddress_base(const std::string& local, const std::string& delimiter) {
  std::size_t cut = delimiter.empty() ? std::string::npos : local.find_first_of(delimiter);
  if (cut == std::string::npos || cut == 0) return "";
  return local.substr(0, cut);
}

Result<std::optional<Domain>> AddressBook::domain(const std::string& name) {
  for (const auto& [n, d] : domains_read_)
    if (n == name) return d;
  auto d = db_.domain(name);
  if (d) domains_read_.emplace_back(name, *d);
  return d;
}

Result<bool> AddressBook::is_local_domain(const std::string& domain) {
  auto d = db_.domain(lower(domain));
  if (!d) return d.status();
  return d->has_value();
}

bool AddressBook::is_hostname_postmaster(const std::string& key) const {
  return !rules_.hostname.empty() && key == "postmaster@" + lower(rules_.hostname);
}

void AddressBook::fail_db(Walk& w, const Status& st, const std::string& key) {
  log::error("accounts database lookup of %s failed: %s", log::printable(key).c_str(), st.message().c_str());
  w.db_error = true;
  w.fail(Class::kTempFail, mail::Outcome::kTemporary, "4.3.0", "accounts database error");
}

// The address postmaster@ mail goes to when the domain has no such user or alias.
std::optional<std::string> AddressBook::postmaster_target(const std::string& key, Walk& w) {
  if (!rules_.postmaster_address.empty()) {
    if (lower(rules_.postmaster_address) != key) return rules_.postmaster_address;
  } else if (!rules_.hostname.empty()) {
    std::string candidate = "postmaster@" + lower(rules_.hostname);
    if (candidate != key) {
      auto local = is_local_domain(rules_.hostname);
      if (!local) {
        fail_db(w, local.status(), candidate);
        return std::nullopt;
      }
      if (*local) return candidate;
    }
  }
  log::warn("no mailbox for %s: create the user or an alias, or set postmaster_address (RFC 5321 4.5.1)",
            log::printable(key).c_str());
  return std::nullopt;
}

// RFC 5321 4.5.1 (postmaster) and RFC 2142 (abuse) exist for every domain: abuse goes to
// the domain's postmaster, postmaster to postmaster_address. Returns false if `key` is
// neither.
bool AddressBook::postmaster_default(const std::string& key, const std::string& domain, int depth, Walk& w) {
  std::string local = key.substr(0, key.size() - domain.size() - 1);
  if (local == "abuse") {
    walk("postmaster@" + domain, depth + 1, true, w);
    return true;
  }
  if (local != "postmaster") return false;
  auto target = postmaster_target(key, w);
  if (w.failure) return true;
  if (target)
    walk(*target, depth + 1, false, w);
  else
    w.permanent(Class::kUnknown, "5.1.1", "no such user");
  return true;
}

// `allow_default`: the catch-all and the postmaster default may apply (not for their own
// targets, so that a missing target cannot send mail round in circles). `top`: `text` is
// the recipient itself, or what a domain alias or subaddress made of it; such an address
// that does not exist is the recipient's 5.1.1, not a target that bounces on its own.
void AddressBook::walk(const std::string& text, int depth, bool allow_default, Walk& w, bool top) {
  if (w.failure) return;
  if (depth > kMaxDepth)
    return w.permanent(Class::kLoop, "5.4.6",
                       "alias nesting deeper than " + std::to_string(kMaxDepth) + " levels");
  auto addr = mail::parse_mailbox(text, true);
  if (!addr || addr->domain.empty()) {
    if (top) return w.permanent(Class::kRefused, "5.1.3", "bad recipient address syntax");
    log::error("alias or forward target '%s' (for %s) is not an address; skipped",
               log::printable(text).c_str(), log::printable(w.top).c_str());
    return;
  }
  std::string key = addr->key();
  if (!w.visited.insert(key).second) {
    w.revisited = true;
    return;
  }
  if (w.visited.size() > kMaxAddresses)
    return w.permanent(Class::kRefused, "5.5.3",
                       "alias expansion larger than " + std::to_string(kMaxAddresses) + " addresses");
  auto alias = db_.alias(key);
  if (!alias) return fail_db(w, alias.status(), key);
  if (*alias) {
    for (const auto& t : (*alias)->targets) walk(t, depth + 1, true, w);
    return;
  }
  auto user = db_.user(key);
  if (!user) return fail_db(w, user.status(), key);
  if (*user) {
    w.users.push_back(std::move(**user));
    if (w.users.back().address.empty()) w.users.back().address = key;
    return;
  }
  const std::string& domain = addr->domain;
  auto dom = addr->literal ? Result<std::optional<Domain>>(std::nullopt) : this->domain(domain);
  if (!dom) return fail_db(w, dom.status(), domain);
  if (!*dom) {
    // postmaster@<hostname> exists even when the hostname is no domain of ours (RFC 5321
    // 4.5.1; the session maps a bare <Postmaster> to it).
    if (allow_default && is_hostname_postmaster(key) && postmaster_default(key, domain, depth, w)) return;
    if (top) return w.permanent(Class::kUnknown, "5.1.1", "no such user");
    add_unique(w.remote, addr->str());
    return;
  }
  std::string local = key.substr(0, key.size() - domain.size() - 1);
  // SRS: a bounce (or reply) to an address we rewrote when forwarding.
  if (mail::srs::is_srs(addr->local)) {
    if (rules_.srs_secret.empty())
      return w.fail(Class::kTempFail, mail::Outcome::kTemporary, "4.3.0", "SRS secret not available");
    auto back = mail::srs::reverse(rules_.srs_secret, addr->local, w.now);
    if (!back)
      return w.permanent(Class::kBadSrs, "5.1.1", "invalid or expired SRS address (" + back.message() + ")");
    w.keep_sender = true;
    walk(*back, depth + 1, true, w);
    return;
  }
  if (!(*dom)->alias_of.empty()) {
    walk(local + "@" + (*dom)->alias_of, depth + 1, allow_default, w, top);
    return;
  }
  // Subaddressing: user+tag -> user, when user (or that alias) exists.
  if (std::string base_local = subaddress_base(local, rules_.recipient_delimiter); !base_local.empty()) {
    std::string base = base_local + "@" + domain;
    auto bu = db_.user(base);
    if (!bu) return fail_db(w, bu.status(), base);
    auto ba = *bu ? Result<std::optional<Alias>>(std::nullopt) : db_.alias(base);
    if (!ba) return fail_db(w, ba.status(), base);
    if (*bu || *ba) {
      walk(base, depth + 1, allow_default, w, top);
      return;
    }
  }
  if (allow_default && postmaster_default(key, domain, depth, w)) return;
  if (allow_default && !(*dom)->catchall.empty()) {
    walk((*dom)->catchall, depth + 1, false, w);
    return;
  }
  if (top) {
    w.permanent(Class::kUnknown, "5.1.1", "no such user");
  } else if (!allow_default) {
    log::error("%s: the catch-all or postmaster address %s does not exist", log::printable(w.top).c_str(),
               log::printable(key).c_str());
    w.permanent(Class::kUnknown, "5.1.1", "catch-all or postmaster target " + key + " does not exist");
  } else {
    add_unique(w.unknown, addr->str());  // bounces on its own, naming itself
  }
}

Expansion AddressBook::expand(const std::string& recipient, const std::set<std::string>& loop_marks,
                              std::int64_t now) {
  domains_read_.clear();
  return expand_now(recipient, loop_marks, now);
}

Expansion AddressBook::expand_now(const std::string& recipient, const std::set<std::string>& loop_marks,
                                  std::int64_t now) {
  Expansion r;
  Walk e;
  e.now = now;
  e.top = recipient;
  auto failed = [&r](const Walk& w) {
    r.failure = w.failure;
    r.why = w.why;
    r.db_error = w.db_error;
    return r;
  };
  auto refuse = [&r](Class c, std::string status, std::string text) {
    r.failure = mail::Verdict{mail::Outcome::kPermanent, std::move(status), std::move(text)};
    r.why = c;
    return r;
  };
  walk(recipient, 0, true, e, true);
  if (e.failure) return failed(e);
  auto top = mail::parse_mailbox(recipient, true);
  std::string top_key = top ? top->key() : lower(recipient);
  if (loop_marks.count(top_key)) return refuse(Class::kLoop, "5.4.6", "mail forwarding loop for " + top_key);
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
      return e.revisited ? refuse(Class::kLoop, "5.4.6", "alias loop: " + top_key + " leads back to itself")
                         : refuse(Class::kUnknown, "5.1.1", "no such user");
    return r;
  }

  User u = std::move(e.users.front());
  std::string ukey = lower(u.address);
  if (u.disabled) return refuse(Class::kDisabled, "5.2.1", "mailbox disabled");
  if (loop_marks.count(ukey)) return refuse(Class::kLoop, "5.4.6", "mail forwarding loop for " + ukey);
  if (!valid_relative_maildir(u.maildir)) {
    log::error("user %s has a bad maildir path '%s' in the accounts database", log::printable(ukey).c_str(),
               log::printable(u.maildir).c_str());
    r.failure = mail::Verdict{mail::Outcome::kTemporary, "4.3.0", "mailbox misconfigured"};
    r.why = Class::kTempFail;
    return r;
  }
  bool keep = true;
  if (!u.forward.empty()) {
    // Redirection: the targets are expanded like an alias's (sharing the visited set, so
    // a forward back to the user or to an alias holding the user stops there).
    if (ukey != top_key) r.delivered_to.push_back(ukey);
    Walk f;
    f.now = now;
    f.top = ukey;
    f.visited = e.visited;
    for (const auto& t : u.forward) walk(t, 1, true, f);
    if (f.failure) return failed(f);
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
  mb.address = std::move(u.address);
  mb.path = rules_.mail_root + "/" + u.maildir;
  mb.store = keep;
  mb.quota = u.quota;
  mb.junk_folder = u.junk_folder;
  mb.autoreply = std::move(u.autoreply);
  mb.known_as = std::move(e.visited);  // every address that led here
  mb.known_as.insert(ukey);
  auto d = domain(domain_of(ukey));
  if (!d) {
    Walk dummy;
    fail_db(dummy, d.status(), domain_of(ukey));
    return failed(dummy);
  }
  if (*d) mb.max_message_size = (*d)->max_message_size;
  r.mailbox = std::move(mb);
  return r;
}

Recipient AddressBook::rcpt(const mail::Address& a, std::int64_t now,
                            const std::function<bool(const std::string&)>& full) {
  Recipient out;
  domains_read_.clear();
  auto t = transport_now(a.key());
  if (!t) {
    log::error("accounts database lookup of %s failed: %s", log::printable(a.domain).c_str(),
               t.message().c_str());
    out.local = true;
    out.why = Class::kTempFail;
    out.verdict = mail::Verdict{mail::Outcome::kTemporary, "4.3.0", "accounts database error"};
    return out;
  }
  if (*t == Transport::kRemote) {
    if (!a.literal) relay_rcpt(a.key(), out);
    return out;
  }
  out.local = true;
  // The same expansion the local agent will make, so that what RCPT accepts is what
  // delivery delivers (or defers), and what delivery would refuse is refused here
  // instead of bounced later to a sender that may be forged.
  Expansion e = expand_now(a.str(), {}, now);
  if (e.failure) {
    out.why = e.why;
    out.verdict = *e.failure;
    return out;
  }
  if (full && e.mailbox && e.mailbox->store && full(lower(e.mailbox->address))) {
    out.why = Class::kFull;
    out.verdict = mail::Verdict{mail::Outcome::kTemporary, "4.2.2", "mailbox full"};
  }
  return out;
}

// A domain we are backup MX of may have a recipient list: then only its addresses, and
// their subaddresses (the primary's recipient_delimiter is taken to be ours), are known,
// and RCPT refuses the rest as the primary would instead of accepting mail that could
// only bounce, often to a forged sender (backscatter).
void AddressBook::relay_rcpt(const std::string& key, Recipient& out) {
  auto at = key.rfind('@');
  if (at == std::string::npos) return;
  std::string domain = key.substr(at + 1), local = key.substr(0, at);
  auto temp_fail = [&](const Status& st) {
    log::error("accounts database lookup of %s failed: %s", log::printable(key).c_str(),
               st.message().c_str());
    out.why = Class::kTempFail;
    out.verdict = mail::Verdict{mail::Outcome::kTemporary, "4.3.0", "accounts database error"};
  };
  auto listed = db_.relay_list(domain);
  if (!listed) return temp_fail(listed.status());
  if (!*listed) return;
  out.relay_list = true;
  std::vector<std::string> keys = {key};
  if (std::string base = subaddress_base(local, rules_.recipient_delimiter); !base.empty())
    keys.push_back(base + "@" + domain);
  for (const auto& k : keys) {
    auto hit = db_.relay_recipient(k);
    if (!hit) return temp_fail(hit.status());
    if (*hit) return;
  }
  out.why = Class::kUnknown;
  out.verdict = mail::Verdict{mail::Outcome::kPermanent, "5.1.1", "not a recipient of the backed-up domain"};
}

Result<Transport> AddressBook::transport(const std::string& address) {
  domains_read_.clear();
  return transport_now(address);
}

Result<Transport> AddressBook::transport_now(const std::string& address) {
  auto at = address.rfind('@');
  if (at == std::string::npos) return Status::error("address without domain");
  std::string domain = lower(address.substr(at + 1));
  if (!domain.empty() && domain.front() == '[') return Transport::kRemote;  // an address literal
  auto d = this->domain(domain);
  if (!d) return d.status();
  if (*d || is_hostname_postmaster(lower(address))) return Transport::kLocal;
  return Transport::kRemote;
}

Result<std::optional<Login>> AddressBook::login(std::string_view name) {
  std::string address = lower(name);
  if (address.find('@') == std::string::npos) {
    // A bare local part names a user of the only real (non-alias) domain, if there is
    // exactly one ("bob" for bob@yourcompany.com).
    auto domains = db_.domains();
    if (!domains) return domains.status();
    std::vector<std::string> real;
    for (const auto& d : *domains)
      if (d.alias_of.empty()) real.push_back(d.name);
    if (real.size() != 1) return std::optional<Login>();
    address += "@" + real[0];
  }
  if (!split_user_address(address)) return std::optional<Login>();
  auto user = db_.user(address);
  if (!user) return user.status();
  if (!*user || (*user)->disabled || !valid_relative_maildir((*user)->maildir)) return std::optional<Login>();
  return std::optional<Login>(Login{address, rules_.mail_root + "/" + (*user)->maildir});
}

Result<bool> AddressBook::target_exists(const std::string& key, bool catchall_counts) {
  std::string k = lower(key);
  for (int hop = 0; hop <= kMaxDepth; ++hop) {
    auto a = db_.alias(k);
    if (!a) return a.status();
    auto u = db_.user(k);
    if (!u) return u.status();
    if (*a || *u) return true;
    auto at = k.rfind('@');
    if (at == std::string::npos) return false;
    std::string local = k.substr(0, at), domain = k.substr(at + 1);
    auto d = db_.domain(domain);
    if (!d) return d.status();
    if (!*d) return true;  // not ours: a remote address (or postmaster@<hostname>)
    if (!(*d)->alias_of.empty()) {
      k = local + "@" + (*d)->alias_of;
      continue;
    }
    if (std::string base = subaddress_base(local, rules_.recipient_delimiter); !base.empty()) {
      auto bu = db_.user(base + "@" + domain);
      if (!bu) return bu.status();
      auto ba = db_.alias(base + "@" + domain);
      if (!ba) return ba.status();
      if (*bu || *ba) return true;
    }
    return local == "postmaster" || local == "abuse" || (catchall_counts && !(*d)->catchall.empty());
  }
  return false;
}

Result<std::vector<std::string>> AddressBook::next_hops(const std::string& key) {
  std::vector<std::string> out;
  auto a = db_.alias(key);
  if (!a) return a.status();
  if (*a) {
    for (const auto& t : (*a)->targets) out.push_back(lower(t));
    return out;
  }
  auto u = db_.user(key);
  if (!u) return u.status();
  if (*u) {
    // A user that keeps a copy is where mail ends, whatever it forwards.
    if (!(*u)->keep_copy)
      for (const auto& t : (*u)->forward) out.push_back(lower(t));
    return out;
  }
  auto at = key.rfind('@');
  if (at == std::string::npos) return out;
  auto d = db_.domain(key.substr(at + 1));
  if (!d) return d.status();
  if (*d && !(*d)->alias_of.empty()) out.push_back(key.substr(0, at) + "@" + (*d)->alias_of);
  return out;
}

// For the sender check: the targets of the alias `key`, else of the alias its subaddress
// base names; nullopt when a user comes first or there is neither.
Result<std::optional<std::vector<std::string>>> AddressBook::alias_targets(const std::string& key) {
  using Targets = std::optional<std::vector<std::string>>;
  for (int pass = 0; pass < 2; ++pass) {
    std::string k = key;
    if (pass == 1) {
      auto at = key.rfind('@');
      if (at == std::string::npos) break;
      std::string base = subaddress_base(key.substr(0, at), rules_.recipient_delimiter);
      if (base.empty()) break;
      k = base + key.substr(at);
    }
    auto u = db_.user(k);
    if (!u) return u.status();
    if (*u) return Targets();
    auto a = db_.alias(k);
    if (!a) return a.status();
    if (*a) return Targets(std::move((*a)->targets));
  }
  return Targets();
}

Result<bool> AddressBook::sends_as(const std::string& user, const mail::Address& sender) {
  std::string key = sender.key();
  if (key == user) return true;
  if (sender.literal) return false;
  std::vector<std::string> candidates = {key};
  auto d = db_.domain(sender.domain);
  if (!d) return d.status();
  if (*d && !(*d)->alias_of.empty()) {
    // The same local part in the domain this one is an alias of.
    std::string mapped = key.substr(0, key.size() - sender.domain.size() - 1) + "@" + (*d)->alias_of;
    if (mapped == user) return true;
    candidates.push_back(std::move(mapped));
  }
  for (const auto& k : candidates) {
    auto targets = alias_targets(k);
    if (!targets) return targets.status();
    if (!*targets) continue;
    for (const auto& t : **targets)
      if (lower(t) == user) return true;
  }
  return false;
}

}  // namespace common::accounts
