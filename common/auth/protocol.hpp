// The rules of the authentication protocol (private/auth, frames AuthCheck/AuthReply in
// common/ipc/messages.hpp, described in mailbag-ipc(7)) that both sides share: what a
// well-formed AuthCheck is, and which peers the authentication daemon serves. Pure, so
// that the daemon's decisions are tested without sockets.
// UNTRUSTED: check_request() reads frames from the network daemons, which a remote client
// may have taken over.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string_view>
#include <vector>

#include "common/ipc/codec.hpp"
#include "common/ipc/messages.hpp"
#include "common/result.hpp"

namespace common::auth {

// A login name is what smtpd's SASL code and pop3d's USER accept: 1 to 255 octets
// without controls; a password 1 to 1024 octets (pop3d's longest line) without NUL.
inline constexpr std::size_t kMaxLogin = 255;
inline constexpr std::size_t kMaxPassword = 1024;
inline constexpr std::size_t kMaxClient = 64;  // an IPv6 literal with a zone fits
// A login token (common/authd/tokens.hpp): 64 lower-case hex digits.
inline constexpr std::size_t kTokenSize = 64;

inline constexpr std::string_view kServiceSmtp = "smtp";
inline constexpr std::string_view kServicePop3 = "pop3";
// Dovecot's IMAP logins, asked by its passdb program mailbag-checkpassword (pop3d/checkpassword/).
inline constexpr std::string_view kServiceImap = "imap";

// Decodes an AuthCheck frame and checks its fields. An error: the peer speaks nonsense
// and its connection is closed.
Result<ipc::AuthCheck> check_request(const ipc::FrameView& frame);

// The field rules, for every frame that carries these fields (also pop3d's handover):
// an account name as a login (1 to kMaxLogin octets, no controls) and a login token
// (kTokenSize lower-case hex digits). An error names the field.
Status check_account_and_token(std::string_view account, std::string_view token);
// A client address: at most kMaxClient octets, no controls.
bool valid_client(std::string_view client);

// Decodes an AuthRedeem frame: an account (as AuthCheck's login) and a token of
// kTokenSize hex digits. An error closes the peer's connection.
Result<ipc::AuthRedeem> check_redeem(const ipc::FrameView& frame);

// Who may ask. When the daemon started as root, `uids` are the users of smtpd and pop3d
// plus root, who may check passwords for SMTP and POP3 (AuthCheck), `imap_uids` the user
// of Dovecot's passdb program plus root, who may check passwords for IMAP only, and
// `redeem_uids` the POP3 mailbox process's user plus root, who may redeem login tokens
// (AuthRedeem); a peer in no list is refused at accept, and a request its list does not
// allow closes its connection. The IMAP checker is kept apart because it runs under
// Dovecot, outside Mailbag's own processes: it can ask about IMAP logins (which the
// daemon limits per client itself), never obtain a POP3 login token.
// Started by an ordinary user (tests, a private instance), every program runs as that
// user and there is no boundary to keep: `enforce` is false and anyone who can open the
// socket is served.
struct PeerPolicy {
  bool enforce = true;
  std::vector<uid_t> uids;
  std::vector<uid_t> redeem_uids;
  std::vector<uid_t> imap_uids;
};
// May connect at all (any list).
bool connect_allowed(const PeerPolicy& policy, uid_t uid);
// May send AuthCheck for `service` (smtp and pop3: `uids`; imap: `imap_uids`).
bool check_allowed(const PeerPolicy& policy, uid_t uid, std::string_view service);
bool peer_allowed(const PeerPolicy& policy, uid_t uid);
bool redeem_allowed(const PeerPolicy& policy, uid_t uid);

}  // namespace common::auth
