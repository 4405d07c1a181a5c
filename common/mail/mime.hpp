// A bounded walker over the MIME structure of a message (RFC 2045, RFC 2046 5.1
// multipart, RFC 2046 5.2.1 message/rfc822), for reading what a message says: the
// content rules of the checks process (mime_scan.hpp). Pure; UNTRUSTED input. Every
// limit ends the walk with a status of its own: nesting depth, number of parts, size of
// one part's header section. Broken structure is read leniently: a multipart whose
// boundary never comes again ends where its enclosing body ends.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace common::mail {

struct MimeLimits {
  std::size_t max_depth = 20;                    // multipart and message/rfc822 nesting
  std::size_t max_parts = 1000;                  // entities, containers included
  std::size_t max_header_section = 1024 * 1024;  // octets of one entity's header section
  std::size_t max_field = 64 * 1024;             // longer unfolded fields are cut here
};

enum class MimeStatus {
  kOk,
  kStopped,        // the callback asked to stop
  kTooDeep,        // nesting past max_depth
  kTooManyParts,   // more than max_parts entities
  kHeaderTooLong,  // a header section past max_header_section
};
const char* mime_status_name(MimeStatus s);

// A leaf entity (not multipart, not message/rfc822).
struct MimePart {
  std::string type = "text/plain";  // lower case; RFC 2045 5.2 default
  std::string encoding = "7bit";    // Content-Transfer-Encoding, lower case
  std::string charset;              // Content-Type's charset parameter, as written ("" if none)
  bool attachment = false;          // disposition "attachment", or a file name given
  std::string_view body;            // as in the message, still encoded
  std::size_t depth = 0;
  std::size_t index = 0;  // 1-based count of entities so far
};

struct MimeWalk {
  MimeStatus status = MimeStatus::kOk;
  std::string subject;  // the top-level Subject, unfolded (RFC 5322 2.2.3), raw
  std::size_t parts = 0;
};

// Calls `leaf` for each leaf entity in order; it returns false to stop the walk.
MimeWalk walk_mime(std::string_view message, const MimeLimits& limits,
                   const std::function<bool(const MimePart&)>& leaf);

// A parameter of a Content-Type or Content-Disposition value (RFC 2045 5.1), name in
// any case, quotes removed; "" if absent. With RFC 2231 continuations ("name*0") the
// parameter counts as present and its first piece is returned.
std::string mime_parameter(std::string_view value, std::string_view name, bool* present = nullptr);

}  // namespace common::mail
