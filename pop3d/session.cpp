// The POP3 state machine (see session.hpp). Reply texts carry the RFC 2449 8 and RFC 3206
// response codes ([IN-USE], [AUTH], [SYS/TEMP]) that clients act on.
#include "pop3d/session.hpp"

#include <utility>

#include "common/auth/sasl.hpp"
#include "common/log/log.hpp"
#include "common/mail/ascii.hpp"

namespace pop3d {
namespace {

namespace sasl = common::auth::sasl;

constexpr int kMaxErrors = 10;

std::string plain_denied() {
  return "[AUTH] Plaintext authentication disallowed on non-secure connections, use STLS first";
}

}  // namespace

Session::~Session() = default;

void Session::reply_ok(std::string_view text) {
  std::string line = "+OK";
  if (!text.empty()) {
    line += ' ';
    line.append(text);
  }
  line += "\r\n";
  send(line);
}

void Session::reply_err(std::string_view text) {
  std::string line = "-ERR ";
  line.append(text);
  line += "\r\n";
  send(line);
}

void Session::error(std::string_view text) {
  if (++errors_ >= kMaxErrors) {
    reply_err("Too many errors, closing connection");
    close();
    return;
  }
  reply_err(text);
}

void Session::close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  drop_.reset();  // releases the maildrop lock; nothing is deleted outside UPDATE
  out_.close = stats_;
}

Output Session::start() {
  reply_ok(opt_.hostname + " POP3 server ready");
  return take();
}

Output Session::on_line_too_long() {
  error("Line too long");
  return take();
}

Output Session::on_line(std::string_view line) {
  do_on_line(line);
  return take();
}

void Session::do_on_line(std::string_view line) {
  if (state_ == State::kClosed) return;
  if (sasl_continue_) {
    sasl_continue_ = false;
    sasl_response(line);
    return;
  }
  auto cmd = parse_command(line);
  if (!cmd) {
    error(cmd.message() == "unknown command" ? "Unknown command" : "Syntax error: " + cmd.message());
    return;
  }
  if (state_ == State::kAuthorization)
    authorization(*cmd);
  else
    transaction(*cmd);
}

void Session::capa() {
  std::string out =
      "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n";
  if (state_ == State::kAuthorization) {
    if (login_allowed()) out += "USER\r\nSASL PLAIN\r\n";
    if (opt_.tls_available && !opt_.tls_active) out += "STLS\r\n";
  }
  out += "IMPLEMENTATION Mailbag\r\n.\r\n";
  send(out);
}

// RFC 1939 4: the AUTHORIZATION state.
void Session::authorization(const Command& c) {
  switch (c.verb) {
    case Verb::kCapa: capa(); return;
    case Verb::kQuit:
      reply_ok("Bye");
      close();
      return;
    case Verb::kUser:
      if (!login_allowed()) return error(plain_denied());
      if (c.args.size() != 1) return error("USER takes one argument: your address");
      pending_user_ = c.args[0];
      reply_ok("Send your password");
      return;
    case Verb::kPass: {
      if (!login_allowed()) return error(plain_denied());
      if (pending_user_.empty()) return error("USER first");
      if (c.rest.empty()) return error("PASS takes your password");
      wait_ = Wait::kAuth;
      std::string user = std::move(pending_user_);
      pending_user_.clear();
      out_.verify = Output::Credentials{user, c.rest};
      return;
    }
    case Verb::kAuth: auth(c); return;
    case Verb::kStls:
      // RFC 2595 4: only in AUTHORIZATION, once.
      if (opt_.tls_active) return error("TLS is already active");
      if (!opt_.tls_available) return error("TLS is not available");
      if (!c.args.empty()) return error("STLS takes no argument");
      reply_ok("Begin TLS negotiation");
      wait_ = Wait::kTls;
      pending_user_.clear();
      out_.start_tls = true;
      return;
    case Verb::kApop: return error("APOP is not supported");
    case Verb::kUnknown: return error("Unknown command");
    default: return error("Log in first");
  }
}

// RFC 5034 4: AUTH [mechanism [initial-response]].
void Session::auth(const Command& c) {
  if (c.args.empty()) {
    // The mechanism list form that Outlook and others send (draft POP3 AUTH, kept by
    // common servers).
    send(login_allowed() ? "+OK\r\nPLAIN\r\n.\r\n" : "+OK\r\n.\r\n");
    return;
  }
  if (!login_allowed()) return error(plain_denied());
  std::string mech = common::mail::upper(c.args[0]);
  if (mech != "PLAIN") return error("Unsupported authentication mechanism");
  if (c.args.size() > 2) return error("Syntax error in AUTH");
  if (c.args.size() == 2) {
    plain_credentials(c.args[1] == "=" ? "" : c.args[1]);  // "=": empty initial response
    return;
  }
  sasl_continue_ = true;
  send("+ \r\n");
}

void Session::sasl_response(std::string_view line) {
  if (line == "*") return error("Authentication cancelled");  // RFC 5034 4
  plain_credentials(line);
}

void Session::plain_credentials(std::string_view b64) {
  auto decoded = sasl::decode_base64(b64);
  if (!decoded) return error("Invalid base64 in authentication data");
  auto creds = sasl::parse_plain(*decoded);
  sasl::wipe(&*decoded);
  if (!creds) return error(std::string("[AUTH] ") + creds.message());
  if (!sasl::authzid_allowed(creds->authzid, creds->authcid))
    return error("[AUTH] proxy authorization not supported");
  wait_ = Wait::kAuth;
  out_.verify = Output::Credentials{creds->authcid, creds->password};
}

Output Session::auth_result(const AuthResult& r) {
  do_auth_result(r);
  return take();
}

void Session::do_auth_result(const AuthResult& r) {
  wait_ = Wait::kNone;
  if (state_ == State::kClosed) return;
  using O = AuthResult::Kind;
  switch (r.kind) {
    case O::kFailed: return error("[AUTH] Authentication failed");
    case O::kBlocked: return error("[SYS/TEMP] Too many failed logins from your address, try again later");
    case O::kTempFail: return reply_err("[SYS/TEMP] Temporary authentication failure, try again later");
    case O::kOk: break;
  }
  login_ = r.account;
  wait_ = Wait::kOpen;
  out_.open_maildrop = r.maildir;
}

Output Session::maildrop_opened(common::Result<std::unique_ptr<Maildrop>> drop, Maildrop::OpenError why) {
  do_maildrop_opened(std::move(drop), why);
  return take();
}

void Session::do_maildrop_opened(common::Result<std::unique_ptr<Maildrop>> drop, Maildrop::OpenError why) {
  wait_ = Wait::kNone;
  std::string address = std::exchange(login_, {});
  if (state_ == State::kClosed) return;  // the maildrop (and its lock) goes with `drop`
  if (!drop) {
    if (why == Maildrop::OpenError::kInUse)
      return reply_err("[IN-USE] Your mailbox is in use by another POP3 session");
    common::log::error("%s: cannot open maildrop: %s", address.c_str(), drop.message().c_str());
    return reply_err("[SYS/TEMP] Cannot open your mailbox, try again later");
  }
  drop_ = std::move(*drop);
  user_ = std::move(address);
  state_ = State::kTransaction;
  out_.logged_in = user_;
  reply_ok("Logged in, " + std::to_string(drop_->live_count()) + " messages (" +
           std::to_string(drop_->live_size()) + " octets)");
}

Output Session::resume(const std::string& account, std::unique_ptr<Maildrop> drop) {
  login_ = account;
  do_maildrop_opened(std::move(drop), Maildrop::OpenError::kNone);
  return take();
}

Output Session::tls_started() {
  do_tls_started();
  return take();
}

void Session::do_tls_started() {
  wait_ = Wait::kNone;
  opt_.tls_active = true;
}

std::optional<std::size_t> Session::message_arg(std::string_view arg) {
  auto n = parse_msg_number(arg, drop_->messages().size());
  // Not counted as protocol errors: a client may well ask for a message it deleted.
  if (!n) {
    reply_err("No such message");
    return std::nullopt;
  }
  if (drop_->messages()[*n - 1].deleted) {
    reply_err("Message " + std::to_string(*n) + " already deleted");
    return std::nullopt;
  }
  return *n - 1;
}

// RFC 1939 5 (LIST) and 7 (UIDL).
void Session::list(const Command& c, bool uidl) {
  const auto& msgs = drop_->messages();
  auto field = [&](std::size_t i) { return uidl ? msgs[i].uid : std::to_string(msgs[i].size); };
  if (c.args.size() > 1) return error("Too many arguments");
  if (c.args.size() == 1) {
    auto i = message_arg(c.args[0]);
    if (!i) return;
    reply_ok(std::to_string(*i + 1) + " " + field(*i));
    return;
  }
  std::string out = uidl ? "+OK Unique-id listing follows\r\n"
                         : "+OK " + std::to_string(drop_->live_count()) + " messages (" +
                               std::to_string(drop_->live_size()) + " octets)\r\n";
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    if (msgs[i].deleted) continue;
    out += std::to_string(i + 1) + " " + field(i) + "\r\n";
  }
  out += ".\r\n";
  send(out);
}

// RFC 1939 5 (RETR) and 7 (TOP).
void Session::send_message(const Command& c, bool top) {
  if (c.args.size() != (top ? 2u : 1u))
    return error(top ? "TOP takes a message number and a line count" : "RETR takes a message number");
  std::optional<std::uint64_t> lines;
  if (top) {
    lines = parse_line_count(c.args[1]);
    if (!lines) return error("Invalid line count");
  }
  auto i = message_arg(c.args[0]);
  if (!i) return;
  auto fd = drop_->open_message(*i);
  if (!fd) {
    common::log::error("%s: %s", user_.c_str(), fd.message().c_str());
    return reply_err("[SYS/TEMP] Cannot read that message now");
  }
  const auto& m = drop_->messages()[*i];
  if (!top) {
    ++stats_.retrieved;
    stats_.bytes += m.size;
  }
  reply_ok(top ? std::string("Top of message follows") : std::to_string(m.size) + " octets");
  wait_ = Wait::kStream;
  out_.stream = Output::Stream{std::move(*fd), WireEncoder(lines)};
}

Output Session::stream_done(const common::Status& st) {
  do_stream_done(st);
  return take();
}

void Session::do_stream_done(const common::Status& st) {
  wait_ = Wait::kNone;
  if (!st) {
    // The +OK is out: the only honest end is to drop the connection (no deletion).
    common::log::error("%s: message read failed: %s", user_.c_str(), st.message().c_str());
    close();
  }
}

// RFC 1939 6: the UPDATE state. The +OK says the deletions were done, so it waits for
// them (Maildrop::commit, on the host's worker).
void Session::quit() {
  wait_ = Wait::kUpdate;
  out_.update = std::move(drop_);
}

Output Session::update_done(const common::Result<std::size_t>& removed) {
  do_update_done(removed);
  return take();
}

void Session::do_update_done(const common::Result<std::size_t>& removed) {
  wait_ = Wait::kNone;
  if (!removed) {
    common::log::error("%s: %s", user_.c_str(), removed.message().c_str());
    reply_err("[SYS/TEMP] Some deleted messages not removed");
  } else {
    stats_.deleted = *removed;
    reply_ok("Logging out, " + std::to_string(*removed) + " messages deleted");
  }
  close();
}

// RFC 1939 5: the TRANSACTION state.
void Session::transaction(const Command& c) {
  switch (c.verb) {
    case Verb::kStat:
      if (!c.args.empty()) return error("STAT takes no argument");
      reply_ok(std::to_string(drop_->live_count()) + " " + std::to_string(drop_->live_size()));
      return;
    case Verb::kList: return list(c, false);
    case Verb::kUidl: return list(c, true);
    case Verb::kRetr: return send_message(c, false);
    case Verb::kTop: return send_message(c, true);
    case Verb::kDele: {
      if (c.args.size() != 1) return error("DELE takes a message number");
      auto i = message_arg(c.args[0]);
      if (!i) return;
      drop_->mark_deleted(*i);
      reply_ok("Message " + std::to_string(*i + 1) + " deleted");
      return;
    }
    case Verb::kNoop: return reply_ok("");
    case Verb::kRset:
      drop_->unmark_all();
      reply_ok("Maildrop has " + std::to_string(drop_->live_count()) + " messages (" +
               std::to_string(drop_->live_size()) + " octets)");
      return;
    case Verb::kQuit: return quit();
    case Verb::kCapa: return capa();
    case Verb::kUser:
    case Verb::kPass:
    case Verb::kAuth:
    case Verb::kApop:
    case Verb::kStls: return error("Already logged in");
    case Verb::kUnknown: return error("Unknown command");
  }
}

}  // namespace pop3d
