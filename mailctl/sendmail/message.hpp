// What sendmail does to the text it is given, without any I/O: reading it from standard
// input in pieces (CRLF becomes LF; a line holding a single "." ends it unless -i),
// finding the header section, the addresses of To:/Cc:/Bcc: for -t (RFC 5322 3.4
// address lists), and the final text for the queue file: our Received: on top, Bcc:
// removed (RFC 5322 3.6.3), Date:, Message-ID: and From: added when missing.
// UNTRUSTED: the text and the addresses come from the calling user. Fuzzed by
// sendmail_message_fuzz.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mail/address.hpp"
#include "common/result.hpp"

namespace sendmail {

class MessageReader {
 public:
  MessageReader(bool ignore_dots, std::uint64_t limit) : ignore_dots_(ignore_dots), limit_(limit) {}
  // Takes the next piece of input. Returns false once the message has ended (a lone "."
  // line in the classic mode): the caller stops reading then.
  bool feed(std::string_view data);
  // End of input: a last line without a line end gets one.
  void finish();

  const std::string& text() const { return text_; }  // LF line ends
  bool too_big() const { return too_big_; }          // more than `limit` octets
  bool nul() const { return nul_; }                  // a NUL octet (RFC 5322 2.1 / 2045 2.7)

 private:
  void line(std::string_view l);  // one complete line, without its LF
  bool ignore_dots_;
  std::uint64_t limit_;
  std::string text_;
  std::string partial_;  // the line so far
  bool ended_ = false;
  bool too_big_ = false;
  bool nul_ = false;
};

struct Header {
  std::string name;  // as written
  std::string text;  // the whole field, name and folded lines included, ending in LF
  // The value unfolded (RFC 5322 2.2.3): line ends removed, leading space trimmed.
  std::string value() const;
};

struct Message {
  std::vector<Header> headers;
  std::string body;  // everything after the blank line (or all of it, with no header)
  const Header* find(std::string_view name) const;  // case-insensitive
};

// Splits the text into header fields and body. The header section ends at the first
// empty line, or at the first line that is neither a field ("Name: ...", RFC 5322 2.2)
// nor a continuation of one; then that line begins the body.
Message split_message(std::string_view text);

// The mailboxes of an address list (RFC 5322 3.4): display names, comments, quoted
// strings, groups ("undisclosed-recipients:;") and route addresses are understood; an
// address without a domain gets `default_domain` (a local user, as sendmail always
// did). An address that is not a valid mailbox is an error naming it.
common::Result<std::vector<common::mail::Address>> parse_address_list(std::string_view list,
                                                                      const std::string& default_domain);

struct Compose {
  std::string hostname;  // ours, for Received: and Message-ID:
  std::string queue_id;
  std::int64_t time = 0;  // arrival, UNIX time
  unsigned long uid = 0;  // the caller, for Received:
  std::string from;       // "alice@example.org": the caller's address, for a missing From:
  std::string full_name;  // -F or the passwd entry's name, "" for none
};

// The message as it goes into the queue file (LF line ends).
std::string compose(const Message& m, const Compose& c);

// A display name as a header phrase: as is when it is a run of atoms, a quoted-string
// when it holds specials (RFC 5322 3.2.5), an RFC 2047 encoded-word when it is not
// ASCII. Control characters are dropped, so it cannot end the header early.
std::string display_name(std::string_view name);

}  // namespace sendmail
