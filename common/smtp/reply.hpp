// SMTP replies as the client side reads them: a strict, bounded, streaming parser shared
// by the remote delivery agent and `mailctl etrn`. No I/O: the caller hands it bytes and
// gets whole replies back. UNTRUSTED: every byte comes from a remote server, so lines,
// line counts and reply sizes are capped and every line is checked.
//   RFC 5321 4.2: Reply-line = *( Reply-code "-" [ textstring ] CRLF )
//                              Reply-code [ SP textstring ] CRLF
//   RFC 5321 4.2.1: the first digit is 2-5, the second 0-5 (we also accept 1yz nowhere).
//   RFC 5321 4.5.3.1.5: a reply line is at most 512 octets including CRLF.
//   RFC 2034 / RFC 3463: enhanced status code "class.subject.detail" at the start of text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace common::smtp {

// RFC 5321 4.5.3.1.5 says 512; real servers send longer lines (long EHLO keywords,
// verbose rejections), and 4.5.3.1 asks clients to be liberal. Postfix's client allows
// 2048 (line_length_limit): so do we.
inline constexpr std::size_t kMaxReplyLine = 2048;  // bytes, without the line end
inline constexpr std::size_t kMaxReplyLines = 100;  // lines in one multi-line reply
inline constexpr std::size_t kMaxReplyBytes = 64 * 1024;

struct Reply {
  int code = 0;                    // 200..559
  std::string enhanced;            // "5.1.1", or "" when the server sent none
  std::vector<std::string> lines;  // text of each line after "DDD-" / "DDD ", as sent

  int klass() const { return code / 100; }
  bool positive() const { return code >= 200 && code < 400; }
  bool transient() const { return klass() == 4; }
  bool permanent() const { return klass() == 5; }
  // One line for logs and bounces: "550 5.1.1 text of line 1 text of line 2", with the
  // repeated enhanced codes of continuation lines removed and control characters and
  // non-ASCII bytes escaped; cut at `max` bytes.
  std::string summary(std::size_t max = 800) const;
  // The text without code and enhanced status (lines joined by a blank).
  std::string text() const;
};

// Extracts an RFC 3463 enhanced status code from the start of `text`, valid only if its
// class matches `code`'s first digit (RFC 2034 4). Returns "" if there is none.
std::string enhanced_status(std::string_view text, int code);

// A valid RFC 3463 code: class 2, 4 or 5; subject and detail of 1 to 3 digits.
bool is_enhanced_status(std::string_view s);

class ReplyParser {
 public:
  enum class State { kNeedMore, kReply, kError };

  // Consumes bytes from the start of `data`, up to and including the end of the first
  // complete reply, and returns how many it used. Afterwards state() says whether a
  // reply is ready (take it with take()), more bytes are needed, or the input is bad
  // (error() says why; the parser then stays in kError). Lines may end in CRLF or a bare
  // LF (Postfix's client is as lenient); a NUL or a bare CR inside a line is an error.
  // REQUIRES: state() != kReply (take() the previous reply first).
  std::size_t feed(std::string_view data);

  State state() const { return state_; }
  Reply take();
  const std::string& error() const { return error_; }
  // True if part of a reply has been read (a multi-line reply in progress).
  bool in_reply() const { return !cur_.lines.empty(); }

 private:
  bool line(std::string_view l);
  bool fail(std::string why);

  State state_ = State::kNeedMore;
  Reply cur_;
  std::size_t bytes_ = 0;
  std::string partial_;  // an incomplete line carried over between feed() calls
  std::string error_;
};

}  // namespace common::smtp
