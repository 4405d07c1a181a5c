// The message body on the wire, client side: queue files hold LF line ends and no dot
// stuffing; SMTP wants CRLF line ends, a doubled dot at the start of a line and a lone
// "." line at the end. Streaming, so a large message is sent in bounded memory. For BDAT
// (RFC 3030 2) the same line ends, without the dots: chunks are counted, not terminated.
//   RFC 5321 4.5.2: a line starting with "." gets one more "." prepended.
//   RFC 5321 2.3.8: CR and LF only as CRLF. A bare CR in the queue (smtpd keeps what it
//   cannot safely interpret) is sent as a line end, so that no byte sequence we send can
//   be read by a lenient receiver as an end of data we did not mean (SMTP smuggling).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace common::smtp {

class DataEncoder {
 public:
  // `dot_stuff` false: for BDAT, no doubled dots and no "." line.
  explicit DataEncoder(bool dot_stuff = true) : dot_stuff_(dot_stuff) {}
  // Appends the wire form of the next piece of the message to `out`.
  void encode(std::string_view chunk, std::string* out);
  // Appends the end of the data: a CRLF if the message did not end with a line end,
  // then ".\r\n" (with dot stuffing).
  void finish(std::string* out);

 private:
  bool dot_stuff_ = true;
  bool line_start_ = true;
  bool pending_cr_ = false;
};

// The SIZE= estimate (RFC 1870 3) of a queued message: its bytes plus one CR per line.
std::uint64_t wire_size(std::uint64_t lf_bytes, std::uint64_t lf_lines);

}  // namespace common::smtp
