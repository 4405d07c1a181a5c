// Status and Result<T>: the expected-failure channel of every Mailbag program.
// C++20 has no std::expected; this is the small LevelDB-style replacement. Nothing in
// steady state throws: I/O errors, bad peer input and full disks travel as values.
#pragma once

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "common/check.hpp"

namespace common {

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status error(std::string msg, int err = 0) { return Status(std::move(msg), err); }
  // Error from errno: "what: strerror(errno)".
  static Status sys(const std::string& what, int err = errno) {
    return Status(what + ": " + std::strerror(err), err);
  }

  bool is_ok() const { return !failed_; }
  explicit operator bool() const { return is_ok(); }
  const std::string& message() const { return msg_; }
  int err() const { return err_; }

 private:
  Status(std::string msg, int err) : failed_(true), err_(err), msg_(std::move(msg)) {}
  bool failed_ = false;
  int err_ = 0;
  std::string msg_;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Status st) : status_(std::move(st)) { MB_CHECK(!status_.is_ok(), "Result from ok Status"); }

  bool is_ok() const { return value_.has_value(); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const { return status_; }
  const std::string& message() const { return status_.message(); }

  T& value() & {
    MB_CHECK(value_.has_value(), "value() of failed Result");
    return *value_;
  }
  const T& value() const& {
    MB_CHECK(value_.has_value(), "value() of failed Result");
    return *value_;
  }
  T&& value() && {
    MB_CHECK(value_.has_value(), "value() of failed Result");
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace common

// Propagate a failed Status from an expression returning Status.
#define MB_TRY(expr)                            \
  do {                                          \
    ::common::Status mb_try_st_ = (expr);       \
    if (!mb_try_st_.is_ok()) return mb_try_st_; \
  } while (0)
