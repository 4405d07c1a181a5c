// Filter modifications applied to a message (see milter_edit.hpp). UNTRUSTED: every
// name, value and address comes from a filter and must not break the message's or the
// envelope's syntax.
#include "smtpd/milter_edit.hpp"

#include "common/mail/address.hpp"
#include "common/mail/ascii.hpp"

namespace smtpd {

namespace {

using common::Status;
using common::milter::Reply;
using K = Reply::Kind;

// One header field as it stands in the message: "Name: value\n" with its folded lines.
struct Field {
  std::string name;
  std::string text;
};

std::string field_name(std::string_view line) {
  std::string_view n = line.substr(0, line.find(':'));
  while (!n.empty() && (n.back() == ' ' || n.back() == '\t')) n.remove_suffix(1);
  return std::string(n);
}

// RFC 5322 2.2: printable US-ASCII but the colon.
bool valid_name(std::string_view n) {
  if (n.empty() || n.size() > 200) return false;
  for (char c : n)
    if (c <= 32 || c >= 127 || c == ':') return false;
  return true;
}

// The field "name: value\n". The value may be folded (CRLF or LF followed by a space or
// tab, RFC 5322 2.2.3); any other CR or LF could end the header early and smuggle in a
// header or the body, so it is refused.
common::Result<std::string> render_field(std::string_view name, std::string_view value) {
  if (!valid_name(name)) return Status::error("filter header name is not a field name");
  std::string v;
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\r') {
      if (i + 1 >= value.size() || value[i + 1] != '\n') return Status::error("filter header with a bare CR");
      continue;  // CRLF: the LF decides
    }
    if (c == '\n' && (i + 1 >= value.size() || (value[i + 1] != ' ' && value[i + 1] != '\t')))
      return Status::error("filter header with a bare LF");
    if (c == '\0') return Status::error("filter header with a NUL");
    v.push_back(c);
  }
  std::string f(name);
  f += ':';
  if (v.empty() || (v[0] != ' ' && v[0] != '\t')) f += ' ';
  f += v;
  f += '\n';
  return f;
}

// "<a@b>" or "a@b" to the canonical address ("" for the null sender when allowed).
common::Result<std::string> address(std::string_view a, bool null_ok) {
  if (a.size() >= 2 && a.front() == '<' && a.back() == '>') a = a.substr(1, a.size() - 2);
  if (a.empty()) {
    if (null_ok) return std::string();
    return Status::error("filter gave an empty recipient");
  }
  auto p = common::mail::parse_mailbox(a);
  if (!p) return Status::error("filter gave a bad address: " + p.message());
  return p->str();
}

std::string key_of(const std::string& addr) {
  auto p = common::mail::parse_mailbox(addr);
  return p ? p->key() : common::mail::lower(addr);
}

// A filter's spam verdict, written as a header: rspamd's "X-Spam: Yes" (its "add
// header" action) and SpamAssassin's "X-Spam-Flag: YES" (spamass-milter). Only headers a
// filter writes are read here, never the sender's own.
bool spam_flag(std::string_view name, std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return (common::mail::iequals(name, "X-Spam") || common::mail::iequals(name, "X-Spam-Flag")) &&
         common::mail::iequals(value, "yes");
}

}  // namespace

SplitMessage split_message(std::string_view message) {
  SplitMessage m;
  std::size_t pos = 0;
  while (pos < message.size()) {
    std::size_t eol = message.find('\n', pos);
    std::size_t end = eol == std::string_view::npos ? message.size() : eol + 1;
    std::string_view line = message.substr(pos, end - pos);
    if (line == "\n") {
      pos = end;
      break;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !m.headers.empty()) {
      m.headers.back().value += '\n';
      m.headers.back().value.append(line.substr(0, line.size() - (eol == std::string_view::npos ? 0 : 1)));
    } else {
      std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) break;  // not a header: the body starts here
      std::string_view v = line.substr(colon + 1);
      if (!v.empty() && v.back() == '\n') v.remove_suffix(1);
      m.headers.push_back({field_name(line), std::string(v)});
    }
    pos = end;
  }
  m.body = message.substr(pos);
  return m;
}

Status apply_edits(const std::vector<Reply>& mods, std::string* message, common::spool::Envelope* env) {
  // The header block as fields; the body untouched unless replaced.
  std::vector<Field> fields;
  std::size_t pos = 0;
  const std::string& msg = *message;
  while (pos < msg.size()) {
    std::size_t eol = msg.find('\n', pos);
    std::size_t end = eol == std::string::npos ? msg.size() : eol + 1;
    std::string_view line(msg.data() + pos, end - pos);
    if (line == "\n") break;
    if ((line[0] == ' ' || line[0] == '\t') && !fields.empty()) {
      fields.back().text.append(line);
    } else {
      if (line.find(':') == std::string_view::npos) break;
      fields.push_back({field_name(line), std::string(line)});
    }
    pos = end;
  }
  std::size_t body_at = pos;
  std::string sender = env->sender;
  std::vector<std::string> rcpts = env->recipients;
  bool junk = env->junk;
  std::string hold = env->hold_reason;
  bool new_body = false;
  std::string body;

  auto nth = [&](const std::string& name, std::uint32_t index) -> std::ptrdiff_t {
    std::uint32_t seen = 0;
    for (std::size_t i = 0; i < fields.size(); ++i)
      if (common::mail::lower(fields[i].name) == common::mail::lower(name) && ++seen == std::max(index, 1u))
        return static_cast<std::ptrdiff_t>(i);
    return -1;
  };

  for (const Reply& r : mods) {
    switch (r.kind) {
      case K::kAddHeader:
      case K::kInsHeader: {
        auto f = render_field(r.name, r.value);
        if (!f) return f.status();
        std::size_t at =
            r.kind == K::kAddHeader ? fields.size() : std::min<std::size_t>(r.index, fields.size());
        fields.insert(fields.begin() + static_cast<std::ptrdiff_t>(at), Field{r.name, std::move(*f)});
        junk = junk || spam_flag(r.name, r.value);
        break;
      }
      case K::kChgHeader: {
        std::ptrdiff_t i = nth(r.name, r.index);
        if (r.value.empty()) {  // delete
          if (i >= 0) fields.erase(fields.begin() + i);
          break;
        }
        auto f = render_field(r.name, r.value);
        if (!f) return f.status();
        // A change of a header that is not there adds it, as Postfix does (rspamd sends
        // its X-Spam header this way).
        if (i >= 0)
          fields[static_cast<std::size_t>(i)].text = std::move(*f);
        else
          fields.push_back(Field{r.name, std::move(*f)});
        junk = junk || spam_flag(r.name, r.value);
        break;
      }
      case K::kChgFrom: {
        auto a = address(r.name, true);
        if (!a) return a.status();
        sender = std::move(*a);
        break;
      }
      case K::kAddRcpt:
      case K::kAddRcptPar: {
        auto a = address(r.name, false);
        if (!a) return a.status();
        std::string k = key_of(*a);
        bool have = false;
        for (const auto& x : rcpts) have = have || key_of(x) == k;
        if (!have) rcpts.push_back(std::move(*a));
        break;
      }
      case K::kDelRcpt: {
        auto a = address(r.name, false);
        if (!a) return a.status();
        std::string k = key_of(*a);
        std::erase_if(rcpts, [&](const std::string& x) { return key_of(x) == k; });
        break;
      }
      case K::kReplBody:
        if (!new_body) body.clear();
        new_body = true;
        // The filter sends CRLF line ends; the queue file keeps LF.
        for (std::size_t i = 0; i < r.value.size(); ++i) {
          char c = r.value[i];
          if (c == '\r' && i + 1 < r.value.size() && r.value[i + 1] == '\n') continue;
          if (c == '\r' && i + 1 == r.value.size()) {  // CR at a chunk's end: its LF may follow
            body.push_back(c);
            continue;
          }
          if (c == '\n' && !body.empty() && body.back() == '\r') body.pop_back();
          body.push_back(c);
        }
        break;
      case K::kQuarantine: {
        // SMFIR_QUARANTINE: accepted, then held in the queue until the administrator
        // releases or deletes it. The reason is the filter's text, kept printable.
        std::string why;
        for (char c : r.name.substr(0, common::spool::kMaxHoldReason))
          why.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
        hold = why.empty() ? "quarantined by a mail filter" : why;
        break;
      }
      default: return Status::error("filter modification not supported here");
    }
  }
  if (new_body) {
    if (body.find('\r') != std::string::npos) return Status::error("filter body with a bare CR");
    if (!body.empty() && body.back() != '\n') body.push_back('\n');
  }
  std::string out;
  out.reserve(msg.size() + 256);
  for (const auto& f : fields) out += f.text;
  if (new_body) {
    out += '\n';
    out += body;
  } else {
    out.append(msg, body_at, std::string::npos);
  }
  *message = std::move(out);
  env->sender = std::move(sender);
  env->recipients = std::move(rcpts);
  env->junk = junk;
  env->hold_reason = std::move(hold);
  return Status::ok();
}

}  // namespace smtpd
