// Reports to an "https:" rua URI (RFC 8460 3, 5.4): the URI's parts and the POST that
// carries the gzip'd report. Pure; tested in https_test.cpp, fuzzed by
// tlsrpt_txt_fuzz.cpp.
// UNTRUSTED: the URI comes from a DNS TXT record.
//   RFC 8460 5.4: the report is the body of an HTTP POST to the URI, with the media type
//   application/tlsrpt+gzip; a 2xx answer means it was taken.
//   Only host names are used (an address literal has no name for the certificate to be
//   checked against); no user information; the fragment is not sent (RFC 3986 3.5).
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace common::tlsrpt {

struct HttpsTarget {
  std::string host;  // lower case, no trailing dot
  int port = 443;
  std::string target;  // path and query, "/" at least
};

Result<HttpsTarget> parse_https_uri(std::string_view uri);

// The whole request: "POST target HTTP/1.0", Host, Content-Type, Content-Length, body.
// HTTP/1.0, so that the answer comes back whole and unchunked, then the server closes.
std::string report_post_request(const HttpsTarget& t, std::string_view gzipped_report);

}  // namespace common::tlsrpt
