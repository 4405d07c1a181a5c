// The Session's AUTH (RFC 4954) and ETRN (RFC 1985) commands, apart from session.cpp to
// keep each file readable. Both end in a request the process answers later (the
// password check on a worker thread, the queue manager's flush), so both park the
// session in a waiting phase exactly like the end of DATA does.
// UNTRUSTED: the SASL responses and the ETRN argument come from the network.
#include "common/auth/sasl.hpp"
#include "common/log/log.hpp"
#include "smtpd/session.hpp"

namespace smtpd {
namespace {

namespace log = common::log;
namespace sasl = common::auth::sasl;

// RFC 4954 4: the server challenges are base64 text; LOGIN's are the customary
// "Username:" and "Password:".
constexpr const char* kLoginUserChallenge = "334 VXNlcm5hbWU6\r\n";
constexpr const char* kLoginPasswordChallenge = "334 UGFzc3dvcmQ6\r\n";

Reply cannot_decode() { return make_reply(501, "5.5.2", "Error: cannot decode response"); }

}  // namespace

AuthRequest::~AuthRequest() { sasl::wipe(&password); }

void Session::cmd_auth(const Command& c) {
  // RFC 4954 4: AUTH needs EHLO, is refused once authenticated and inside a transaction.
  if (helo_ != Helo::kEhlo) return send(make_reply(503, "5.5.1", "Error: send EHLO first"));
  if (!facts_.auth_user.empty()) return send(make_reply(503, "5.5.1", "Error: already authenticated"));
  if (tx_) return send(make_reply(503, "5.5.1", "Error: MAIL transaction in progress"));
  // RFC 4954 6 / 14: PLAIN and LOGIN only over an encrypted connection.
  if (!facts_.tls)
    return send(make_reply(538, "5.7.11", "Encryption required for requested authentication mechanism"));
  auto p = parse_auth(c.arg);
  if (!p.ok()) return send(p.error);
  const AuthArgs& a = *p.value;
  auth_mech_ = a.mechanism;
  if (a.mechanism == "PLAIN") {
    if (a.initial) return auth_plain(*a.initial);
    auth_step_ = AuthStep::kPlain;
    return send_raw("334 \r\n");  // RFC 4954 4: an empty challenge
  }
  if (a.mechanism == "LOGIN") {
    if (a.initial) return auth_login_user(*a.initial);
    auth_step_ = AuthStep::kLoginUser;
    return send_raw(kLoginUserChallenge);
  }
  send(make_reply(504, "5.5.4", "Unrecognized authentication type"));
}

void Session::auth_abort(const Reply& r) {
  auth_step_ = AuthStep::kNone;
  sasl::wipe(&auth_login_);
  send(r);
}

void Session::auth_response(std::string_view line) {
  // RFC 4954 4: "*" cancels the exchange with 501.
  if (line == "*") return auth_abort(make_reply(501, "5.7.0", "Authentication aborted"));
  AuthStep step = auth_step_;
  auth_step_ = AuthStep::kNone;
  switch (step) {
    case AuthStep::kPlain: return auth_plain(line);
    case AuthStep::kLoginUser: return auth_login_user(line);
    case AuthStep::kLoginPassword: return auth_login_password(line);
    case AuthStep::kNone: break;
  }
}

void Session::auth_plain(std::string_view b64) {
  // RFC 4954 4: "=" is an initial response of zero length.
  auto decoded = b64 == "=" ? std::optional<std::string>(std::string()) : sasl::decode_base64(b64);
  if (!decoded) return auth_abort(cannot_decode());
  auto creds = sasl::parse_plain(*decoded);
  sasl::wipe(&*decoded);
  if (!creds) return auth_abort(make_reply(501, "5.5.2", "Error: malformed PLAIN message (RFC 4616 2)"));
  if (!sasl::valid_login_name(creds->authcid) || !sasl::authzid_allowed(creds->authzid, creds->authcid))
    return auth_abort(make_reply(535, "5.7.8", "Authentication credentials invalid"));
  out_.auth = AuthRequest(creds->authcid, creds->password);
  phase_ = Phase::kWaitAuth;
}

void Session::auth_login_user(std::string_view b64) {
  auto decoded = b64 == "=" ? std::optional<std::string>(std::string()) : sasl::decode_base64(b64);
  if (!decoded) return auth_abort(cannot_decode());
  if (!sasl::valid_login_name(*decoded))
    return auth_abort(make_reply(535, "5.7.8", "Authentication credentials invalid"));
  auth_login_ = std::move(*decoded);
  auth_step_ = AuthStep::kLoginPassword;
  send_raw(kLoginPasswordChallenge);
}

void Session::auth_login_password(std::string_view b64) {
  auto decoded = sasl::decode_base64(b64);
  if (!decoded) return auth_abort(cannot_decode());
  if (decoded->empty() || decoded->size() > sasl::kMaxField || decoded->find('\0') != std::string::npos) {
    sasl::wipe(&*decoded);
    return auth_abort(make_reply(535, "5.7.8", "Authentication credentials invalid"));
  }
  out_.auth = AuthRequest(std::move(auth_login_), std::move(*decoded));
  sasl::wipe(&auth_login_);
  phase_ = Phase::kWaitAuth;
}

Output Session::auth_done(const AuthOutcome& o) {
  if (phase_ != Phase::kWaitAuth) return take();
  phase_ = Phase::kCommand;
  switch (o.kind) {
    case AuthOutcome::Kind::kOk:
      facts_.auth_user = o.account;
      send(make_reply(235, "2.7.0", "Authentication successful"));  // RFC 4954 6
      break;
    case AuthOutcome::Kind::kFailed:
      send(make_reply(535, "5.7.8", "Authentication credentials invalid"));
      break;
    case AuthOutcome::Kind::kBlocked:
      close_with(
          make_reply(421, "4.7.0", cfg_.hostname + " Error: too many failed authentications, try later"));
      break;
    case AuthOutcome::Kind::kTempFail:
      send(make_reply(454, "4.7.0", "Temporary authentication failure"));
      break;
  }
  process();  // commands pipelined behind the exchange
  return take();
}

void Session::cmd_etrn(const Command& c) {
  if (helo_ == Helo::kNone) return send(make_reply(503, "5.5.1", "Error: send HELO/EHLO first"));
  // RFC 1985 4: not inside a mail transaction.
  if (tx_) return send(make_reply(503, "5.5.1", "Error: MAIL transaction in progress"));
  auto p = parse_etrn(c.arg);
  if (!p.ok()) return send(p.error);
  const EtrnArgs& e = *p.value;
  if (auto refused = check_etrn(facts_, e, cfg_.relay_domains, cfg_.own_release)) {
    log::info("reject: ETRN %s from %s: %d %s %s", log::printable(c.arg, 80).c_str(), client_.literal.c_str(),
              refused->code, refused->status.c_str(), refused->text.c_str());
    return send(*refused);
  }
  pending_node_ = (e.subdomains ? "@" : "") + e.node;
  out_.etrn = EtrnRequest{e.node, e.subdomains};
  phase_ = Phase::kWaitEtrn;
}

Output Session::etrn_done(std::optional<std::uint32_t> messages) {
  if (phase_ != Phase::kWaitEtrn) return take();
  phase_ = Phase::kCommand;
  const std::string& node = pending_node_;
  // RFC 1985 5: 251 when nothing waits; 253 with the count of the messages started
  // (more precise than 250, which does not say whether anything was waiting); 458 when
  // the queue cannot be started now.
  if (!messages) {
    send(make_reply(458, "4.3.0", "Unable to queue messages for node " + node));
  } else if (*messages == 0) {
    send(make_reply(251, "2.0.0", "OK, no messages waiting for node " + node));
  } else {
    send(make_reply(253, "2.0.0",
                    "OK, " + std::to_string(*messages) + " pending messages for node " + node + " started"));
  }
  log::info(
      "ETRN %s from %s: %s", node.c_str(), client_.literal.c_str(),
      messages ? (std::to_string(*messages) + " messages started").c_str() : "queue manager unavailable");
  process();
  return take();
}

}  // namespace smtpd
