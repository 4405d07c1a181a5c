// MIME transfer decodings (see mime_decode.hpp): RFC 2045 6.7 and 6.8, RFC 2047.
#include "common/mail/mime_decode.hpp"

#include "common/mail/ascii.hpp"
#include "common/mail/charset.hpp"

namespace common::mail {
namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;  // RFC 2045 6.7 (1): lower case may be accepted
  return -1;
}

int b64(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool is_lws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// The Q encoding of RFC 2047 4.2: like quoted-printable, "_" for a space, no soft breaks.
std::string decode_q(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '_') {
      out += ' ';
    } else if (in[i] == '=' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out += static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

// One encoded word at the start of `in` (RFC 2047 2: "=?" charset "?" encoding "?"
// encoded-text "?="); its length and decoded octets (in UTF-8 with `utf8`), or 0.
std::size_t encoded_word(std::string_view in, std::string* out, bool utf8) {
  if (in.size() < 8 || in[0] != '=' || in[1] != '?') return 0;
  std::size_t q1 = in.find('?', 2);
  if (q1 == std::string_view::npos || q1 == 2 || q1 + 2 >= in.size() || in[q1 + 2] != '?') return 0;
  char enc = lower(in[q1 + 1]);
  if (enc != 'b' && enc != 'q') return 0;
  std::size_t end = in.find("?=", q1 + 3);
  if (end == std::string_view::npos) return 0;
  std::string_view text = in.substr(q1 + 3, end - q1 - 3);
  for (char c : text)
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return 0;  // RFC 2047 5: no white space inside
  *out = enc == 'b' ? decode_base64_lenient(text) : decode_q(text);
  if (utf8) {
    std::string_view charset = in.substr(2, q1 - 2);
    charset = charset.substr(0, charset.find('*'));  // RFC 2231 5: charset*language
    *out = to_utf8(*out, charset);
  }
  return end + 2;
}

}  // namespace

std::string decode_quoted_printable(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    char c = in[i];
    if (c == '=') {
      // Soft line break: "=" then optional white space then the line end (RFC 2045 6.7 (5)).
      std::size_t j = i + 1;
      while (j < in.size() && (in[j] == ' ' || in[j] == '\t')) ++j;
      if (j < in.size() && (in[j] == '\n' || in[j] == '\r')) {
        if (in[j] == '\r' && j + 1 < in.size() && in[j + 1] == '\n') ++j;
        i = j + 1;
        continue;
      }
      if (j == in.size()) break;  // "=" at the very end: a soft break before the end
      if (i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
        out += static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2]));
        i += 3;
        continue;
      }
      out += c;  // not an escape: kept
      ++i;
      continue;
    }
    if (c == ' ' || c == '\t') {
      // RFC 2045 6.7 (3): white space at the end of an encoded line is not data.
      std::size_t j = i;
      while (j < in.size() && (in[j] == ' ' || in[j] == '\t')) ++j;
      if (j == in.size() || in[j] == '\r' || in[j] == '\n') {
        i = j;
        continue;
      }
      out.append(in.substr(i, j - i));
      i = j;
      continue;
    }
    out += c;
    ++i;
  }
  return out;
}

std::string decode_base64_lenient(std::string_view in) {
  std::string out;
  out.reserve(in.size() / 4 * 3 + 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;  // RFC 2045 6.8: the pad ends the data
    int v = b64(c);
    if (v < 0) continue;  // RFC 2045 6.8: characters outside the alphabet are ignored
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string decode_encoded_words(std::string_view in, bool utf8) {
  std::string out;
  std::size_t i = 0;
  bool last_was_word = false;
  std::size_t pending_ws = 0;  // start of white space after an encoded word
  while (i < in.size()) {
    std::string word;
    std::size_t n = in[i] == '=' ? encoded_word(in.substr(i), &word, utf8) : 0;
    if (n > 0) {
      // RFC 2047 6.2: white space between two encoded words is not displayed.
      if (last_was_word && pending_ws != std::string::npos) out.resize(pending_ws);
      out += word;
      i += n;
      last_was_word = true;
      pending_ws = out.size();
      continue;
    }
    if (!is_lws(in[i])) {
      last_was_word = false;
      pending_ws = std::string::npos;
    }
    out += in[i++];
  }
  return out;
}

std::string fold_for_matching(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  bool space = false;
  for (char c : in) {
    if (is_lws(c)) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return lower_utf8(out);
}

}  // namespace common::mail
