// MTA-STS enforcement on a route (RFC 8461 4, 5): which MX hosts a policy lets mail go
// to, and what each endpoint's TLS must then be. Pure (tested in route_sts_test.cpp);
// the dispatcher applies it between the route lookup and the connection, and
// connection.cpp raises the TLS of an endpoint under mode enforce to a verified
// certificate (the CA store or smtp_tls_ca_file, and the MX host's name).
//   RFC 8461 4.1: only MX hosts that match an mx pattern are used (enforce); under
//   testing every host is used and a mismatch is only reported.
//   RFC 8461 2: where DANE applies (a TLSA answer decided for a host), DANE decides
//   and the MTA-STS policy is not applied to the route.
#pragma once

#include <string>
#include <vector>

#include "delivery/remote/mta_sts_policy.hpp"
#include "delivery/remote/route.hpp"

namespace delivery::remote {

// Applies `policy` (mode testing or enforce) of `domain` to `route` (which must be ok).
// Returns the log lines to write; under enforce with no host left, route->failure is set
// (temporary: the domain or its DNS may be fixed before the message expires).
std::vector<std::string> apply_sts(const std::string& domain, const StsPolicy& policy, Route* route);

}  // namespace delivery::remote
