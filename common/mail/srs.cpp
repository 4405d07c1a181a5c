// Sender Rewriting Scheme (see srs.hpp). UNTRUSTED: reverse() parses recipient local
// parts from the network.
#include "common/mail/srs.hpp"

#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/io/fdio.hpp"
#include "common/mail/address.hpp"
#include "common/mail/ascii.hpp"

namespace common::mail::srs {
namespace {

constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

bool is_sep(char c) { return c == '=' || c == '+' || c == '-'; }

// kHashLen base32 characters of HMAC-SHA1(secret, lower(f1) \0 lower(f2) ...).
std::string hash(std::string_view secret, std::initializer_list<std::string_view> fields) {
  std::string data;
  for (auto f : fields) {
    for (char c : f) data.push_back(lower(c));
    data.push_back('\0');
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  std::uint64_t bits = 0;
  for (int i = 0; i < 5; ++i) bits = (bits << 8) | md[i];  // 40 bits, we use the top 30
  std::string out;
  for (std::size_t i = 0; i < kHashLen; ++i) out.push_back(kBase32[(bits >> (35 - 5 * i)) & 31]);
  return out;
}

std::string timestamp(std::int64_t now) {
  std::int64_t day = (now / 86400) % 1024;
  return {kBase32[(day >> 5) & 31], kBase32[day & 31]};
}

int base32_value(char c) {
  c = lower(c);
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

// Days since the timestamp TT (two base32 characters), on the 1024-day wheel; -1 if TT
// is not a timestamp.
std::int64_t age_days(std::string_view tt, std::int64_t now) {
  if (tt.size() != 2) return -1;
  int hi = base32_value(tt[0]), lo = base32_value(tt[1]);
  if (hi < 0 || lo < 0) return -1;
  std::int64_t then = hi * 32 + lo;
  std::int64_t today = (now / 86400) % 1024;
  return (today - then + 1024) % 1024;
}

// Splits off the text up to the next '='.
bool take_field(std::string_view* s, std::string_view* field) {
  std::size_t eq = s->find('=');
  if (eq == std::string_view::npos) return false;
  *field = s->substr(0, eq);
  s->remove_prefix(eq + 1);
  return true;
}

// Is `tail` (an SRS0 address's fields after "SRS0": separator, hash, TT, ...) within its
// lifetime? An SRS1 address made from it expires with it.
bool fresh_tail(std::string_view tail, std::int64_t now) {
  if (tail.size() < 2 || !is_sep(tail[0])) return false;
  tail.remove_prefix(1);
  std::string_view h0, tt;
  if (!take_field(&tail, &h0) || !take_field(&tail, &tt)) return false;
  std::int64_t age = age_days(tt, now);
  return age >= 0 && age <= kMaxAgeDays;
}

}  // namespace

bool is_srs(std::string_view local) {
  return local.size() > 5 && (iequals(local.substr(0, 4), "srs0") || iequals(local.substr(0, 4), "srs1")) &&
         is_sep(local[4]);
}

Result<std::string> forward(std::string_view secret, std::string_view local, std::string_view domain,
                            std::string_view srs_domain, std::int64_t now) {
  MB_CHECK(secret.size() >= kMinSecret, "SRS secret too short");
  if (local.empty() || domain.empty() || srs_domain.empty()) return Status::error("SRS: empty address part");
  std::string out;
  // An SRS1 sender of another forwarder: "SRS1=HHH=host=" then its SRS0 tail, which
  // starts with a separator. Anything else that merely starts with "SRS1" is wrapped
  // like an ordinary local part.
  std::string_view s1 = local.size() > 5 ? local.substr(5) : std::string_view();
  std::string_view h1, host1;
  bool srs1 = iequals(local.substr(0, 4), "srs1") && local.size() > 5 && is_sep(local[4]) &&
              take_field(&s1, &h1) && take_field(&s1, &host1) && !host1.empty() && s1.size() > 1 &&
              is_sep(s1[0]) && fresh_tail(s1, now) &&
              parse_mailbox("SRS0" + std::string(s1) + "@" + std::string(host1), true).is_ok();
  // An SRS0 or SRS1 sender whose timestamp cannot be read or has run out is wrapped like
  // an ordinary local part: an SRS1 made from it could never be reversed.
  if (iequals(local.substr(0, 4), "srs0") && local.size() > 5 && is_sep(local[4]) &&
      fresh_tail(local.substr(4), now)) {
    // Another forwarder's SRS0: keep its host as the first hop, the rest verbatim.
    std::string_view rest = local.substr(4);
    out = "SRS1=" + hash(secret, {domain, rest}) + "=" + std::string(domain) + "=" + std::string(rest);
  } else if (srs1) {
    // Re-sign its first hop and tail for us.
    out = "SRS1=" + hash(secret, {host1, s1}) + "=" + std::string(host1) + "=" + std::string(s1);
  } else {
    std::string tt = timestamp(now);
    out = "SRS0=" + hash(secret, {tt, domain, local}) + "=" + tt + "=" + std::string(domain) + "=" +
          std::string(local);
  }
  if (out.size() > kMaxLocalPart) return Status::error("SRS address longer than 64 octets");
  std::string addr = out + "@" + std::string(srs_domain);
  auto a = parse_mailbox(addr, true);
  if (!a) return Status::error("SRS address not valid: " + a.message());
  return a->str();
}

Result<std::string> reverse(std::string_view secret, std::string_view local, std::int64_t now) {
  MB_CHECK(secret.size() >= kMinSecret, "SRS secret too short");
  if (!is_srs(local)) return Status::error("not an SRS address");
  bool srs1 = lower(local[3]) == '1';
  std::string_view s = local.substr(5);
  std::string_view h;
  if (!take_field(&s, &h) || h.size() != kHashLen) return Status::error("SRS: bad hash field");
  std::string result;
  if (srs1) {
    std::string_view host;
    if (!take_field(&s, &host) || host.empty() || s.size() < 2 || !is_sep(s[0]))
      return Status::error("SRS: malformed SRS1 address");
    if (!iequals(h, hash(secret, {host, s}))) return Status::error("SRS: hash mismatch");
    // The tail is the first forwarder's SRS0 (=HHH=TT=domain=local): its TT is when the
    // original message was first forwarded, and an SRS1 address expires with it, as
    // SRS0 does (otherwise one SRS1 address seen once would be good forever).
    std::string_view tail = s.substr(1), h0, tt;
    if (!take_field(&tail, &h0) || !take_field(&tail, &tt))
      return Status::error("SRS: malformed SRS1 address");
    std::int64_t age = age_days(tt, now);
    if (age < 0) return Status::error("SRS: bad timestamp");
    if (age > kMaxAgeDays) return Status::error("SRS: address expired");
    result = "SRS0" + std::string(s) + "@" + std::string(host);
  } else {
    std::string_view tt, domain;
    if (!take_field(&s, &tt) || !take_field(&s, &domain) || tt.size() != 2 || domain.empty() || s.empty())
      return Status::error("SRS: malformed SRS0 address");
    if (!iequals(h, hash(secret, {tt, domain, s}))) return Status::error("SRS: hash mismatch");
    std::int64_t age = age_days(tt, now);
    if (age < 0) return Status::error("SRS: bad timestamp");
    if (age > kMaxAgeDays) return Status::error("SRS: address expired");
    // The original local part may need quoting again ("a b"@x, .dot@x).
    Address orig;
    orig.local = std::string(s);
    orig.domain = std::string(domain);
    result = orig.str();
  }
  auto a = parse_mailbox(result, true);
  if (!a || a->domain.empty()) return Status::error("SRS: original address not valid");
  return a->str();
}

Result<std::string> new_secret() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) return Status::error("RAND_bytes failed");
  static const char hex[] = "0123456789abcdef";
  std::string s;
  for (unsigned char b : raw) {
    s.push_back(hex[b >> 4]);
    s.push_back(hex[b & 15]);
  }
  return s;
}

Result<std::string> load_secret(const std::string& path) {
  auto t = io::read_file(path, 4096);
  if (!t) return t.status();
  std::string s = std::move(*t);
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && blank(s.back())) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && blank(s[i])) ++i;
  s.erase(0, i);
  if (s.size() < kMinSecret) return Status::error(path + ": SRS secret shorter than 16 bytes");
  return s;
}

}  // namespace common::mail::srs
