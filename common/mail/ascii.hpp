// ASCII case folding for protocol tokens, domains and lookup keys (upper() for command
// keywords and SASL mechanism names). Mail compares these
// without regard to ASCII case (RFC 5321 2.4: verbs, parameters and domains; local parts
// are folded only by Mailbag's own lookup keys), and never by the C locale: non-ASCII
// octets (UTF-8 under SMTPUTF8) pass through unchanged. One copy for the whole tree.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace common::mail {

constexpr char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

inline std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

inline std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = upper(c);
  return out;
}

constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

constexpr bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

}  // namespace common::mail
