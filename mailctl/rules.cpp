// `mailctl rule add|del|list`: the administrator's filtering rules in accounts.mdb
// (common/accounts/filter_rules.cpp), which smtpd reads at each transaction, so a change
// takes effect without a restart. Parsing and normal form: common/checks/rules.hpp.
#include "common/checks/rules.hpp"

#include "mailctl/accounts_edit.hpp"
#include "mailctl/commands.hpp"

namespace mailctl {

int cmd_rule_add(Context& ctx, const std::vector<std::string>& words) {
  auto r = common::checks::parse_rule(words, false);
  if (!r) {
    complain(ctx, r.message());
    return kExitRefused;
  }
  AccountsDb db;
  if (int rc = open_accounts_db(ctx, &db); rc != kExitOk) return rc;
  if (r->kind == "word") {
    auto all = db->filter_rules();
    if (int rc = check_io(ctx, all.status()); rc != kExitOk) return rc;
    std::size_t total = r->pattern.size();
    for (const auto& o : *all)
      if (o.kind == "word") total += o.pattern.size() + 1;
    if (total > common::checks::kMaxWordRulesBytes) {
      complain(ctx, "the word rules' phrases would exceed " +
                        std::to_string(common::checks::kMaxWordRulesBytes) + " octets together");
      return kExitRefused;
    }
  }
  auto replaced = db->put_filter_rule(*r);
  if (int rc = check_io(ctx, replaced.status()); rc != kExitOk) return rc;
  std::fprintf(ctx.out, "%s rule: %s\n", *replaced ? "replaced" : "added",
               common::checks::describe_rule(*r).c_str());
  return kExitOk;
}

int cmd_rule_del(Context& ctx, const std::vector<std::string>& words) {
  auto r = common::checks::parse_rule(words, true);
  if (!r) {
    complain(ctx, r.message());
    return kExitRefused;
  }
  AccountsDb db;
  if (int rc = open_accounts_db(ctx, &db); rc != kExitOk) return rc;
  auto gone = db->delete_filter_rule(*r);
  if (int rc = check_io(ctx, gone.status()); rc != kExitOk) return rc;
  r->action.clear();
  if (!*gone) {
    complain(ctx, "no such rule: " + common::checks::describe_rule(*r));
    return kExitRefused;
  }
  std::fprintf(ctx.out, "removed rule: %s\n", common::checks::describe_rule(*r).c_str());
  return kExitOk;
}

int cmd_rule_list(Context& ctx) {
  AccountsDb db;
  if (int rc = open_accounts_db(ctx, &db); rc != kExitOk) return rc;
  auto all = db->filter_rules();
  if (int rc = check_io(ctx, all.status()); rc != kExitOk) return rc;
  for (const auto& r : *all) std::fprintf(ctx.out, "%s\n", common::checks::describe_rule(r).c_str());
  return kExitOk;
}

}  // namespace mailctl
