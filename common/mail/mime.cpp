// The bounded MIME walker (see mime.hpp): header sections (RFC 5322 2.2), the
// Content-* fields of RFC 2045 and RFC 2183, and multipart bodies split at their
// boundary delimiter lines (RFC 2046 5.1.1).
#include "common/mail/mime.hpp"

#include <vector>

#include "common/mail/ascii.hpp"

namespace common::mail {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// One line from `pos` (its end excluded, CRLF or LF); `next` is the start of the next.
std::string_view line_at(std::string_view s, std::size_t pos, std::size_t* next) {
  std::size_t nl = s.find('\n', pos);
  std::size_t end = nl == std::string_view::npos ? s.size() : nl;
  *next = nl == std::string_view::npos ? s.size() : nl + 1;
  std::string_view line = s.substr(pos, end - pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

struct Headers {
  std::string content_type, encoding, disposition, subject;
  std::string_view body;
  bool too_long = false;
};

// The header section up to the first empty line (none: all header, empty body). Only
// the fields the walker needs are kept, each unfolded and cut at max_field.
Headers read_headers(std::string_view entity, const MimeLimits& lim) {
  Headers h;
  std::string* current = nullptr;
  std::size_t pos = 0;
  while (pos < entity.size()) {
    if (pos > lim.max_header_section) {
      h.too_long = true;
      return h;
    }
    std::size_t next = 0;
    std::string_view line = line_at(entity, pos, &next);
    if (line.empty()) {  // the end of the header section (RFC 5322 2.1)
      h.body = entity.substr(next);
      return h;
    }
    if (line.front() == ' ' || line.front() == '\t') {  // folded (RFC 5322 2.2.3)
      if (current && current->size() < lim.max_field)
        current->append(line.substr(0, std::min(line.size(), lim.max_field - current->size())));
    } else {
      current = nullptr;
      std::size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        std::string_view name = trim(line.substr(0, colon));
        if (iequals(name, "content-type"))
          current = &h.content_type;
        else if (iequals(name, "content-transfer-encoding"))
          current = &h.encoding;
        else if (iequals(name, "content-disposition"))
          current = &h.disposition;
        else if (iequals(name, "subject"))
          current = &h.subject;
        if (current) {
          current->clear();  // a repeated field: the last one counts
          std::string_view v = line.substr(colon + 1);
          current->append(v.substr(0, std::min(v.size(), lim.max_field)));
        }
      }
    }
    pos = next;
  }
  if (pos > lim.max_header_section) h.too_long = true;
  return h;
}

class Walker {
 public:
  Walker(const MimeLimits& lim, const std::function<bool(const MimePart&)>& leaf) : lim_(lim), leaf_(leaf) {}

  MimeStatus entity(std::string_view e, std::size_t depth, bool top, std::string* subject,
                    std::string_view default_type) {
    if (++parts_ > lim_.max_parts) return MimeStatus::kTooManyParts;
    if (depth > lim_.max_depth) return MimeStatus::kTooDeep;
    Headers h = read_headers(e, lim_);
    if (h.too_long) return MimeStatus::kHeaderTooLong;
    if (top && subject) *subject = std::string(trim(h.subject));
    std::string_view ct = trim(h.content_type);
    std::string type = lower(trim(ct.substr(0, ct.find(';'))));
    if (type.empty() || type.find('/') == std::string::npos) type = std::string(default_type);
    if (type.rfind("multipart/", 0) == 0) {
      std::string boundary = mime_parameter(ct, "boundary");
      if (!boundary.empty()) return multipart(h.body, boundary, depth, type == "multipart/digest");
      type = "text/plain";  // RFC 2046 5.1.1 needs a boundary; without one, read it as text
    }
    if (type == "message/rfc822") return entity(h.body, depth + 1, false, nullptr, "text/plain");
    MimePart p;
    p.type = type;
    p.encoding = lower(trim(h.encoding));
    if (p.encoding.empty()) p.encoding = "7bit";
    p.charset = mime_parameter(ct, "charset");
    std::string_view disp = trim(h.disposition);
    bool has_filename = false, has_name = false;
    mime_parameter(disp, "filename", &has_filename);
    mime_parameter(ct, "name", &has_name);
    p.attachment = istarts_with(disp, "attachment") || has_filename || has_name;
    p.body = h.body;
    p.depth = depth;
    p.index = parts_;
    return leaf_(p) ? MimeStatus::kOk : MimeStatus::kStopped;
  }

 private:
  // RFC 2046 5.1.1: the parts lie between delimiter lines "--boundary"; the CRLF before
  // a delimiter belongs to it; "--boundary--" closes; preamble and epilogue are ignored.
  MimeStatus multipart(std::string_view body, const std::string& boundary, std::size_t depth, bool digest) {
    std::string dash = "--" + boundary;
    std::size_t pos = 0, part_start = std::string_view::npos;
    while (pos < body.size()) {
      std::size_t next = 0;
      std::string_view line = line_at(body, pos, &next);
      // A delimiter line is "--boundary" then only white space (RFC 2046 5.1.1
      // transport-padding), a close delimiter "--boundary--": "--b10" is no "--b1".
      bool starts = line.size() >= dash.size() && line.compare(0, dash.size(), dash) == 0;
      std::string_view rest = starts ? line.substr(dash.size()) : std::string_view();
      bool close = starts && rest.rfind("--", 0) == 0;
      if (close || (starts && trim(rest).empty())) {
        if (part_start != std::string_view::npos) {
          std::size_t end = pos;  // drop the line end before the delimiter
          if (end > part_start && body[end - 1] == '\n') --end;
          if (end > part_start && body[end - 1] == '\r') --end;
          MimeStatus st = sub(body.substr(part_start, end - part_start), depth, digest);
          if (st != MimeStatus::kOk) return st;
        }
        if (close) return MimeStatus::kOk;
        part_start = next;
      }
      pos = next;
    }
    // The boundary never came again: the last part ends with the body.
    if (part_start != std::string_view::npos && part_start <= body.size())
      return sub(body.substr(part_start), depth, digest);
    return MimeStatus::kOk;
  }

  MimeStatus sub(std::string_view part, std::size_t depth, bool digest) {
    // RFC 2046 5.1.5: in a digest the default type is message/rfc822.
    return entity(part, depth + 1, false, nullptr, digest ? "message/rfc822" : "text/plain");
  }

  const MimeLimits& lim_;
  const std::function<bool(const MimePart&)>& leaf_;
  std::size_t parts_ = 0;

 public:
  std::size_t parts() const { return parts_; }
};

}  // namespace

const char* mime_status_name(MimeStatus s) {
  switch (s) {
    case MimeStatus::kOk: return "ok";
    case MimeStatus::kStopped: return "stopped";
    case MimeStatus::kTooDeep: return "MIME nesting too deep";
    case MimeStatus::kTooManyParts: return "too many MIME parts";
    case MimeStatus::kHeaderTooLong: return "header section too long";
  }
  return "?";
}

std::string mime_parameter(std::string_view value, std::string_view name, bool* present) {
  if (present) *present = false;
  std::size_t pos = value.find(';');
  while (pos != std::string_view::npos && pos < value.size()) {
    ++pos;
    // name
    std::size_t eq = value.find('=', pos);
    if (eq == std::string_view::npos) return "";
    std::string_view n = trim(value.substr(pos, eq - pos));
    // value: a token or a quoted string (RFC 2045 5.1, RFC 822 quoted-string)
    std::size_t v = eq + 1;
    while (v < value.size() && (value[v] == ' ' || value[v] == '\t')) ++v;
    std::string out;
    std::size_t end = v;
    if (v < value.size() && value[v] == '"') {
      end = v + 1;
      while (end < value.size() && value[end] != '"') {
        if (value[end] == '\\' && end + 1 < value.size()) ++end;
        out += value[end++];
      }
      end = value.find(';', end);
    } else {
      end = value.find(';', v);
      out = std::string(
          trim(value.substr(v, end == std::string_view::npos ? std::string_view::npos : end - v)));
    }
    bool match =
        iequals(n, name) || (istarts_with(n, name) && n.size() > name.size() && n[name.size()] == '*');
    if (match) {
      if (present) *present = true;
      return out;
    }
    pos = end;
  }
  return "";
}

MimeWalk walk_mime(std::string_view message, const MimeLimits& limits,
                   const std::function<bool(const MimePart&)>& leaf) {
  MimeWalk w;
  Walker walker(limits, leaf);
  w.status = walker.entity(message, 0, true, &w.subject, "text/plain");
  w.parts = walker.parts();
  return w;
}

}  // namespace common::mail
