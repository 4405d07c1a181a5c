// The IPC message catalogue: every message that crosses an internal Unix socket, with
// its direction. The types and protocol names are in msg_types.hpp; the messages of the
// login and key daemons (private/auth, private/tlskey, private/pop3-mailbox) in
// messages_login.hpp. Wire format and protocol rules: man/mailbag-ipc.7 (a unit test
// checks that every MsgType is described there). Bump a protocol's version when a
// message of it changes shape.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/checks/authres.hpp"
#include "common/ipc/messages_login.hpp"
#include "common/ipc/msg_types.hpp"
#include "common/mail/outcome.hpp"
#include "common/spool/origin.hpp"

namespace common::ipc {

// Both directions, first frame on every connection.
struct Hello {
  static constexpr MsgType kType = MsgType::kHello;
  std::string protocol;
  std::uint32_t version = 0;
  std::string role;  // who is speaking: "smtpd", "sendmail", "queue-manager", "local", ...
  template <class F>
  void fields(F& f) {
    f(protocol);
    f(version);
    f(role);
  }
};

// smtpd/sendmail -> queue-manager, with SCM_RIGHTS: the unlinked (O_TMPFILE) message file
// the sender wrote in spool/incoming. The queue manager validates it, links it into the
// queue, makes it durable, and only then answers.
struct Submit {
  static constexpr MsgType kType = MsgType::kSubmit;
  std::uint64_t request_id = 0;
  template <class F>
  void fields(F& f) {
    f(request_id);
  }
};

// queue-manager -> smtpd/sendmail: ok means fsync'd, file and directory entry.
struct SubmitDone {
  static constexpr MsgType kType = MsgType::kSubmitDone;
  std::uint64_t request_id = 0;
  mail::Verdict verdict;
  std::string queue_id;
  template <class F>
  void fields(F& f) {
    f(request_id);
    f(verdict);
    f(queue_id);
  }
};

// smtpd -> queue-manager (on private/submit): an ETRN (RFC 1985) that smtpd's policy
// allowed: deliver at once what waits for `domain` (and its subdomains if `subdomains`,
// the "ETRN @domain" form).
struct Etrn {
  static constexpr MsgType kType = MsgType::kEtrn;
  std::uint64_t request_id = 0;
  std::string domain;
  bool subdomains = false;
  std::string client;  // the SMTP client's address, for the queue manager's per-client limit
  template <class F>
  void fields(F& f) {
    f(request_id);
    f(domain);
    f(subdomains);
    f(client);
  }
};

// queue-manager -> smtpd: how many messages were started (0: none waiting).
struct EtrnDone {
  static constexpr MsgType kType = MsgType::kEtrnDone;
  std::uint64_t request_id = 0;
  bool ok = false;
  std::uint32_t messages = 0;
  template <class F>
  void fields(F& f) {
    f(request_id);
    f(ok);
    f(messages);
  }
};

// smtpd -> queue-manager (on private/submit), with SCM_RIGHTS: one end of a stream
// socket pair. An ODMR client (RFC 2645) authenticated as `login` asked with ATRN for
// the mail of `domains` (lower case, each granted to that login), and smtpd relays its
// connection through the pair: the queue manager hands the pair's end with the queued
// mail for those domains to the remote agent (Turn), which delivers over it as the
// SMTP client once the roles have turned. Added in protocol version 4.
struct Atrn {
  static constexpr MsgType kType = MsgType::kAtrn;
  std::uint64_t request_id = 0;
  std::vector<std::string> domains;
  std::string client;  // the ODMR client's address, for the logs
  std::string login;
  template <class F>
  void fields(F& f) {
    f(request_id);
    f(domains);
    f(client);
    f(login);
  }
};

// queue-manager -> smtpd: `messages` handed to the remote agent over the passed socket
// (0: no mail waits for those domains, or no remote agent is connected: `ok` false).
struct AtrnDone {
  static constexpr MsgType kType = MsgType::kAtrnDone;
  std::uint64_t request_id = 0;
  bool ok = false;
  std::uint32_t messages = 0;
  template <class F>
  void fields(F& f) {
    f(request_id);
    f(ok);
    f(messages);
  }
};

// queue-manager -> delivery agent, with SCM_RIGHTS: a read-only fd of the queue file.
// The agent reads the message from data_offset (data_size bytes, LF line ends, data_lines
// lines) and never opens the queue directory itself.
struct Deliver {
  static constexpr MsgType kType = MsgType::kDeliver;
  std::uint64_t delivery_id = 0;
  std::string queue_id;
  std::int64_t arrival = 0;  // UNIX time the message was queued
  std::string sender;        // "" for the null sender
  std::vector<std::string> recipients;
  std::string nexthop;  // remote: destination domain or relay host; local: ""
  std::uint64_t data_offset = 0;
  std::uint64_t data_size = 0;
  std::uint64_t data_lines = 0;
  bool body_8bit = false;
  bool smtputf8 = false;
  // Some recipients may already have been delivered by an attempt whose verdict was lost
  // (the queue manager or the agent died in between): the agent must check and not
  // deliver twice (exactly once across crashes).
  bool check_duplicates = false;
  // Who wrote the queue file, as the queue manager knows it (never from the file's own
  // labels alone): only the local agent's own quota warning may exceed a quota.
  common::spool::Origin origin = common::spool::Origin::kSubmitter;
  template <class F>
  void fields(F& f) {
    f(delivery_id);
    f(queue_id);
    f(arrival);
    f(sender);
    f(recipients);
    f(nexthop);
    f(data_offset);
    f(data_size);
    f(data_lines);
    f(body_8bit);
    f(smtputf8);
    f(check_duplicates);
    f(origin);
  }
};

// delivery agent -> queue-manager: one verdict per recipient, in request order.
struct DeliverDone {
  static constexpr MsgType kType = MsgType::kDeliverDone;
  std::uint64_t delivery_id = 0;
  std::vector<mail::Verdict> results;
  // Empty, or one per recipient: 1 when the next hop accepted it and offers DSN, so
  // that it, not we, answers the recipient's NOTIFY=SUCCESS (RFC 3461 5.2.1, 5.2.2).
  // Added in protocol version 3.
  std::vector<std::uint8_t> dsn_passed;
  template <class F>
  void fields(F& f) {
    f(delivery_id);
    f(results);
    f(dsn_passed);
  }
};

// queue-manager -> remote, with SCM_RIGHTS: an ODMR connection (Atrn) whose roles have
// turned: the remote agent runs its SMTP client session over it, without STARTTLS
// (smtpd keeps the TLS session with the client and relays the clear text), for the
// Deliver requests listed in `delivery_ids`, which follow on the same channel; it ends
// the session with QUIT when they are done. Added in protocol version 4.
struct Turn {
  static constexpr MsgType kType = MsgType::kTurn;
  std::uint64_t turn_id = 0;
  std::string peer;  // "login@[address]" of the ODMR client, for the logs
  std::vector<std::uint64_t> delivery_ids;
  template <class F>
  void fields(F& f) {
    f(turn_id);
    f(peer);
    f(delivery_ids);
  }
};

// mailctl -> queue-manager (private/control): one page of the queue listing, messages
// with ids greater than `after` in id order.
struct QueueList {
  static constexpr MsgType kType = MsgType::kQueueList;
  std::string after;
  std::string only;  // a single queue id, or "" for all
  template <class F>
  void fields(F& f) {
    f(after);
    f(only);
  }
};

struct QueueRcptInfo {
  std::string address;
  std::uint8_t state = 0;  // 0 pending, 1 in flight, 2 done, 3 failed
  std::string status;
  std::string text;
  template <class F>
  void fields(F& f) {
    f(address);
    f(state);
    f(status);
    f(text);
  }
};

struct QueueEntry {
  std::string id;
  std::int64_t arrival = 0;
  std::uint64_t size = 0;
  std::string sender;
  bool hold = false;
  std::int64_t next_try = 0;
  std::uint32_t attempts = 0;
  std::vector<QueueRcptInfo> rcpts;
  // Recipients left out after `rcpts` so that the entry fits in one frame.
  std::uint32_t rcpts_omitted = 0;
  template <class F>
  void fields(F& f) {
    f(id);
    f(arrival);
    f(size);
    f(sender);
    f(hold);
    f(next_try);
    f(attempts);
    f(rcpts);
    f(rcpts_omitted);
  }
};

// queue-manager -> mailctl: a page of entries; `more` if the listing continues.
struct QueueListReply {
  static constexpr MsgType kType = MsgType::kQueueListReply;
  std::vector<QueueEntry> entries;
  bool more = false;
  template <class F>
  void fields(F& f) {
    f(entries);
    f(more);
  }
};

// mailctl -> queue-manager: "flush" [id], "delete" id, "hold" id, "release" id,
// "etrn" domain (flush a domain, "@domain" for subdomains too).
struct QueueCommand {
  static constexpr MsgType kType = MsgType::kQueueCommand;
  std::string command;
  std::string arg;
  template <class F>
  void fields(F& f) {
    f(command);
    f(arg);
  }
};

// queue-manager -> mailctl.
struct QueueCommandReply {
  static constexpr MsgType kType = MsgType::kQueueCommandReply;
  bool ok = false;
  std::uint32_t count = 0;
  std::string text;
  template <class F>
  void fields(F& f) {
    f(ok);
    f(count);
    f(text);
  }
};

// Which point of an SMTP session a Check is about.
enum class CheckStage : std::uint8_t {
  kConnect = 1,  // DNS lists for client_ip
  kMail = 2,     // SPF for sender (MAIL FROM) and helo
  kData = 3,     // DKIM and DMARC of the message in the passed fd
};
inline bool valid_enum(CheckStage s) { return s >= CheckStage::kConnect && s <= CheckStage::kData; }

// smtpd -> checks (private/checks); at kData with SCM_RIGHTS: a read-only descriptor of
// the finished queue file, whose message is data_size bytes at data_offset.
struct Check {
  static constexpr MsgType kType = MsgType::kCheck;
  std::uint64_t request_id = 0;
  CheckStage stage = CheckStage::kConnect;
  std::string queue_id;  // kData only
  std::string client_ip;
  std::string helo;
  std::string sender;  // MAIL FROM address, "" for the null sender
  std::uint64_t data_offset = 0;
  std::uint64_t data_size = 0;
  std::vector<checks::ResInfo> earlier;  // kData: the SPF results of kMail, for DMARC
  // kData: the administrator's content rules (mailctl rule add word / attachment-size),
  // applied by the checks process, which reads the message (common/mail/mime_scan.hpp).
  // Fields added at the end; decode() wants the whole frame, so both peers must know them.
  std::vector<std::string> reject_words;  // lower case
  std::vector<std::string> junk_words;
  std::uint64_t attachment_max = 0;  // 0: no limit
  template <class F>
  void fields(F& f) {
    f(request_id);
    f(stage);
    f(queue_id);
    f(client_ip);
    f(helo);
    f(sender);
    f(data_offset);
    f(data_size);
    f(earlier);
    f(reject_words);
    f(junk_words);
    f(attachment_max);
  }
};

// checks -> smtpd: the results for Authentication-Results (RFC 8601 method, result,
// properties), and what smtpd needs to decide: the DNS list verdict at kConnect, the
// DMARC policy that applies to a failing message at kData.
struct CheckDone {
  static constexpr MsgType kType = MsgType::kCheckDone;
  std::uint64_t request_id = 0;
  std::vector<checks::ResInfo> results;
  std::uint8_t dnsbl = 0;  // 0 pass, 1 listed, 2 allowlisted, 3 temperror
  std::string dnsbl_zone;  // listed: the blocklist named in the reply
  std::string dnsbl_code;
  std::string dmarc_policy;  // kData with dmarc=fail: "none", "quarantine" or "reject"
  // kData with content rules: common::mail::ContentVerdict (0 pass, 1 reject word, 2 junk
  // word, 3 attachment too large, 4 unreadable) and where it was found.
  std::uint8_t content = 0;
  std::string content_detail;
  template <class F>
  void fields(F& f) {
    f(request_id);
    f(results);
    f(dnsbl);
    f(dnsbl_zone);
    f(dnsbl_code);
    f(dmarc_policy);
    f(content);
    f(content_detail);
  }
};

// remote -> DKIM signer (signer/sign), with SCM_RIGHTS: the read-only fd of a queue file
// the remote agent was handed. The signer reads the envelope and the message from it
// (never trusting the remote agent's word for either) and decides.
struct Sign {
  static constexpr MsgType kType = MsgType::kSign;
  std::uint64_t request_id = 0;
  std::string queue_id;  // for the logs; the signer checks it against the envelope
  template <class F>
  void fields(F& f) {
    f(request_id);
    f(queue_id);
  }
};

enum class SignResult : std::uint8_t {
  kSigned = 0,    // `header` is the DKIM-Signature field to put on top of the message
  kUnsigned = 1,  // not a message to sign (`text` says why): send it as it is
  kTempFail = 2,  // it should be signed and cannot be now (`text`): defer it
};
inline bool valid_enum(SignResult r) { return static_cast<std::uint8_t>(r) <= 2; }

// signer -> remote.
struct SignDone {
  static constexpr MsgType kType = MsgType::kSignDone;
  std::uint64_t request_id = 0;
  SignResult result = SignResult::kUnsigned;
  std::string header;  // "DKIM-Signature: ...\n", LF line ends, folded
  std::string text;
  template <class F>
  void fields(F& f) {
    f(request_id);
    f(result);
    f(header);
    f(text);
  }
};

// For the documentation test: every type's name as written in mailbag-ipc.7.
struct MsgName {
  MsgType type;
  const char* name;
};
inline constexpr MsgName kMsgNames[] = {
    {MsgType::kHello, "Hello"},
    {MsgType::kSubmit, "Submit"},
    {MsgType::kSubmitDone, "SubmitDone"},
    {MsgType::kDeliver, "Deliver"},
    {MsgType::kDeliverDone, "DeliverDone"},
    {MsgType::kEtrn, "Etrn"},
    {MsgType::kEtrnDone, "EtrnDone"},
    {MsgType::kAtrn, "Atrn"},
    {MsgType::kAtrnDone, "AtrnDone"},
    {MsgType::kTurn, "Turn"},
    {MsgType::kQueueList, "QueueList"},
    {MsgType::kQueueListReply, "QueueListReply"},
    {MsgType::kQueueCommand, "QueueCommand"},
    {MsgType::kQueueCommandReply, "QueueCommandReply"},
    {MsgType::kCheck, "Check"},
    {MsgType::kCheckDone, "CheckDone"},
    {MsgType::kSign, "Sign"},
    {MsgType::kSignDone, "SignDone"},
    {MsgType::kAuthCheck, "AuthCheck"},
    {MsgType::kAuthReply, "AuthReply"},
    {MsgType::kAuthRedeem, "AuthRedeem"},
    {MsgType::kAuthRedeemReply, "AuthRedeemReply"},
    {MsgType::kKeyOp, "KeyOp"},
    {MsgType::kKeyOpDone, "KeyOpDone"},
    {MsgType::kPop3Handover, "Pop3Handover"},
    {MsgType::kPop3HandoverDone, "Pop3HandoverDone"},
    {MsgType::kPop3SessionEnded, "Pop3SessionEnded"},
};

}  // namespace common::ipc
