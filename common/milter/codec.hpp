// Milter packets (protocol.hpp): encoding of the MTA's commands and UNTRUSTED decoding of
// a filter's replies. Pure: bytes in, values out. The conversation itself (which command
// when, what a reply means at each stage) is client.hpp's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/milter/protocol.hpp"
#include "common/result.hpp"

namespace common::milter {

// Macro name and value, e.g. {"{client_addr}", "192.0.2.1"} or {"i", "4Fx2..."}.
using Macros = std::vector<std::pair<std::string, std::string>>;

// --- Encoding (MTA to filter). Strings must not hold NUL: they are cut at the first one.
std::string encode_packet(char code, std::string_view payload);
std::string encode_optneg(std::uint32_t version, std::uint32_t actions, std::uint32_t steps);
// `stage` is the command the macros belong to (cmd::kConnect, ...). Empty: no packet.
std::string encode_macros(char stage, const Macros& macros);
// family: '4', '6', 'U' (unix) or 'L' (unknown: nothing follows).
std::string encode_connect(std::string_view host, char family, std::uint16_t port, std::string_view addr);
std::string encode_helo(std::string_view helo);
// MAIL and RCPT: the address in angle brackets, then the ESMTP parameters.
std::string encode_args(char code, const std::vector<std::string>& args);
std::string encode_header(std::string_view name, std::string_view value);

// --- Decoding (filter to MTA).
struct Packet {
  char code = 0;
  std::string data;
};

// Splits a byte stream into packets. A length of 0 or above kMaxPacket is an error
// (the stream cannot be resynchronised after it).
class FrameReader {
 public:
  void feed(std::string_view bytes) { buf_.append(bytes); }
  // The next complete packet; nullopt when more bytes are needed.
  Result<std::optional<Packet>> next();
  std::size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::string buf_;
  std::size_t pos_ = 0;
};

struct SymList {
  std::uint32_t stage = 0;  // MacroStage
  std::vector<std::string> names;
};

// The filter's OPTNEG reply.
struct Negotiated {
  std::uint32_t version = 0;
  std::uint32_t actions = 0;
  std::uint32_t steps = 0;
  std::vector<SymList> symlists;  // macros it wants per stage (SETSYMLIST)
};
Result<Negotiated> decode_optneg(std::string_view data);

// An SMTP reply a filter chose (SMFIR_REPLYCODE): RFC 5321 4.2 code, the RFC 3463
// enhanced code when present, and the text (lines of a multi-line reply joined by a
// space). Only 4xx and 5xx are accepted, as libmilter's smfi_setreply allows.
struct ReplyCode {
  int code = 0;
  std::string status;  // "5.7.1" or empty
  std::string text;
};
Result<ReplyCode> decode_replycode(std::string_view data);

// One decoded reply packet.
struct Reply {
  enum class Kind {
    kContinue,
    kAccept,
    kReject,
    kTempfail,
    kDiscard,
    kReplyCode,
    kSkip,
    kProgress,
    kAddHeader,
    kInsHeader,
    kChgHeader,
    kDelRcpt,
    kAddRcpt,
    kAddRcptPar,
    kChgFrom,
    kReplBody,
    kQuarantine,
    kShutdown,  // SMFIR_SHUTDOWN, SMFIR_CONN_FAIL: the filter gives up
  };
  Kind kind = Kind::kContinue;
  ReplyCode reply;          // kReplyCode
  std::uint32_t index = 0;  // kInsHeader, kChgHeader (1-based among same-named headers)
  std::string name;         // header name; the address for the recipient/sender kinds;
                            // the reason for kQuarantine
  std::string value;        // header value; the ESMTP parameters for kAddRcptPar/kChgFrom;
                            // the body chunk for kReplBody
};
// UNTRUSTED. Any reply code but OPTNEG (decode_optneg) and SETSYMLIST (inside OPTNEG).
Result<Reply> decode_reply(const Packet& p);

}  // namespace common::milter
