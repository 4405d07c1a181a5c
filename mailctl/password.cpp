// Implementation of password input (see password.hpp).
#include "mailctl/password.hpp"

#include <openssl/crypto.h>
#include <termios.h>
#include <unistd.h>

namespace mailctl {

using common::Status;

Secret::~Secret() {
  if (s_.capacity() > 0) OPENSSL_cleanse(s_.data(), s_.capacity());
}

Secret::Secret(Secret&& o) noexcept {
  s_.reserve(kMaxPassword + 2);
  s_.assign(o.s_);
  OPENSSL_cleanse(o.s_.data(), o.s_.capacity());
  o.s_.clear();
}

common::Result<Secret> read_line_secret(std::FILE* in) {
  Secret s;
  bool any = false;
  for (;;) {
    int c = std::fgetc(in);
    if (c == EOF) break;
    any = true;
    if (c == '\n') break;
    if (c == '\0') return Status::error("password contains a NUL byte");
    if (s.str().size() >= kMaxPassword) return Status::error("password longer than 1024 bytes");
    s.str().push_back(static_cast<char>(c));
  }
  if (!any) return Status::error("no password given on standard input");
  if (!s.str().empty() && s.str().back() == '\r') s.str().pop_back();
  return s;
}

namespace {

// Turns terminal echo off for its lifetime.
class NoEcho {
 public:
  explicit NoEcho(int fd) : fd_(fd) {
    if (::tcgetattr(fd_, &saved_) == 0) {
      termios t = saved_;
      t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      t.c_lflag |= ECHONL;
      ok_ = ::tcsetattr(fd_, TCSAFLUSH, &t) == 0;
    }
  }
  ~NoEcho() {
    if (ok_) ::tcsetattr(fd_, TCSAFLUSH, &saved_);
  }

 private:
  int fd_;
  termios saved_{};
  bool ok_ = false;
};

common::Result<Secret> prompt(std::FILE* in, std::FILE* out, const char* text) {
  std::fputs(text, out);
  std::fflush(out);
  NoEcho quiet(::fileno(in));
  return read_line_secret(in);
}

}  // namespace

common::Result<Secret> read_new_password(std::FILE* in, std::FILE* prompt_out) {
  // Unbuffered, so no copy of the password lingers in the stream's buffer. (Allowed: it
  // is the first operation on the stream.)
  std::setvbuf(in, nullptr, _IONBF, 0);
  if (!::isatty(::fileno(in))) {
    auto s = read_line_secret(in);
    if (!s) return s;
    if (s->str().empty()) return Status::error("empty password refused");
    return s;
  }
  auto first = prompt(in, prompt_out, "New password: ");
  if (!first) return first;
  if (first->str().empty()) return Status::error("empty password refused");
  auto second = prompt(in, prompt_out, "Repeat password: ");
  if (!second) return second;
  if (first->str() != second->str()) return Status::error("the passwords do not match");
  return first;
}

}  // namespace mailctl
