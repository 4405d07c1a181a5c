// `mailctl user show ADDRESS`: everything about one user in one place - the Maildir, the
// password's presence, quota and Maildir++ usage (read only: never rewrites
// maildirsize, which belongs to the mail programs' user), the "mailbox full" flag,
// forwarding, every alias, catch-all and domain alias that leads to the user, and the
// auto-reply.
#include <sysexits.h>

#include <algorithm>

#include "common/maildir/quota_flags.hpp"
#include "mailctl/accounts_edit.hpp"
#include "mailctl/as_owner.hpp"
#include "mailctl/commands.hpp"
#include "mailctl/values.hpp"

namespace mailctl {

int cmd_user_show(Context& ctx, const std::string& arg) {
  std::string address = address_arg(arg);
  AccountsDb db;
  common::accounts::User u;
  if (int rc = load_user(ctx, address, arg, &db, &u); rc != kExitOk) return rc;
  std::string domain = address.substr(address.rfind('@') + 1);
  std::string local = address.substr(0, address.rfind('@'));
  auto aliases = db->aliases("");
  auto domains = db->domains();
  if (!aliases || !domains) {
    complain(ctx, !aliases ? aliases.message() : domains.message());
    return EX_IOERR;
  }
  std::string password = "unknown (cannot read passwd.mdb)";
  if (auto pw = open_passwords(ctx)) {
    auto h = (*pw)->hash(address);
    if (h) password = h->has_value() ? "set" : "not set (cannot log in)";
  }
  std::string maildir = ctx.cfg.mail_directory + "/" + u.maildir;

  auto line = [&](const char* k, const std::string& v) { std::fprintf(ctx.out, "%-12s %s\n", k, v.c_str()); };
  line("address", address);
  line("maildir", maildir);
  line("status", u.disabled ? "disabled (mail bounces with 5.2.1)" : "active");
  line("password", password);
  line("quota", u.quota ? format_size(u.quota) : "none");
  if (auto st = print_usage(ctx, u.maildir, u.quota); !st) line("usage", "unknown: " + st.message());
  line("full", common::maildir::has_full_flag(ctx.layout().quota_flags(), address)
                   ? "yes: smtpd refuses new mail with 452 4.2.2"
                   : "no");
  if (u.forward.empty()) {
    line("forward", "none");
  } else {
    line("forward", join_list(u.forward, ", ") + (u.keep_copy ? " (a copy is kept)" : " (no copy kept)"));
  }
  line("junk", u.junk_folder ? "into the Junk folder" : "into the inbox");
  // What leads here: aliases naming the user (or a subaddress of it), catch-alls, and
  // the same local part in alias domains.
  std::vector<std::string> via;
  for (const auto& a : *aliases)
    for (const auto& t : a.targets)
      if (lower(t) == address) via.push_back(a.address);
  for (const auto& d : *domains) {
    if (lower(d.catchall) == address) via.push_back("@" + d.name + " (catch-all)");
    if (d.alias_of == domain) via.push_back(local + "@" + d.name + " (domain alias)");
  }
  if (via.empty()) {
    line("aliases", "none");
  } else {
    std::fprintf(ctx.out, "%-12s %s\n", "aliases", via.front().c_str());
    for (std::size_t i = 1; i < via.size(); ++i) std::fprintf(ctx.out, "%-12s %s\n", "", via[i].c_str());
  }
  const auto& ar = u.autoreply;
  if (!ar.enabled && ar.text.empty()) {
    line("autoreply", "off");
  } else {
    std::string v = ar.enabled ? "on" : "off";
    v += ", from " + format_date(ar.start) + " until " + format_date(ar.end) + ", once per " +
         std::to_string(ar.interval_days) + " day(s) per sender";
    line("autoreply", v);
    line("  subject", ar.subject.empty() ? "(Auto: and the original subject)" : ar.subject);
    std::string text = ar.text;
    std::size_t pos = 0;
    bool first = true;
    while (pos < text.size()) {
      std::size_t nl = text.find('\n', pos);
      std::string l = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      std::fprintf(ctx.out, "%-12s %s\n", first ? "  text" : "", l.c_str());
      first = false;
      pos = nl == std::string::npos ? text.size() : nl + 1;
    }
  }
  line("created", format_date(u.created));
  return kExitOk;
}

}  // namespace mailctl
