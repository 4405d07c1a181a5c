// The IPC message types and the protocol each socket announces in its Hello (the
// catalogue of messages is messages.hpp; wire format and rules: man/mailbag-ipc.7).
#pragma once

#include <cstdint>

namespace common::ipc {

enum class MsgType : std::uint16_t {
  kHello = 1,
  kSubmit = 10,
  kSubmitDone = 11,
  kEtrn = 12,
  kEtrnDone = 13,
  kAtrn = 14,
  kAtrnDone = 15,
  kDeliver = 20,
  kDeliverDone = 21,
  kTurn = 22,
  kQueueList = 30,
  kQueueListReply = 31,
  kQueueCommand = 32,
  kQueueCommandReply = 33,
  kCheck = 40,
  kCheckDone = 41,
  kSign = 50,
  kSignDone = 51,
  kAuthCheck = 60,
  kAuthReply = 61,
  kAuthRedeem = 62,
  kAuthRedeemReply = 63,
  kKeyOp = 70,
  kKeyOpDone = 71,
  kPop3Handover = 80,
  kPop3HandoverDone = 81,
  kPop3SessionEnded = 82,
};

// Protocol names announced in Hello, one per socket.
inline constexpr const char* kProtoSubmit = "mailbag-submit";    // private/submit
inline constexpr const char* kProtoDeliver = "mailbag-deliver";  // private/local, private/remote
inline constexpr const char* kProtoControl = "mailbag-control";  // private/control (mailctl)
inline constexpr const char* kProtoChecks = "mailbag-checks";    // private/checks (smtpd)
inline constexpr const char* kProtoSign = "mailbag-sign";        // signer/sign (the DKIM signer)
inline constexpr const char* kProtoAuth = "mailbag-auth";        // private/auth (mailbag-auth)
inline constexpr const char* kProtoTlsKey = "mailbag-tlskey";    // private/tlskey (mailbag-tlskey)
// private/pop3-mailbox (the POP3 mailbox process; only pop3d's user)
inline constexpr const char* kProtoPop3Mailbox = "mailbag-pop3-mailbox";
inline constexpr std::uint32_t kProtoVersion = 4;

}  // namespace common::ipc
