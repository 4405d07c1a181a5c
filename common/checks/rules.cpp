// The administrator's filtering rules (see rules.hpp): parsing and normalising what
// mailctl is given, and matching senders and client addresses. Domains are compared in
// their ASCII form (RFC 5890 A-labels, as smtpd and DNS see them); case is folded for
// ASCII only (RFC 5321 2.4: local parts are case-sensitive in principle, but no
// administrator means "Spam@x" to differ from "spam@x").
#include "common/checks/rules.hpp"

#include <cctype>
#include <charconv>

#include "common/mail/ascii.hpp"
#include "common/mail/idna.hpp"

namespace common::checks {
namespace {

bool has_control_or_space(std::string_view s) {
  for (unsigned char c : s)
    if (c <= 0x20 || c == 0x7f) return true;
  return false;
}

// A domain (or a domain pattern with '*' in some labels) in lower-case A-labels: each
// label that is not ASCII goes through IDNA (RFC 5891); ASCII labels hold letters,
// digits, '-', '_' and '*'; no label is empty.
Result<std::string> domain_pattern(std::string_view d) {
  if (d.empty()) return Status::error("empty domain in pattern");
  std::string out;
  std::size_t start = 0;
  for (;;) {
    std::size_t dot = d.find('.', start);
    std::string_view label = d.substr(start, dot == std::string_view::npos ? d.size() - start : dot - start);
    if (label.empty()) return Status::error("empty label in domain");
    bool ascii = true;
    for (unsigned char c : label)
      if (c >= 0x80) ascii = false;
    if (!out.empty()) out += '.';
    if (ascii) {
      for (char c : label)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '*'))
          return Status::error("invalid character in domain");
      out += mail::lower(label);
    } else {
      if (label.find('*') != std::string_view::npos)
        return Status::error("a wildcard label must be ASCII (write its A-label form)");
      auto a = mail::domain_to_ascii(label);
      if (!a) return a.status();
      out += mail::lower(*a);
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out;
}

bool is_action(const std::string& w) { return w == "reject" || w == "allow" || w == "junk"; }

}  // namespace

Result<std::string> normalise_sender_pattern(std::string_view text) {
  if (text.empty()) return Status::error("empty sender pattern");
  if (text.size() > kMaxSenderPattern)
    return Status::error("sender pattern longer than " + std::to_string(kMaxSenderPattern) + " octets");
  if (has_control_or_space(text)) return Status::error("sender pattern holds a space or control character");
  auto at = text.rfind('@');
  if (at == std::string_view::npos)
    return Status::error("sender pattern needs an '@' (address, @domain or *@domain)");
  std::string local = mail::lower(text.substr(0, at));
  if (local.empty()) local = "*";  // "@domain": anyone there
  auto dom = domain_pattern(text.substr(at + 1));
  if (!dom) return Status::error("sender pattern: " + dom.message());
  return local + "@" + *dom;
}

std::string sender_subject(std::string_view address) {
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return mail::lower(address);
  std::string out = mail::lower(address.substr(0, at + 1));
  std::string_view dom = address.substr(at + 1);
  auto a = mail::domain_to_ascii(dom);
  out += mail::lower(a ? std::string_view(*a) : dom);
  return out;
}

// Iterative wildcard match with one backtrack point (the last '*'): a later '*'
// subsumes every earlier choice, so no deeper backtracking is needed.
bool glob_match(std::string_view p, std::string_view t) {
  std::size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (pi < p.size() && mail::lower(p[pi]) == mail::lower(t[ti])) {
      ++pi;
      ++ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

Result<accounts::FilterRule> parse_rule(const std::vector<std::string>& w, bool for_delete) {
  accounts::FilterRule r;
  if (w.empty()) return Status::error("a rule needs a kind: sender, client, word or attachment-size");
  r.kind = w[0];
  auto action_at = [&](std::size_t i, std::initializer_list<const char*> allowed) -> Status {
    if (i >= w.size()) {
      if (for_delete) return Status::ok();
      return Status::error("'" + r.kind + "' rule needs an action");
    }
    for (const char* a : allowed)
      if (w[i] == a) {
        r.action = w[i];
        return Status::ok();
      }
    return Status::error("'" + w[i] + "' is not an action for a " + r.kind + " rule");
  };
  if (r.kind == "sender") {
    if (w.size() < 2) return Status::error("'sender' rule needs a pattern");
    auto p = normalise_sender_pattern(w[1]);
    if (!p) return p.status();
    r.pattern = *p;
    std::size_t next = 2;
    if (w.size() > 2 && is_action(w[2])) {
      MB_TRY(action_at(2, {"reject", "allow"}));
      next = 3;
    } else if (!for_delete) {
      return Status::error("'sender' rule needs reject or allow");
    }
    if (w.size() > next) {
      if (w[next].find('*') != std::string::npos) return Status::error("a rule's domain takes no wildcard");
      auto d = domain_pattern(w[next]);
      if (!d) return Status::error("rule domain: " + d.message());
      r.scope = *d;
      ++next;
    }
    if (w.size() > next) return Status::error("too many words for a sender rule");
    return r;
  }
  if (r.kind == "client") {
    if (w.size() < 2 || w.size() > 3) return Status::error("usage: client CIDR reject");
    auto n = net::Network::parse(w[1]);
    if (!n) return Status::error("client network: " + n.message());
    r.pattern = n->str();
    MB_TRY(action_at(2, {"reject"}));
    return r;
  }
  if (r.kind == "word") {
    if (w.size() < 2 || w.size() > 3) return Status::error("usage: word 'PHRASE' reject|junk");
    std::string phrase = mail::lower(w[1]);
    if (phrase.empty() || phrase.find_first_not_of(" \t") == std::string::npos)
      return Status::error("empty phrase");
    if (phrase.size() > kMaxPhrase)
      return Status::error("phrase longer than " + std::to_string(kMaxPhrase) + " octets");
    for (unsigned char c : phrase)
      if (c < 0x20 || c == 0x7f) return Status::error("phrase holds a control character");
    r.pattern = phrase;
    MB_TRY(action_at(2, {"reject", "junk"}));
    return r;
  }
  if (r.kind == "attachment-size") {
    if (w.size() > 3) return Status::error("usage: attachment-size BYTES");
    if (w.size() == 3 && w[2] != "reject") return Status::error("an attachment-size rule only rejects");
    r.action = "reject";
    if (w.size() < 2) {
      if (for_delete) return r;
      return Status::error("'attachment-size' rule needs a size in bytes");
    }
    std::uint64_t n = 0;
    const std::string& s = w[1];
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || end != s.data() + s.size() || n == 0 || n > kMaxAttachmentLimit)
      return Status::error("attachment size must be a number of bytes from 1 to 2^40");
    r.pattern = std::to_string(n);
    return r;
  }
  return Status::error("unknown rule kind '" + r.kind + "' (sender, client, word or attachment-size)");
}

std::string describe_rule(const accounts::FilterRule& r) {
  std::string out = r.kind + " ";
  if (r.kind == "word")
    out += "'" + r.pattern + "'";
  else
    out += r.pattern;
  if (r.kind != "attachment-size" && !r.action.empty()) out += " " + r.action;
  if (!r.scope.empty()) out += " " + r.scope;
  return out;
}

RuleSet RuleSet::build(const std::vector<accounts::FilterRule>& rules) {
  RuleSet s;
  for (const auto& r : rules) {
    if (r.kind == "sender" && (r.action == "reject" || r.action == "allow") && !r.pattern.empty()) {
      s.senders.push_back(SenderRule{r.pattern, r.action == "allow", r.scope});
    } else if (r.kind == "client" && r.action == "reject") {
      auto n = net::Network::parse(r.pattern);
      if (n)
        s.clients.push_back(*n);
      else
        ++s.skipped;
    } else if (r.kind == "word" && (r.action == "reject" || r.action == "junk") && !r.pattern.empty()) {
      s.words.push_back(WordRule{mail::lower(r.pattern), r.action == "junk"});
    } else if (r.kind == "attachment-size") {
      std::uint64_t n = 0;
      auto [end, ec] = std::from_chars(r.pattern.data(), r.pattern.data() + r.pattern.size(), n);
      if (ec == std::errc() && end == r.pattern.data() + r.pattern.size() && n > 0 &&
          (s.attachment_max == 0 || n < s.attachment_max))
        s.attachment_max = n;
      else if (ec != std::errc() || n == 0)
        ++s.skipped;
    } else {
      ++s.skipped;
    }
  }
  return s;
}

bool client_blocked(const RuleSet& rules, std::string_view ip) {
  if (rules.clients.empty()) return false;
  auto a = net::IpAddress::parse(ip);
  if (!a) return false;
  for (const auto& n : rules.clients)
    if (n.contains(*a)) return true;
  return false;
}

SenderVerdict sender_verdict(const RuleSet& rules, std::string_view sender,
                             std::optional<std::string_view> rcpt_domain) {
  SenderVerdict v;
  if (sender.empty() || rules.senders.empty()) return v;  // the null sender matches no pattern
  std::string subject = sender_subject(sender);
  bool reject = false;
  for (const auto& r : rules.senders) {
    bool applies = r.scope.empty() || (rcpt_domain ? mail::iequals(r.scope, *rcpt_domain) : r.allow);
    if (!applies || (r.allow ? v.allowed : reject)) continue;
    if (!glob_match(r.pattern, subject)) continue;
    (r.allow ? v.allowed : reject) = true;
    if (v.allowed) break;  // nothing can change the verdict now
  }
  v.rejected = reject && !v.allowed;
  return v;
}

}  // namespace common::checks
