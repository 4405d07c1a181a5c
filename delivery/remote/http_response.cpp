// Implementation of the MTA-STS HTTP exchange (see http_response.hpp).
#include "delivery/remote/http_response.hpp"

#include "common/mail/ascii.hpp"

namespace delivery::remote {

using common::Result;
using common::Status;

std::string sts_policy_request(const std::string& host) {
  // RFC 8461 3.3: the policy is at this fixed path; no cookies, no authentication.
  return "GET /.well-known/mta-sts.txt HTTP/1.0\r\nHost: " + host +
         "\r\nUser-Agent: Mailbag\r\nAccept: text/plain\r\nConnection: close\r\n\r\n";
}

Result<HttpResponse> parse_http_response(std::string_view raw) {
  HttpResponse r;
  std::size_t end = raw.find("\r\n\r\n");
  std::size_t body_at = end == std::string_view::npos ? end : end + 4;
  if (end == std::string_view::npos) {
    end = raw.find("\n\n");
    body_at = end == std::string_view::npos ? end : end + 2;
  }
  if (end == std::string_view::npos) {
    if (raw.size() > kHttpMaxHeader) return Status::error("HTTP header larger than 16 KB");
    return Status::error("no complete HTTP header");
  }
  if (end > kHttpMaxHeader) return Status::error("HTTP header larger than 16 KB");
  std::string_view head = raw.substr(0, end);
  r.body = std::string(raw.substr(body_at));
  bool first = true;
  bool chunked = false;
  long long length = -1;  // Content-Length, when given
  std::size_t pos = 0;
  while (pos <= head.size()) {
    std::size_t nl = head.find('\n', pos);
    std::string_view line =
        head.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? head.size() + 1 : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first) {
      // "HTTP/1.1 200 OK"
      if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ')
        return Status::error("not an HTTP/1.x status line");
      int code = 0;
      for (std::size_t i = 9; i < 12; ++i) {
        if (line[i] < '0' || line[i] > '9') return Status::error("bad HTTP status code");
        code = code * 10 + (line[i] - '0');
      }
      if (line.size() > 12 && line[12] != ' ') return Status::error("bad HTTP status line");
      r.status = code;
      first = false;
      continue;
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // tolerated, like most clients
    std::string name = common::mail::lower(std::string(line.substr(0, colon)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (name == "content-type" && r.content_type.empty()) {
      std::string_view type = value.substr(0, value.find(';'));
      while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
      r.content_type = common::mail::lower(std::string(type));
    } else if (name == "location" && r.location.empty()) {
      r.location = std::string(value.substr(0, 200));
    } else if (name == "content-length" && length < 0) {
      if (value.empty() || value.size() > 12) return Status::error("bad Content-Length");
      length = 0;
      for (char c : value) {
        if (c < '0' || c > '9') return Status::error("bad Content-Length");
        length = length * 10 + (c - '0');
      }
    } else if (name == "transfer-encoding") {
      chunked = common::mail::lower(std::string(value)) != "identity";
    }
  }
  // An HTTP/1.0 request must not get a chunked answer; rather than decode one, refuse.
  if (chunked) return Status::error("unexpected Transfer-Encoding in the answer to an HTTP/1.0 request");
  if (length >= 0) {
    // A connection closed early (without TLS close_notify) must not pass for the end.
    if (static_cast<unsigned long long>(length) > r.body.size())
      return Status::error("answer cut short: Content-Length " + std::to_string(length) + ", " +
                           std::to_string(r.body.size()) + " bytes received");
    r.body.resize(static_cast<std::size_t>(length));
  }
  return r;
}

std::string sts_response_problem(const HttpResponse& r) {
  if (r.status >= 300 && r.status < 400)
    return "HTTP " + std::to_string(r.status) + " redirect" +
           (r.location.empty() ? std::string() : " to " + r.location) + " (not followed, RFC 8461 3.3)";
  if (r.status != 200) return "HTTP status " + std::to_string(r.status);
  if (r.content_type != "text/plain")
    return "Content-Type is " + (r.content_type.empty() ? std::string("missing") : r.content_type) +
           ", not text/plain";
  return "";
}

}  // namespace delivery::remote
