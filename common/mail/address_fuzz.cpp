// libFuzzer target for the RFC 5321 path parser (common/mail/address.hpp). Every input
// goes through parse_path with each option combination and through parse_mailbox; what
// parses must satisfy the parser's promises (bounds, limits, canonical re-parse), and
// its domain converts to an ASCII form (common/mail/idna.hpp) without crashing.
// Seeds: tests/fuzz/corpus/address_fuzz/. Replayed by `make unit`, fuzzed by `make fuzz`.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/mail/address.hpp"
#include "common/mail/idna.hpp"

namespace mail = common::mail;

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

// The canonical text of a parsed address must parse again, to the same thing.
void check_reparse(const mail::Address& a, bool utf8) {
  if (a.null() || a.domain.empty()) return;
  std::string s = a.str();
  require(s.size() <= mail::kMaxPath - 2);
  auto m = mail::parse_mailbox(s, utf8);
  require(m.is_ok());
  require(m->key() == a.key());
  require(m->str() == s);
  require(m->local == a.local && m->domain == a.domain && m->literal == a.literal);
  require(m->utf8 == a.utf8);
  mail::PathOptions o;
  o.allow_utf8 = utf8;
  std::size_t used = 0;
  auto p = mail::parse_path("<" + s + ">", o, &used);
  require(p.is_ok());
  require(used == s.size() + 2);
  require(p->key() == a.key());
  // The domain's A-label form (what remote looks up and sends to servers without
  // SMTPUTF8) is ASCII, and an ASCII domain is left as it is.
  if (!a.literal) {
    auto ascii = mail::domain_to_ascii(a.domain);
    if (ascii.is_ok())
      for (unsigned char c : *ascii) require(c < 0x80);
    if (!a.utf8) require(ascii.is_ok() && *ascii == a.domain);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (int bits = 0; bits < 8; ++bits) {
    mail::PathOptions o;
    o.allow_null = bits & 1;
    o.allow_postmaster = bits & 2;
    o.allow_utf8 = bits & 4;
    std::size_t used = ~std::size_t{0};
    auto a = mail::parse_path(text, o, &used);
    if (!a) continue;
    require(used >= 2 && used <= size && used <= mail::kMaxPath);
    require(text[0] == '<' && text[used - 1] == '>');
    if (a->null()) {
      require(o.allow_null && used == 2);
      continue;
    }
    if (a->domain.empty()) {
      require(o.allow_postmaster && a->local == "postmaster");
      continue;
    }
    require(!a->local.empty() && a->local.size() <= mail::kMaxLocalPart);
    require(a->domain.size() <= mail::kMaxDomain);
    require(o.allow_utf8 || !a->utf8);
    require(a->literal == (a->domain.front() == '['));
    check_reparse(*a, o.allow_utf8);
  }
  for (bool utf8 : {false, true}) {
    auto m = mail::parse_mailbox(text, utf8);
    if (!m) continue;
    require(size <= mail::kMaxPath - 2);
    require(utf8 || !m->utf8);
    check_reparse(*m, utf8);
  }
  return 0;
}
