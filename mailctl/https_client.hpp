// A blocking HTTPS exchange for mailctl: `check-dns` fetches the MTA-STS policy of a
// domain (RFC 8461 3.3) as a sender would, and `tlsrpt send` posts a report to an https:
// address (RFC 8460 5.4). One request to one of the host's addresses, with the
// certificate verified against the CA store (or smtp_tls_ca_file) and the host's name,
// within a time limit per step. What comes back is only collected (bounded) for the
// HTTP parser of the remote agent (delivery/remote/http_response.hpp).
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"

namespace mailctl {

// The raw response (status line, fields, body) read until the server closes, at most
// `max` bytes; `request` is sent as is, to `port`. Tries each of `ips` in order until
// one answers.
common::Result<std::string> https_request(const std::vector<std::string>& ips, const std::string& host,
                                          int port, const std::string& request, const std::string& ca_file,
                                          int timeout_seconds, std::size_t max);

}  // namespace mailctl
