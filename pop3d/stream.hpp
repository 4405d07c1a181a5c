// The wire form of RETR and TOP (RFC 1939 3 and 7), produced in bounded chunks so that
// memory does not grow with the message: LF line ends become CRLF (a CRLF already there
// stays), a line starting with "." gets another "." (byte-stuffing), TOP stops after the
// header block and n body lines, and the response ends with ".\r\n" on a line of its own.
// Pure: the server reads the file and feeds it here as the socket drains.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pop3d {

class WireEncoder {
 public:
  // body_lines: TOP's n (nullopt for RETR, the whole message).
  explicit WireEncoder(std::optional<std::uint64_t> body_lines = std::nullopt) : body_lines_(body_lines) {}

  // Appends the encoding of `in` (the next bytes of the file) to `out`.
  void feed(std::string_view in, std::string& out);
  // True when TOP has sent all it will send: the caller may stop reading the file.
  bool done() const { return stopped_; }
  // Appends the end of the response: a CRLF if the message did not end with a line end,
  // then ".\r\n".
  void finish(std::string& out);

 private:
  std::optional<std::uint64_t> body_lines_;
  bool at_line_start_ = true;
  bool prev_cr_ = false;
  bool in_body_ = false;
  std::uint64_t line_bytes_ = 0;  // bytes of the current line so far (to find the blank line)
  bool stopped_ = false;
};

// The RFC 1939 size of a stored message: its length once every bare LF is a CRLF (what
// WireEncoder sends, before byte-stuffing). For files without a W= size field.
class WireSizer {
 public:
  void feed(std::string_view in);
  std::uint64_t size() const { return size_; }

 private:
  std::uint64_t size_ = 0;
  bool prev_cr_ = false;
};

}  // namespace pop3d
