// A small JSON writer (RFC 8259) for the TLS aggregate report (RFC 8460 4): objects,
// arrays, strings and integers, written in order with commas placed for the caller.
// Strings are escaped as RFC 8259 7 requires (quote, backslash, control characters);
// bytes that are not valid UTF-8 become U+FFFD, so the output is always valid JSON.
// Tested in json_test.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace common::tlsrpt {

// `s` as a JSON string literal, quotes included.
std::string json_string(std::string_view s);

class JsonWriter {
 public:
  void begin_object();
  void end_object();
  void begin_array();
  void end_array();
  // The member name of the next value (inside an object).
  void key(std::string_view k);
  void value(std::string_view s);
  void value(const char* s) { value(std::string_view(s)); }
  void value(std::int64_t n);
  // Shorthands for a member.
  void member(std::string_view k, std::string_view s) { key(k), value(s); }
  void member(std::string_view k, const char* s) { key(k), value(std::string_view(s)); }
  void member(std::string_view k, std::int64_t n) { key(k), value(n); }
  void member(std::string_view k, const std::vector<std::string>& strings);

  const std::string& str() const { return out_; }

 private:
  void separate();
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

}  // namespace common::tlsrpt
