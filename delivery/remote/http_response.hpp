// The one HTTP exchange MTA-STS needs (RFC 8461 3.3): the GET request for the policy and
// a pure parser of the whole response, as read until the server closes. Kept minimal on
// purpose: HTTP/1.0 request (so no chunked body comes back), the status line, the
// Content-Type and Location fields, and the body; redirects are never followed.
// UNTRUSTED: the response comes from the network (fuzzed by mta_sts_fuzz.cpp).
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace delivery::remote {

inline constexpr std::size_t kHttpMaxHeader = 16 * 1024;  // the status line and fields

// "GET /.well-known/mta-sts.txt HTTP/1.0" for `host` (mta-sts.<domain>).
std::string sts_policy_request(const std::string& host);

struct HttpResponse {
  int status = 0;
  std::string content_type;  // the media type, lower case, without parameters
  std::string location;      // for the log line of a redirect
  std::string body;
};

// The response as read until the server closed (the reader enforces the size limit).
// Fails on anything that is not HTTP/1.x.
common::Result<HttpResponse> parse_http_response(std::string_view raw);

// What RFC 8461 3.3 asks of the answer: 200, text/plain, not redirected; "" or why not.
std::string sts_response_problem(const HttpResponse& r);

}  // namespace delivery::remote
