// The Sendmail milter protocol, version 6, as Postfix speaks it to mail filters (rspamd,
// OpenDKIM, OpenDMARC, clamav-milter): the command, reply, action and protocol-step
// codes of libmilter's mfdef.h. Every packet on the wire is a 4-byte big-endian length
// (counting the code byte), one code byte and the payload. Used by codec.hpp (framing)
// and client.hpp (the per-session conversation); no I/O here.
#pragma once

#include <cstddef>
#include <cstdint>

namespace common::milter {

inline constexpr std::uint32_t kVersion = 6;
// The largest packet accepted from a filter. libmilter's own limit for a body chunk is
// 64K (MILTER_CHUNK_SIZE); 1M is its largest negotiable data size (SMFIP_MDS_1M), and a
// replaced body arrives in chunks of at most that.
inline constexpr std::size_t kMaxPacket = (1 << 20) + 64;
// Body chunks sent to a filter: libmilter's MILTER_CHUNK_SIZE.
inline constexpr std::size_t kBodyChunk = 65535;

// Commands (MTA to filter).
namespace cmd {
inline constexpr char kAbort = 'A';    // end of the transaction, not of the connection
inline constexpr char kBody = 'B';     // a body chunk
inline constexpr char kConnect = 'C';  // host\0 family port(2) address\0
inline constexpr char kMacro = 'D';    // stage command, then name\0value\0 pairs
inline constexpr char kEom = 'E';      // end of message: modifications, then the verdict
inline constexpr char kHelo = 'H';     // helo\0
inline constexpr char kHeader = 'L';   // name\0value\0
inline constexpr char kMail = 'M';     // <sender>\0 then ESMTP parameters, each \0
inline constexpr char kEoh = 'N';      // end of headers
inline constexpr char kOptneg = 'O';   // version(4) actions(4) protocol(4)
inline constexpr char kQuit = 'Q';     // close the connection
inline constexpr char kRcpt = 'R';     // <recipient>\0 then ESMTP parameters, each \0
inline constexpr char kData = 'T';     // the DATA command
}  // namespace cmd

// Replies (filter to MTA).
namespace rep {
inline constexpr char kAddRcpt = '+';     // recipient\0
inline constexpr char kDelRcpt = '-';     // recipient\0
inline constexpr char kAddRcptPar = '2';  // recipient\0 parameters\0
inline constexpr char kShutdown = '4';    // the filter shuts down (treated as tempfail)
inline constexpr char kAccept = 'a';
inline constexpr char kReplBody = 'b';  // a chunk of the new body
inline constexpr char kContinue = 'c';
inline constexpr char kDiscard = 'd';
inline constexpr char kChgFrom = 'e';     // sender\0 [parameters\0]
inline constexpr char kConnFail = 'f';    // cause a connection failure (treated as tempfail)
inline constexpr char kAddHeader = 'h';   // name\0value\0
inline constexpr char kInsHeader = 'i';   // index(4) name\0value\0
inline constexpr char kSetSymList = 'l';  // (inside the OPTNEG reply only)
inline constexpr char kChgHeader = 'm';   // index(4) name\0value\0; empty value deletes
inline constexpr char kOptneg = 'O';
inline constexpr char kProgress = 'p';    // still working: restart the timer
inline constexpr char kQuarantine = 'q';  // reason\0
inline constexpr char kReject = 'r';
inline constexpr char kSkip = 's';  // send no more body chunks
inline constexpr char kTempfail = 't';
inline constexpr char kReplyCode = 'y';  // "550 5.7.1 text\0"
}  // namespace rep

// Actions a filter may take (SMFIF_*), offered in OPTNEG.
namespace act {
inline constexpr std::uint32_t kAddHeaders = 0x01;
inline constexpr std::uint32_t kChangeBody = 0x02;
inline constexpr std::uint32_t kAddRcpt = 0x04;
inline constexpr std::uint32_t kDelRcpt = 0x08;
inline constexpr std::uint32_t kChangeHeaders = 0x10;
inline constexpr std::uint32_t kQuarantine = 0x20;
inline constexpr std::uint32_t kChangeFrom = 0x40;
inline constexpr std::uint32_t kAddRcptPar = 0x80;
inline constexpr std::uint32_t kSetSymList = 0x100;
}  // namespace act

// Protocol steps (SMFIP_*): what the filter does not want sent (NO*), where it will not
// reply (NR_*), and the MTA's understanding of SKIP and leading spaces.
namespace step {
inline constexpr std::uint32_t kNoConnect = 0x01;
inline constexpr std::uint32_t kNoHelo = 0x02;
inline constexpr std::uint32_t kNoMail = 0x04;
inline constexpr std::uint32_t kNoRcpt = 0x08;
inline constexpr std::uint32_t kNoBody = 0x10;
inline constexpr std::uint32_t kNoHeaders = 0x20;
inline constexpr std::uint32_t kNoEoh = 0x40;
inline constexpr std::uint32_t kNrHeader = 0x80;
inline constexpr std::uint32_t kNoUnknown = 0x100;
inline constexpr std::uint32_t kNoData = 0x200;
inline constexpr std::uint32_t kSkip = 0x400;
inline constexpr std::uint32_t kRcptRej = 0x800;
inline constexpr std::uint32_t kNrConnect = 0x1000;
inline constexpr std::uint32_t kNrHelo = 0x2000;
inline constexpr std::uint32_t kNrMail = 0x4000;
inline constexpr std::uint32_t kNrRcpt = 0x8000;
inline constexpr std::uint32_t kNrData = 0x10000;
inline constexpr std::uint32_t kNrUnknown = 0x20000;
inline constexpr std::uint32_t kNrEoh = 0x40000;
inline constexpr std::uint32_t kNrBody = 0x80000;
inline constexpr std::uint32_t kHeaderLeadingSpace = 0x100000;
// Data-size bits some filters set; they only say the filter copes with bigger chunks.
inline constexpr std::uint32_t kDataSize256K = 0x10000000;
inline constexpr std::uint32_t kDataSize1M = 0x20000000;
}  // namespace step

// Macro stages in a SETSYMLIST entry (SMFIM_*).
enum class MacroStage : std::uint32_t {
  kConnect = 0,
  kHelo = 1,
  kMail = 2,
  kRcpt = 3,
  kData = 4,
  kEom = 5,
  kEoh = 6
};
inline constexpr std::uint32_t kMacroStages = 7;

}  // namespace common::milter
