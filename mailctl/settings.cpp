// `mailctl domain set|show`, `user set` and `user autoreply`: the per-domain and per-user
// settings in accounts.mdb (catch-all, quotas, size and recipient limits, forwarding,
// auto-reply). Every value is checked before anything is written; one command, one
// record write.
#include <sysexits.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/io/fdio.hpp"
#include "common/mail/address.hpp"
#include "common/maildir/quota_flags.hpp"
#include "mailctl/accounts_edit.hpp"
#include "mailctl/as_owner.hpp"
#include "mailctl/commands.hpp"
#include "mailctl/values.hpp"

namespace mailctl {
namespace {

using common::accounts::Store;

// A forward or catch-all target: valid, not `self`, and existing if it is local.
common::Result<std::vector<std::string>> check_targets(Context& ctx, Store& db, const std::string& value,
                                                       const std::string& self, bool* refused) {
  auto list = parse_address_list(value);
  if (!list) {
    *refused = true;
    return list.status();
  }
  for (const auto& t : *list) {
    std::string key = lower(t);
    if (key == self) {
      *refused = true;
      return common::Status::error("cannot point " + self + " at itself");
    }
    auto d = db.domain(key.substr(key.rfind('@') + 1));
    if (!d) return d.status();
    if (!*d) continue;  // another domain's address
    auto ok = local_target_exists(db, key, ctx.cfg.recipient_delimiter, false);
    if (!ok) return ok.status();
    if (!*ok) {
      *refused = true;
      return common::Status::error(t + " does not exist (add the user or alias first)");
    }
  }
  return list;
}

}  // namespace

int cmd_domain_set(Context& ctx, const std::string& arg, const std::vector<std::string>& args) {
  std::string name = domain_arg(arg);
  auto settings = parse_settings(args, {"catchall", "quota", "max-size", "max-recipients"});
  if (!settings) {
    complain(ctx, settings.message());
    return kExitRefused;
  }
  AccountsDb db;
  common::accounts::Domain d;
  if (int rc = load_domain(ctx, name, arg, &db, &d); rc != kExitOk) return rc;
  if (!d.alias_of.empty()) {
    complain(ctx,
             name + " is an alias of " + d.alias_of + "; its mail follows " + d.alias_of + "'s settings");
    return kExitRefused;
  }
  for (const auto& [key, value] : *settings) {
    if (key == "catchall") {
      bool refused = false;
      auto t = check_targets(ctx, *db, value, "", &refused);
      if (t && t->size() > 1) {
        refused = true;
        t = common::Status::error("a catch-all is one address");
      }
      if (!t) {
        complain(ctx, "catchall: " + t.message());
        return refused ? kExitRefused : EX_IOERR;
      }
      d.catchall = t->empty() ? "" : t->front();
    } else if (key == "quota" || key == "max-size") {
      auto n = parse_limit_size(value);
      if (!n) {
        complain(ctx, key + ": " + n.message());
        return kExitRefused;
      }
      (key == "quota" ? d.default_quota : d.max_message_size) = *n;
    } else {
      auto n = parse_limit_count(value, 100000);
      if (!n) {
        complain(ctx, key + ": " + n.message());
        return kExitRefused;
      }
      d.max_recipients = *n;
    }
  }
  if (int rc = check_io(ctx, db->put_domain(d)); rc != kExitOk) return rc;
  std::fprintf(ctx.out, "domain %s: catch-all %s, default quota %s, max size %s, max recipients %s\n",
               name.c_str(), d.catchall.empty() ? "none" : d.catchall.c_str(),
               format_size(d.default_quota).c_str(), format_size(d.max_message_size).c_str(),
               d.max_recipients ? std::to_string(d.max_recipients).c_str() : "none");
  return kExitOk;
}

int cmd_domain_show(Context& ctx, const std::string& arg) {
  std::string name = domain_arg(arg);
  AccountsDb db;
  if (int rc = open_accounts_db(ctx, &db); rc != kExitOk) return rc;
  auto have = db->domain(name);
  auto all = db->domains();
  auto users = db->users(name);
  auto aliases = db->aliases(name);
  if (!have || !all || !users || !aliases) {
    complain(ctx, !have    ? have.message()
                  : !all   ? all.message()
                  : !users ? users.message()
                           : aliases.message());
    return EX_IOERR;
  }
  if (!*have) {
    complain(ctx, "no such domain: " + arg);
    return kExitRefused;
  }
  const auto& d = **have;
  std::string alias_domains;
  for (const auto& o : *all)
    if (o.alias_of == name) alias_domains += (alias_domains.empty() ? "" : ", ") + o.name;
  auto line = [&](const char* k, const std::string& v) { std::fprintf(ctx.out, "%-15s %s\n", k, v.c_str()); };
  line("domain", name);
  if (!d.alias_of.empty()) line("alias of", d.alias_of);
  line("alias domains", alias_domains.empty() ? "none" : alias_domains);
  line("catch-all", d.catchall.empty() ? "none" : d.catchall);
  line("default quota", format_size(d.default_quota));
  line("max size", format_size(d.max_message_size));
  line("max recipients", d.max_recipients ? std::to_string(d.max_recipients) : "none");
  line("users", std::to_string(users->size()));
  line("aliases", std::to_string(aliases->size()));
  line("created", format_date(d.created));
  return kExitOk;
}

int cmd_user_set(Context& ctx, const std::string& arg, const std::vector<std::string>& args) {
  std::string address = address_arg(arg);
  auto settings = parse_settings(args, {"quota", "forward", "keep-copy", "disabled", "junk-folder"});
  if (!settings) {
    complain(ctx, settings.message());
    return kExitRefused;
  }
  AccountsDb db;
  common::accounts::User u;
  if (int rc = load_user(ctx, address, arg, &db, &u); rc != kExitOk) return rc;
  bool quota_changed = false;
  for (const auto& [key, value] : *settings) {
    if (key == "quota") {
      auto n = parse_limit_size(value);
      if (!n) {
        complain(ctx, "quota: " + n.message());
        return kExitRefused;
      }
      quota_changed = *n != u.quota;
      u.quota = *n;
    } else if (key == "forward") {
      bool refused = false;
      auto t = check_targets(ctx, *db, value, address, &refused);
      if (!t) {
        complain(ctx, "forward: " + t.message());
        return refused ? kExitRefused : EX_IOERR;
      }
      u.forward = *t;
    } else {
      auto b = parse_yes_no(value);
      if (!b) {
        complain(ctx, key + ": " + b.message());
        return kExitRefused;
      }
      (key == "keep-copy" ? u.keep_copy : key == "junk-folder" ? u.junk_folder : u.disabled) = *b;
    }
  }
  if (!u.keep_copy && !u.forward.empty()) {
    // Without a copy here, a forward that only leads back would lose the mail.
    if (int rc = refuse_loop(ctx, *db, address, u.forward, "; keep a copy or forward elsewhere");
        rc != kExitOk)
      return rc;
  }
  if (int rc = check_io(ctx, db->put_user(u)); rc != kExitOk) return rc;
  // A new quota is applied at the next delivery (which re-flags a full mailbox).
  if (quota_changed) (void)clear_full_flag(ctx, address);
  std::string fwd = join_list(u.forward, ", ");
  std::fprintf(ctx.out, "user %s: quota %s, forward %s%s, junk into %s, %s\n", address.c_str(),
               format_size(u.quota).c_str(), fwd.empty() ? "none" : fwd.c_str(),
               u.forward.empty() ? "" : (u.keep_copy ? " (keeping a copy)" : " (no copy kept)"),
               u.junk_folder ? "Junk" : "the inbox", u.disabled ? "disabled" : "active");
  return kExitOk;
}

int cmd_user_autoreply(Context& ctx, const std::string& arg, const AutoreplyArgs& a) {
  std::string address = address_arg(arg);
  common::accounts::Autoreply ar;
  // Check every option before touching the database.
  std::optional<std::string> text = a.text;
  if (a.text_file) {
    auto t = common::io::read_file(*a.text_file, 64 * 1024);
    if (!t) {
      complain(ctx, "--text-file: " + t.message());
      return kExitRefused;
    }
    text = *t;
  }
  if (text) {
    if (text->find('\0') != std::string::npos || !common::mail::is_valid_utf8(*text) ||
        text->size() > 64 * 1024) {
      complain(ctx, "the auto-reply text must be UTF-8 text of at most 64 KiB");
      return kExitRefused;
    }
  }
  if (a.subject) {
    bool ok = a.subject->size() <= 200 && common::mail::is_valid_utf8(*a.subject);
    for (unsigned char c : *a.subject) ok = ok && c >= 0x20 && c != 0x7f;
    if (!ok) {
      complain(ctx, "--subject: one line of UTF-8 text, at most 200 bytes");
      return kExitRefused;
    }
  }
  std::optional<std::int64_t> start, end, interval;
  if (a.start) {
    auto t = parse_date(*a.start, false);
    if (!t) {
      complain(ctx, "--start: " + t.message());
      return kExitRefused;
    }
    start = *t;
  }
  if (a.end) {
    auto t = parse_date(*a.end, true);
    if (!t) {
      complain(ctx, "--end: " + t.message());
      return kExitRefused;
    }
    end = *t;
  }
  if (a.interval) {
    auto n = parse_limit_count(*a.interval, 365);
    if (!n || *n == 0) {
      complain(ctx, "--interval: days between two replies to one sender, 1 to 365");
      return kExitRefused;
    }
    interval = *n;
  }
  AccountsDb db;
  common::accounts::User u;
  if (int rc = load_user(ctx, address, arg, &db, &u); rc != kExitOk) return rc;
  ar = u.autoreply;
  ar.enabled = a.on;
  if (a.subject) ar.subject = *a.subject;
  if (text) ar.text = *text;
  if (start) ar.start = *start;
  if (end) ar.end = *end;
  if (interval) ar.interval_days = *interval;
  if (ar.enabled && ar.text.empty()) {
    complain(ctx, "an auto-reply needs a text: --text or --text-file");
    return kExitRefused;
  }
  if (ar.start != 0 && ar.end != 0 && ar.end < ar.start) {
    complain(ctx, "the end date is before the start date");
    return kExitRefused;
  }
  if (ar.enabled && ar.end != 0 && ar.end < std::time(nullptr)) {
    complain(ctx, "the end date has passed: no reply would be sent");
    return kExitRefused;
  }
  u.autoreply = ar;
  if (int rc = check_io(ctx, db->put_user(u)); rc != kExitOk) return rc;
  if (ar.enabled) {
    // A new period: every sender gets the (new) message once again.
    if (auto st = reset_vacation(ctx, u.maildir); !st)
      complain(ctx, "warning: cannot reset the vacation record: " + st.message());
  }
  std::fprintf(ctx.out, "auto-reply of %s: %s", address.c_str(), ar.enabled ? "on" : "off");
  if (ar.enabled)
    std::fprintf(ctx.out, ", from %s until %s, once per %lld day(s) per sender",
                 format_date(ar.start).c_str(), format_date(ar.end).c_str(),
                 static_cast<long long>(ar.interval_days));
  std::fprintf(ctx.out, "\n");
  return kExitOk;
}

}  // namespace mailctl
