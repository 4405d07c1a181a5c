// Command line parsing (see commands.hpp). UNTRUSTED: network input; nothing here reads
// past the given views, and addresses go through common::mail::parse_path only.
#include "smtpd/commands.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include "common/mail/ascii.hpp"
#include "common/mail/idna.hpp"

namespace smtpd {

using common::mail::iequals;
using common::mail::istarts_with;
using common::mail::lower;
using common::mail::upper;

namespace {

using common::mail::Address;
using common::mail::PathOptions;

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view skip_spaces(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// RFC 5321 4.1.2: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
bool is_esmtp_keyword(std::string_view k) {
  if (k.empty() || !is_alnum(k.front())) return false;
  for (char c : k)
    if (!is_alnum(c) && c != '-') return false;
  return true;
}

// RFC 5321 4.1.2: esmtp-value = 1*(%d33-60 / %d62-126); RFC 6531 3.3 adds UTF-8.
bool is_esmtp_value(std::string_view v) {
  if (v.empty()) return false;
  for (unsigned char c : v)
    if (c < 33 || c == '=' || c == 127) return false;
  return common::mail::is_valid_utf8(v);
}

Reply syntax(std::string text) { return make_reply(501, "5.5.4", std::move(text)); }

template <class T>
Parsed<T> fail(Reply r) {
  Parsed<T> p;
  p.error = std::move(r);
  return p;
}

struct Param {
  std::string_view key;
  std::string_view value;
  bool has_value = false;
};

// Splits "SP key[=value] SP key..." (what follows the path). Returns false on bad syntax.
bool split_params(std::string_view s, std::array<Param, 16>* out, std::size_t* n, Reply* err) {
  *n = 0;
  if (!s.empty() && !is_space(s.front())) {
    *err = syntax("Syntax error after address");
    return false;
  }
  for (;;) {
    s = skip_spaces(s);
    if (s.empty()) return true;
    std::size_t end = 0;
    while (end < s.size() && !is_space(s[end])) ++end;
    std::string_view item = s.substr(0, end);
    s.remove_prefix(end);
    Param p;
    auto eq = item.find('=');
    p.key = item.substr(0, eq);
    if (eq != std::string_view::npos) {
      p.has_value = true;
      p.value = item.substr(eq + 1);
      if (!is_esmtp_value(p.value)) {
        *err = syntax("Bad parameter value syntax");
        return false;
      }
    }
    if (!is_esmtp_keyword(p.key)) {
      *err = syntax("Bad parameter syntax");
      return false;
    }
    for (std::size_t i = 0; i < *n; ++i)
      if (iequals((*out)[i].key, p.key)) {
        *err = syntax("Duplicate parameter");
        return false;
      }
    if (*n == out->size()) {
      *err = syntax("Too many parameters");
      return false;
    }
    (*out)[(*n)++] = p;
  }
}

// RFC 1870 3: size-value = 1*20DIGIT. Values beyond 64 bits saturate (they are over any
// limit anyway).
bool parse_size_value(std::string_view v, std::uint64_t* out) {
  if (v.empty() || v.size() > 20) return false;
  std::uint64_t n = 0;
  bool saturated = false;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    if (__builtin_mul_overflow(n, 10u, &n) || __builtin_add_overflow(n, static_cast<unsigned>(c - '0'), &n))
      saturated = true;
  }
  *out = saturated ? std::numeric_limits<std::uint64_t>::max() : n;
  return true;
}

// Parses "<path>" at the start of `s` (after "FROM:"/"TO:" and optional spaces). On
// success returns the address and sets *rest to what follows the path. The first pass
// allows UTF-8 so that the parameters can be found; the caller re-parses with the
// transaction's real SMTPUTF8 setting.
Address parse_or(std::string_view s, const PathOptions& opt, std::size_t* used, std::string* why, bool* ok) {
  auto r = common::mail::parse_path(s, opt, used);
  *ok = r.is_ok();
  if (!r) {
    *why = r.message();
    return Address{};
  }
  return std::move(r).value();
}

// RFC 6530 10.1, RFC 5890 2.3.2.1: a domain in U-labels and its A-label form are one
// name. Recipients go on with the A-label form, the form mailctl stores domains in, so
// that local domains, relay_domains and the queue see one spelling of each domain; a
// UTF-8 local part stays as it is. (The sender keeps its spelling: see parse_mail.) False (and *why) when the
// domain has no A-label form.
bool domain_to_alabels(Address* a, std::string* why) {
  if (a->literal || !common::mail::has_non_ascii(a->domain)) return true;
  auto ascii = common::mail::domain_to_ascii(a->domain);
  if (!ascii) {
    *why = ascii.message();
    return false;
  }
  a->domain = std::move(*ascii);
  a->utf8 = common::mail::has_non_ascii(a->local);
  if (a->domain.size() > common::mail::kMaxDomain || a->str().size() + 2 > common::mail::kMaxPath) {
    *why = "address too long with its domain in A-labels (RFC 5321 4.5.3.1)";
    return false;
  }
  return true;
}

}  // namespace

Command split_command(std::string_view line) {
  static constexpr std::pair<std::string_view, Verb> kVerbs[] = {
      {"HELO", Verb::kHelo}, {"EHLO", Verb::kEhlo}, {"MAIL", Verb::kMail}, {"RCPT", Verb::kRcpt},
      {"DATA", Verb::kData}, {"RSET", Verb::kRset}, {"NOOP", Verb::kNoop}, {"QUIT", Verb::kQuit},
      {"HELP", Verb::kHelp}, {"VRFY", Verb::kVrfy}, {"EXPN", Verb::kExpn}, {"STARTTLS", Verb::kStartTls},
      {"AUTH", Verb::kAuth}, {"ETRN", Verb::kEtrn}, {"BDAT", Verb::kBdat}, {"ATRN", Verb::kAtrn},
  };
  Command c;
  std::size_t end = 0;
  while (end < line.size() && !is_space(line[end])) ++end;
  c.name = line.substr(0, end);
  c.arg = trim_right(skip_spaces(line.substr(end)));
  for (const auto& [name, verb] : kVerbs)
    if (iequals(c.name, name)) c.verb = verb;
  return c;
}

Parsed<MailArgs> parse_mail(std::string_view arg, bool extended) {
  if (!istarts_with(arg, "FROM:")) return fail<MailArgs>(syntax("Syntax: MAIL FROM:<address>"));
  // RFC 5321 4.1.1.2 has no space after the colon; many clients send one, and refusing
  // it would gain nothing.
  std::string_view s = skip_spaces(arg.substr(5));
  if (s.empty() || s.front() != '<')
    return fail<MailArgs>(make_reply(501, "5.1.7", "Bad sender address syntax"));

  PathOptions opt;
  opt.allow_null = true;
  opt.allow_utf8 = true;
  std::size_t used = 0;
  std::string why;
  bool ok = false;
  Address wide = parse_or(s, opt, &used, &why, &ok);
  if (!ok) return fail<MailArgs>(make_reply(501, "5.1.7", "Bad sender address syntax: " + why));

  std::array<Param, 16> params;
  std::size_t n = 0;
  Reply err;
  if (!split_params(s.substr(used), &params, &n, &err)) return fail<MailArgs>(err);

  MailArgs m;
  for (std::size_t i = 0; i < n; ++i) {
    const Param& p = params[i];
    // RFC 5321 4.1.1.11 / 3.3: parameters of extensions that were not negotiated (HELO)
    // or that we do not implement get 555.
    if (!extended) return fail<MailArgs>(make_reply(555, "5.5.4", "MAIL parameters need EHLO"));
    if (iequals(p.key, "SIZE")) {
      std::uint64_t v = 0;
      if (!p.has_value || !parse_size_value(p.value, &v))
        return fail<MailArgs>(syntax("Bad SIZE value (RFC 1870)"));
      m.size = v;
    } else if (iequals(p.key, "BODY")) {
      if (!p.has_value) return fail<MailArgs>(syntax("BODY needs a value (RFC 6152)"));
      if (iequals(p.value, "7BIT"))
        m.body = Body::k7Bit;
      else if (iequals(p.value, "8BITMIME"))
        m.body = Body::k8BitMime;
      else
        return fail<MailArgs>(make_reply(555, "5.5.4", "Unsupported BODY type"));
    } else if (iequals(p.key, "SMTPUTF8")) {
      if (p.has_value) return fail<MailArgs>(syntax("SMTPUTF8 takes no value (RFC 6531 3.4)"));
      m.smtputf8 = true;
    } else if (iequals(p.key, "RET")) {  // RFC 3461 4.3
      auto r = p.has_value ? common::mail::parse_ret(p.value) : std::nullopt;
      if (!r) return fail<MailArgs>(syntax("Bad RET value: FULL or HDRS (RFC 3461 4.3)"));
      m.ret = *r;
    } else if (iequals(p.key, "ENVID")) {  // RFC 3461 4.4
      auto id = p.has_value ? common::mail::parse_envid(p.value) : std::nullopt;
      if (!id)
        return fail<MailArgs>(syntax("Bad ENVID value: xtext of at most 100 characters (RFC 3461 4.4)"));
      m.envid = std::move(*id);
    } else if (iequals(p.key, "REQUIRETLS")) {
      if (p.has_value) return fail<MailArgs>(syntax("REQUIRETLS takes no value (RFC 8689 4.1)"));
      m.requiretls = true;
    } else {
      return fail<MailArgs>(make_reply(555, "5.5.4", "Unsupported parameter"));
    }
  }

  // The real parse, with UTF-8 allowed only when the client declared SMTPUTF8.
  opt.allow_utf8 = m.smtputf8;
  std::size_t used2 = 0;
  Address strict = parse_or(s, opt, &used2, &why, &ok);
  if (!ok) {
    if (wide.utf8)  // RFC 6531 3.5: non-ASCII address without SMTPUTF8
      return fail<MailArgs>(make_reply(553, "5.6.7", "Non-ASCII sender address needs SMTPUTF8"));
    return fail<MailArgs>(make_reply(501, "5.1.7", "Bad sender address syntax: " + why));
  }
  // RFC 6531 3.7: the UTF-8 spelling is what goes on; the A-label form (which must
  // exist) is for lookups only.
  if (strict.utf8) m.sender_as_sent = strict.str();
  if (!domain_to_alabels(&strict, &why))
    return fail<MailArgs>(make_reply(501, "5.1.7", "Bad sender address syntax: " + why));
  m.sender = std::move(strict);
  Parsed<MailArgs> out;
  out.value = std::move(m);
  return out;
}

Parsed<RcptArgs> parse_rcpt(std::string_view arg, bool smtputf8) {
  if (!istarts_with(arg, "TO:")) return fail<RcptArgs>(syntax("Syntax: RCPT TO:<address>"));
  std::string_view s = skip_spaces(arg.substr(3));
  if (s.empty() || s.front() != '<')
    return fail<RcptArgs>(make_reply(501, "5.1.3", "Bad recipient address syntax"));
  PathOptions opt;
  opt.allow_postmaster = true;  // RFC 5321 4.5.1
  opt.allow_utf8 = smtputf8;
  std::size_t used = 0;
  std::string why;
  bool ok = false;
  Address a = parse_or(s, opt, &used, &why, &ok);
  if (!ok) {
    if (!smtputf8) {
      PathOptions wide = opt;
      wide.allow_utf8 = true;
      std::string ignored;
      bool wide_ok = false;
      Address w = parse_or(s, wide, &used, &ignored, &wide_ok);
      if (wide_ok && w.utf8)  // RFC 6531 3.5
        return fail<RcptArgs>(make_reply(553, "5.6.7", "Non-ASCII recipient address needs SMTPUTF8"));
    }
    return fail<RcptArgs>(make_reply(501, "5.1.3", "Bad recipient address syntax: " + why));
  }
  if (!domain_to_alabels(&a, &why))
    return fail<RcptArgs>(make_reply(501, "5.1.3", "Bad recipient address syntax: " + why));
  std::array<Param, 16> params;
  std::size_t n = 0;
  Reply err;
  if (!split_params(s.substr(used), &params, &n, &err)) {
    err.status = "5.1.3";
    err.text = "Bad recipient address syntax: " + err.text;
    return fail<RcptArgs>(err);
  }
  RcptArgs r{std::move(a), {}};
  for (std::size_t i = 0; i < n; ++i) {
    const Param& p = params[i];
    if (iequals(p.key, "NOTIFY")) {  // RFC 3461 4.1
      auto bits = p.has_value ? common::mail::parse_notify(p.value) : std::nullopt;
      if (!bits)
        return fail<RcptArgs>(syntax("Bad NOTIFY value: NEVER or SUCCESS,FAILURE,DELAY (RFC 3461 4.1)"));
      r.dsn.notify = *bits;
    } else if (iequals(p.key, "ORCPT")) {  // RFC 3461 4.2
      auto o = p.has_value ? common::mail::parse_orcpt(p.value) : std::nullopt;
      if (!o) return fail<RcptArgs>(syntax("Bad ORCPT value: addr-type;xtext (RFC 3461 4.2)"));
      r.dsn.orcpt = std::move(*o);
    } else {
      return fail<RcptArgs>(make_reply(555, "5.5.4", "Unsupported parameter"));
    }
  }
  Parsed<RcptArgs> out;
  out.value = std::move(r);
  return out;
}

Parsed<AuthArgs> parse_auth(std::string_view arg) {
  std::size_t end = 0;
  while (end < arg.size() && !is_space(arg[end])) ++end;
  std::string_view mech = arg.substr(0, end);
  std::string_view rest = skip_spaces(arg.substr(end));
  // RFC 4954 4: sasl-mech = 1*20mech-char; mech-char = UPPER-ALPHA / DIGIT / "-" / "_"
  // (we take lower case too and upper-case it).
  if (mech.empty() || mech.size() > 20)
    return fail<AuthArgs>(syntax("Syntax: AUTH mechanism [initial-response]"));
  AuthArgs a;
  for (char c : mech) {
    if (!is_alnum(c) && c != '-' && c != '_')
      return fail<AuthArgs>(syntax("Syntax: AUTH mechanism [initial-response]"));
    a.mechanism.push_back(upper(c));
  }
  if (!rest.empty()) {
    for (char c : rest)
      if (is_space(c)) return fail<AuthArgs>(syntax("Syntax: AUTH mechanism [initial-response]"));
    a.initial = std::string(rest);
  }
  Parsed<AuthArgs> out;
  out.value = std::move(a);
  return out;
}

Parsed<EtrnArgs> parse_etrn(std::string_view arg) {
  // RFC 1985 5: "501 Syntax Error in Parameters".
  auto bad = [] { return fail<EtrnArgs>(syntax("Syntax Error in Parameters: ETRN [@]domain")); };
  if (arg.empty()) return bad();
  for (char c : arg)
    if (is_space(c)) return bad();
  EtrnArgs e;
  if (arg.front() == '#') {  // RFC 1985 5: "#" names a queue instead of a node
    if (arg.size() == 1 || arg.size() > kMaxHeloName) return bad();
    for (unsigned char c : arg)
      if (c <= 0x20 || c >= 0x7f) return bad();
    e.queue_name = true;
    e.node = std::string(arg.substr(1));
  } else {
    if (arg.front() == '@') {  // RFC 1985 5: "@" asks for the domain and its subdomains
      e.subdomains = true;
      arg.remove_prefix(1);
    }
    if (!common::mail::is_domain(arg, false)) return bad();
    e.node = lower(arg);
  }
  Parsed<EtrnArgs> out;
  out.value = std::move(e);
  return out;
}

Parsed<AtrnArgs> parse_atrn(std::string_view arg) {
  auto bad = [] { return fail<AtrnArgs>(syntax("Syntax: ATRN [domain[,domain]...]")); };
  AtrnArgs a;
  if (arg.empty()) {
    Parsed<AtrnArgs> out;
    out.value = std::move(a);
    return out;
  }
  std::size_t pos = 0;
  for (;;) {
    std::size_t comma = arg.find(',', pos);
    std::string_view d =
        arg.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (d.empty() || d.size() > kMaxHeloName || !common::mail::is_domain(d, false)) return bad();
    std::string low = lower(d);
    if (std::find(a.domains.begin(), a.domains.end(), low) == a.domains.end()) {
      if (a.domains.size() == kMaxAtrnDomains)
        return fail<AtrnArgs>(make_reply(501, "5.5.4", "Too many domains in one ATRN"));
      a.domains.push_back(std::move(low));
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  Parsed<AtrnArgs> out;
  out.value = std::move(a);
  return out;
}

Parsed<BdatArgs> parse_bdat(std::string_view arg) {
  auto bad = [] { return fail<BdatArgs>(syntax("Syntax: BDAT chunk-size [LAST]")); };
  std::size_t end = 0;
  while (end < arg.size() && !is_space(arg[end])) ++end;
  std::string_view digits = arg.substr(0, end);
  std::string_view rest = skip_spaces(arg.substr(end));
  if (digits.empty() || digits.size() > 20) return bad();
  BdatArgs b;
  for (char c : digits) {
    if (c < '0' || c > '9') return bad();
    unsigned d = static_cast<unsigned>(c - '0');
    if (b.size > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return bad();
    b.size = b.size * 10 + d;
  }
  if (!rest.empty()) {
    if (!iequals(rest, "LAST")) return bad();
    b.last = true;
  }
  Parsed<BdatArgs> out;
  out.value = b;
  return out;
}

Parsed<std::string> parse_helo(std::string_view arg) {
  std::size_t end = 0;
  while (end < arg.size() && !is_space(arg[end])) ++end;
  std::string_view name = arg.substr(0, end);
  if (name.empty()) return fail<std::string>(syntax("Syntax: EHLO hostname"));
  if (name.size() > kMaxHeloName) return fail<std::string>(syntax("Host name too long"));
  for (unsigned char c : name)
    if (c < 0x21 || c == 0x7f) return fail<std::string>(syntax("Bad character in host name"));
  // RFC 6531 3.7.1: an SMTPUTF8 client may send a U-label; it must be well-formed.
  if (!common::mail::is_valid_utf8(name)) return fail<std::string>(syntax("Malformed UTF-8 in host name"));
  Parsed<std::string> out;
  out.value = std::string(name);
  return out;
}

}  // namespace smtpd
