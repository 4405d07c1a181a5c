// The IPC messages of the daemons that hold the secrets a login needs, part of the
// catalogue in messages.hpp: the authentication daemon (private/auth), the TLS key daemon
// (private/tlskey) and the POP3 handover from pop3d to the mailbox process
// (private/pop3-mailbox). Described in man/mailbag-ipc.7.
#pragma once

#include <cstdint>
#include <string>

#include "common/ipc/msg_types.hpp"

namespace common::ipc {

// smtpd/pop3d -> mailbag-auth (private/auth): check a login name and password that a
// client sent. `service` ("smtp", "pop3") and `client` (its IP address) are for the log.
// The authentication daemon alone reads the password hashes.
struct AuthCheck {
  static constexpr MsgType kType = MsgType::kAuthCheck;
  std::uint64_t request_id = 0;
  std::string service;
  std::string client;
  std::string login;
  std::string password;
  template <class F>
  void fields(F& f) {
    f(request_id);
    f(service);
    f(client);
    f(login);
    f(password);
  }
};

enum class AuthResult : std::uint8_t {
  kOk = 0,
  kBadCredentials = 1,  // no such account, a disabled one, or a wrong password
  kTempFail = 2,        // database unreadable, too many checks waiting: try again later
};
inline bool valid_enum(AuthResult r) { return static_cast<std::uint8_t>(r) <= 2; }

// mailbag-auth -> smtpd/pop3d: the verdict; with kOk the canonical account address and,
// for service "pop3", a one-time login token (common/authd/tokens.hpp) that the POP3
// mailbox process redeems (AuthRedeem) for the account's Maildir. pop3d never learns
// the Maildir: it cannot open one.
struct AuthReply {
  static constexpr MsgType kType = MsgType::kAuthReply;
  std::uint64_t request_id = 0;
  AuthResult result = AuthResult::kTempFail;
  std::string account;
  std::string token;
  template <class F>
  void fields(F& f) {
    f(request_id);
    f(result);
    f(account);
    f(token);
  }
};

// POP3 mailbox process -> mailbag-auth (private/auth): redeem the login token that came
// with a handed-over client. Only the mailbox process's user may send it.
struct AuthRedeem {
  static constexpr MsgType kType = MsgType::kAuthRedeem;
  std::uint64_t request_id = 0;
  std::string account;
  std::string token;
  template <class F>
  void fields(F& f) {
    f(request_id);
    f(account);
    f(token);
  }
};

// mailbag-auth -> POP3 mailbox process: kOk with the account's Maildir when the token was
// issued for `account`, is unused and unexpired (and is then spent); kBadCredentials
// otherwise (the token is spent all the same).
struct AuthRedeemReply {
  static constexpr MsgType kType = MsgType::kAuthRedeemReply;
  std::uint64_t request_id = 0;
  AuthResult result = AuthResult::kTempFail;
  std::string maildir;
  template <class F>
  void fields(F& f) {
    f(request_id);
    f(result);
    f(maildir);
  }
};

// The TLS key daemon's operations. The RSA ones are the raw private-key operation on a
// block the caller prepared, with the padding OpenSSL asked for: kRsaPkcs1 adds PKCS #1
// v1.5 type 1 padding to a DigestInfo (RFC 8017 9.2), kRsaNone takes a block already
// padded (RSA-PSS, RFC 8017 9.1, padded by the caller) of exactly the modulus' size.
enum class KeyOpKind : std::uint8_t {
  kKeyId = 0,     // no signature: answer the fingerprint of the key the daemon holds
  kRsaPkcs1 = 1,  // RSA private encrypt with PKCS #1 v1.5 type 1 padding
  kRsaNone = 2,   // RSA private encrypt without padding (the caller padded: RSA-PSS)
  kEcdsa = 3,     // ECDSA signature of a digest, DER-encoded (RFC 3279 2.2.3)
};
inline bool valid_enum(KeyOpKind k) { return static_cast<std::uint8_t>(k) <= 3; }

// smtpd/pop3d -> mailbag-tlskey (private/tlskey): one private-key operation during a TLS
// handshake. `key_id` is the SHA-256 of the DER SubjectPublicKeyInfo of the certificate
// the caller serves: the daemon refuses when its key is another one, so that a caller
// with a stale certificate gets a clear refusal rather than a signature no client accepts.
struct KeyOp {
  static constexpr MsgType kType = MsgType::kKeyOp;
  std::uint64_t request_id = 0;
  KeyOpKind op = KeyOpKind::kKeyId;
  std::string key_id;  // 32 bytes
  std::string data;    // the block or digest; empty for kKeyId
  template <class F>
  void fields(F& f) {
    f(request_id);
    f(op);
    f(key_id);
    f(data);
  }
};

enum class KeyOpResult : std::uint8_t {
  kOk = 0,
  kKeyMismatch = 1,  // the daemon's key is not the one `key_id` names (reply's key_id is)
  kRefused = 2,      // not an operation this key does (RSA on an EC key, bad sizes)
  kFailed = 3,       // the operation failed (`text` says why) or no key is loaded
};
inline bool valid_enum(KeyOpResult r) { return static_cast<std::uint8_t>(r) <= 3; }

// mailbag-tlskey -> smtpd/pop3d: the answer to one KeyOp, in order.
struct KeyOpDone {
  static constexpr MsgType kType = MsgType::kKeyOpDone;
  std::uint64_t request_id = 0;
  KeyOpResult result = KeyOpResult::kFailed;
  std::string key_id;  // the fingerprint of the key the daemon holds (empty: none)
  std::string signature;
  std::string text;
  template <class F>
  void fields(F& f) {
    f(request_id);
    f(result);
    f(key_id);
    f(signature);
    f(text);
  }
};

// pop3d -> POP3 mailbox process (private/pop3-mailbox), with SCM_RIGHTS: a client that
// logged in. The descriptor is the client's TCP connection (plain POP3), or one end of a
// socketpair whose other end pop3d relays to and from the client's TLS session. The
// mailbox process redeems `token` for `account` (AuthRedeem) before it opens that
// account's Maildir; `input` is what the client sent after its login command (pipelined
// commands), to be read before the descriptor.
struct Pop3Handover {
  static constexpr MsgType kType = MsgType::kPop3Handover;
  std::uint64_t request_id = 0;
  std::string account;
  std::string token;
  std::string client;  // the client's IP address, for the log
  bool tls = false;    // the session is under TLS (pop3d relays it)
  std::string input;
  template <class F>
  void fields(F& f) {
    f(request_id);
    f(account);
    f(token);
    f(client);
    f(tls);
    f(input);
  }
};

enum class HandoverResult : std::uint8_t {
  kOk = 0,        // the mailbox process serves the client now (and sent "+OK Logged in")
  kRefused = 1,   // the token was not good for the account
  kInUse = 2,     // another POP3 session holds the maildrop (RFC 2449 8.1.1 [IN-USE])
  kTempFail = 3,  // the Maildir or the authentication daemon failed, or too many sessions
};
inline bool valid_enum(HandoverResult r) { return static_cast<std::uint8_t>(r) <= 3; }

// POP3 mailbox process -> pop3d. With anything but kOk the mailbox process has closed its
// copy of the descriptor and written nothing to it: pop3d answers the client itself.
struct Pop3HandoverDone {
  static constexpr MsgType kType = MsgType::kPop3HandoverDone;
  std::uint64_t request_id = 0;
  HandoverResult result = HandoverResult::kTempFail;
  template <class F>
  void fields(F& f) {
    f(request_id);
    f(result);
  }
};

// POP3 mailbox process -> pop3d: the session handed over with `request_id` has ended
// (pop3d keeps counting it against its session limits until then).
struct Pop3SessionEnded {
  static constexpr MsgType kType = MsgType::kPop3SessionEnded;
  std::uint64_t request_id = 0;
  template <class F>
  void fields(F& f) {
    f(request_id);
  }
};

}  // namespace common::ipc
