// Charset conversion and case folding for matching (see charset.hpp).
#include "common/mail/charset.hpp"

#include <iconv.h>
#include <locale.h>
#include <wctype.h>

#include <cerrno>

#include "common/mail/ascii.hpp"

namespace common::mail {
namespace {

constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD

bool plain_name(std::string_view n) {
  if (n.empty() || n.size() > 40) return false;
  for (char c : n) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.' || c == ':' || c == '+' || c == '(' || c == ')';
    if (!ok) return false;
  }
  return true;
}

// One UTF-8 sequence at the start of `s`: its code point and length, or length 0.
std::size_t decode_one(std::string_view s, char32_t* cp) {
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = b(0);
  std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || n > s.size()) return 0;
  char32_t v = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
  for (std::size_t i = 1; i < n; ++i) {
    if ((b(i) & 0xc0) != 0x80) return 0;
    v = (v << 6) | (b(i) & 0x3f);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not UTF-8 (RFC 3629 3).
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < kMin[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
  *cp = v;
  return n;
}

void encode_one(char32_t v, std::string* out) {
  if (v < 0x80) {
    out->push_back(static_cast<char>(v));
  } else if (v < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (v >> 6)));
    out->push_back(static_cast<char>(0x80 | (v & 0x3f)));
  } else if (v < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (v >> 12)));
    out->push_back(static_cast<char>(0x80 | ((v >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (v & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (v >> 18)));
    out->push_back(static_cast<char>(0x80 | ((v >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((v >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (v & 0x3f)));
  }
}

locale_t utf8_locale() {
  static locale_t l = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  return l;
}

}  // namespace

std::string to_utf8(std::string_view text, std::string_view charset) {
  std::string name = lower(charset);
  if (name.empty() || name == "us-ascii" || name == "utf-8" || name == "utf8" || !plain_name(name))
    return std::string(text);
  iconv_t cd = iconv_open("UTF-8", name.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) return std::string(text);  // unknown: as it is
  std::string out;
  const std::size_t cap = text.size() * kMaxGrowth + 16;
  out.reserve(text.size() + text.size() / 2);
  char* in = const_cast<char*>(text.data());  // iconv's interface; it does not write there
  std::size_t in_left = text.size();
  char buf[4096];
  while (in_left > 0 && out.size() < cap) {
    char* o = buf;
    std::size_t o_left = sizeof buf;
    std::size_t r = iconv(cd, &in, &in_left, &o, &o_left);
    out.append(buf, sizeof buf - o_left);
    if (r != static_cast<std::size_t>(-1)) continue;
    if (errno == E2BIG) continue;
    // EILSEQ, or EINVAL (a sequence cut at the end): one replacement, one octet skipped.
    out += kReplacement;
    ++in;
    --in_left;
    iconv(cd, nullptr, nullptr, nullptr, nullptr);  // back to the initial shift state
  }
  iconv_close(cd);
  if (out.size() > cap) out.resize(cap);
  return out;
}

std::string lower_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  locale_t loc = utf8_locale();
  std::size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      out.push_back(lower(static_cast<char>(c)));
      ++i;
      continue;
    }
    char32_t cp = 0;
    std::size_t n = decode_one(text.substr(i), &cp);
    if (n == 0) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (loc != static_cast<locale_t>(nullptr)) {
      wint_t l = towlower_l(static_cast<wint_t>(cp), loc);
      // A few letters lower-case to a longer UTF-8 form (U+023A to U+2C65): those are
      // kept, so the output never outgrows the input.
      char32_t lc = static_cast<char32_t>(l);
      std::string enc;
      encode_one(lc, &enc);
      if (enc.size() <= n) {
        out += enc;
        i += n;
        continue;
      }
    }
    out.append(text.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace common::mail
