// `mailctl dkim`: the DKIM keys of the domains (common/dkim/store.hpp). generate makes a
// domain's first key, rotate makes a new active key and keeps the old one published
// until retire removes it, list shows every key. Each prints the exact DNS TXT record
// to publish (or to remove). As root the work runs as the signer's user mb-dkim, the
// owner of the key store, so that the keys are never root's files nor anyone else's.
#pragma once

#include <optional>
#include <string>

#include "mailctl/context.hpp"

namespace mailctl {

struct DkimArgs {
  std::optional<std::string> selector;   // --selector
  std::optional<std::string> algorithm;  // --algorithm rsa|ed25519
};

int cmd_dkim_generate(Context& ctx, const std::string& domain, const DkimArgs& a);
int cmd_dkim_rotate(Context& ctx, const std::string& domain, const DkimArgs& a);
int cmd_dkim_retire(Context& ctx, const std::string& domain, const std::string& selector);
int cmd_dkim_list(Context& ctx);

}  // namespace mailctl
