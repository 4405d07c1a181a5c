// relay_domain_settings: what a backup MX allows each domain it holds mail for
// (relay_domains). One entry per domain, options after ';' like the entries of milters:
//   example.net;lifetime=10d;max_queued=200M;release=198.51.100.7/32+2001:db8::/48
// lifetime   how long its mail may wait for the primary before it is returned
//            (default: queue_lifetime; the queue manager)
// max_queued how many bytes of its mail the queue holds; a message that would pass it
//            gets 451 4.3.1 and is retried by its sender (default: no limit)
// release    the client networks (CIDR, joined by '+') that may release its queue with
//            ETRN, instead of etrn_networks (smtpd)
// Parsed once here for config validation, smtpd and the queue manager.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace common::config {

struct RelayDomainSettings {
  std::string domain;                // lower case
  std::int64_t lifetime = 0;         // seconds; 0: queue_lifetime
  std::int64_t max_queued = 0;       // bytes; 0: no limit
  std::vector<std::string> release;  // CIDR networks; empty: etrn_networks
  bool has_release = false;          // release= given (it may not be empty)
};

// One entry, as written in the list.
Result<RelayDomainSettings> parse_relay_domain(std::string_view entry);
// Every entry of the key; a domain named twice is an error.
Result<std::vector<RelayDomainSettings>> parse_relay_domains(const std::vector<std::string>& entries);

// The entry for `domain` (lower case), or nullptr.
const RelayDomainSettings* find_relay_domain(const std::vector<RelayDomainSettings>& all,
                                             std::string_view domain);

}  // namespace common::config
