// The result of a delivery or queue step, shared by every program: ok, temporary
// (retry later, SMTP 4xx) or permanent (bounce, SMTP 5xx).
#pragma once

#include <cstdint>
#include <string>

namespace common::mail {

enum class Outcome : std::uint8_t { kOk = 0, kTemporary = 1, kPermanent = 2 };

inline const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kOk: return "ok";
    case Outcome::kTemporary: return "temporary";
    case Outcome::kPermanent: return "permanent";
  }
  return "?";
}

// For the IPC decoder: a value read off the wire must be one of the enumerators.
inline bool valid_enum(Outcome o) {
  return o == Outcome::kOk || o == Outcome::kTemporary || o == Outcome::kPermanent;
}

// An outcome with the text a human (or a bounce) needs: an RFC 3463 enhanced status
// code ("5.1.1") and a short explanation.
struct Verdict {
  Outcome outcome = Outcome::kOk;
  std::string status;  // enhanced status code, e.g. "4.3.0"
  std::string text;
  template <class F>
  void fields(F& f) {
    f(outcome);
    f(status);
    f(text);
  }
};

}  // namespace common::mail
