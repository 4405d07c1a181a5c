// The Authentication-Results header (RFC 8601): the one smtpd prepends with the verdicts
// of the built-in checks, and the filter that removes incoming ones claiming our
// authserv-id (RFC 8601 5: a receiver must not let a sender forge its results). Pure:
// smtpd streams the spooled message through AuthResStripper when it rewrites it.
// Messages here have LF line ends, as in the queue file.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace common::checks {

// One resinfo (RFC 8601 2.2): method=result (comment) ptype.property=value ...
struct ResProp {
  std::string ptype;     // "smtp", "header", "policy", "dns"
  std::string property;  // "mailfrom", "d", ...
  std::string value;
  template <class F>
  void fields(F& f) {  // IPC (common/ipc/codec.hpp): the checks process sends these
    f(ptype);
    f(property);
    f(value);
  }
};
struct ResInfo {
  std::string method;   // "spf", "dkim", "dmarc", "dnswl"
  std::string result;   // "pass", "fail", ...
  std::string comment;  // free text, written as a comment; "" for none
  std::vector<ResProp> props;
  template <class F>
  void fields(F& f) {
    f(method);
    f(result);
    f(comment);
    f(props);
  }
};

// "Authentication-Results: <id>;\n\t<resinfo>;\n\t<resinfo>\n", or "...: <id>; none\n"
// (RFC 8601 2.2) when there is nothing to say. Values that are not RFC 2045 tokens
// (or addresses of atext) are quoted; control characters in any part become '?'.
std::string format_authres(std::string_view authserv_id, const std::vector<ResInfo>& results);

// UNTRUSTED: does this Authentication-Results field value (after the colon, unfolded or
// not) name `authserv_id` (case-insensitive)? An id that cannot be parsed does not.
bool claims_authserv_id(std::string_view value, std::string_view authserv_id);

// Streams a message and drops, from its header section only, each Authentication-Results
// field that claims `authserv_id` (with its continuation lines). An Authentication-Results
// field longer than kMaxField is dropped too: ours could hide in it.
class AuthResStripper {
 public:
  static constexpr std::size_t kMaxField = 64 * 1024;
  explicit AuthResStripper(std::string authserv_id) : id_(std::move(authserv_id)) {}
  // UNTRUSTED: message bytes in any split; what to keep is appended to *out.
  void feed(std::string_view in, std::string* out);
  // The end of the message: flushes what is held.
  void finish(std::string* out);
  int removed() const { return removed_; }

 private:
  void line(std::string_view l, std::string* out);
  void end_field(std::string* out);

  std::string id_;
  std::string partial_;  // an incomplete line
  std::string field_;    // the Authentication-Results field being collected
  bool in_ar_ = false;
  bool overflow_ = false;
  bool mid_line_ = false;  // inside a line longer than kMaxField
  bool body_ = false;      // past the empty line
  int removed_ = 0;
};

}  // namespace common::checks
