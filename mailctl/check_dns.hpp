// mailctl check-dns DOMAIN: looks up what an administrator setting up a mail domain checks
// with nslookup - the domain's MX records, each MX host's A/AAAA, each address's PTR and
// whether that name resolves back, whether this server is the (best) MX, the domain's
// SPF record - and compares it with the configuration (hostname, smtp_listen, the
// machine's interface addresses, accounts.mdb, relay_domains). Lookups go to
// dns_resolver (or /etc/resolv.conf). Exit 0 OK, 1 problems, 64 not a domain name,
// 69 no resolver, 75 lookups failed (try again).
#pragma once

#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "mailctl/context.hpp"

namespace mailctl {

// How long one DNS lookup may take.
inline constexpr int kCheckDnsTimeoutSeconds = 10;

int cmd_check_dns(Context& ctx, const std::string& domain);

// This server's addresses: the hosts of smtp_listen (not the wildcards) and every
// address of the machine's interfaces (getifaddrs), canonical form, no duplicates.
std::vector<std::string> own_addresses(const common::config::Config& cfg);

}  // namespace mailctl
