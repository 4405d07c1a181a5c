// Reading a new password for `user add` and `user passwd`: the first line of standard
// input when it is not a terminal (scripts: `echo secret | mailctl user add ...`),
// otherwise prompted twice with echo off. Passwords never come from argv and are wiped
// from memory after hashing.
#pragma once

#include <cstdio>
#include <string>

#include "common/result.hpp"

namespace mailctl {

inline constexpr std::size_t kMaxPassword = 1024;

// A password that erases itself.
class Secret {
 public:
  Secret() { s_.reserve(kMaxPassword + 2); }  // no reallocation copies left behind
  ~Secret();
  Secret(Secret&& o) noexcept;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  std::string& str() { return s_; }
  const std::string& str() const { return s_; }

 private:
  std::string s_;
};

// Reads one line (without its LF or CRLF) from `in`. Fails at end of input, on a NUL
// byte, or past kMaxPassword bytes.
common::Result<Secret> read_line_secret(std::FILE* in);

// The whole policy above; `prompt_out` receives the prompts. An empty password, a
// mismatch between the two entries, or no input is an error.
common::Result<Secret> read_new_password(std::FILE* in, std::FILE* prompt_out);

}  // namespace mailctl
