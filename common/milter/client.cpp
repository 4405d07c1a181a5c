// The per-session milter conversation (see client.hpp). UNTRUSTED: feed() reads a
// filter's bytes; anything the protocol does not allow at that point fails the filter
// (its default action applies) rather than being guessed at.
#include "common/milter/client.hpp"

namespace common::milter {

namespace {

// Steps this MTA offers: a filter may decline any stage and any reply, and may ask for
// SKIP and for the header value's leading space. Not offered: RCPT_REJ (rejected
// recipients are not shown to filters) and UNKNOWN (unknown commands are not sent).
constexpr std::uint32_t kOfferedSteps =
    step::kNoConnect | step::kNoHelo | step::kNoMail | step::kNoRcpt | step::kNoBody | step::kNoHeaders |
    step::kNoEoh | step::kNrHeader | step::kNoUnknown | step::kNoData | step::kSkip | step::kNrConnect |
    step::kNrHelo | step::kNrMail | step::kNrRcpt | step::kNrData | step::kNrUnknown | step::kNrEoh |
    step::kNrBody | step::kHeaderLeadingSpace | step::kDataSize256K | step::kDataSize1M;

}  // namespace

void Client::start() {
  MB_CHECK(state_ == State::kIdle, "milter start twice");
  out_ += encode_optneg(kVersion, offered_actions_, kOfferedSteps);
  state_ = State::kNegotiating;
}

void Client::begin() {
  MB_CHECK(state_ == State::kReady, "milter stage while busy");
  outcome_ = Outcome();
  done_ = false;
}

void Client::send(std::string bytes, bool reply) {
  out_ += bytes;
  if (reply) {
    state_ = State::kWaiting;
  } else {
    done_ = true;
  }
}

void Client::macros(char stage, MacroStage ms, const Macros& m) {
  const auto& want = symlists_[static_cast<std::size_t>(ms)];
  if (want.empty()) {
    out_ += encode_macros(stage, m);
    return;
  }
  Macros some;
  for (const auto& kv : m)
    for (const auto& n : want)
      if (n == kv.first) some.push_back(kv);
  out_ += encode_macros(stage, some);
}

void Client::finish(Outcome::Action a) {
  outcome_.action = a;
  done_ = true;
  state_ = State::kReady;
  in_message_ = false;
  in_body_ = false;
}

void Client::fail(std::string why) {
  outcome_ = Outcome();
  outcome_.action = Outcome::Action::kFailed;
  outcome_.error = std::move(why);
  state_ = State::kFailed;
  out_.clear();
}

void Client::connect(const Macros& m, std::string_view host, char family, std::uint16_t port,
                     std::string_view addr) {
  begin();
  stage_ = Stage::kConnect;
  if (session_accepted_ || (steps_ & step::kNoConnect)) return (void)(done_ = true);
  macros(cmd::kConnect, MacroStage::kConnect, m);
  send(encode_connect(host, family, port, addr), !(steps_ & step::kNrConnect));
}

void Client::helo(const Macros& m, std::string_view name) {
  begin();
  stage_ = Stage::kHelo;
  if (session_accepted_ || (steps_ & step::kNoHelo)) return (void)(done_ = true);
  macros(cmd::kHelo, MacroStage::kHelo, m);
  send(encode_helo(name), !(steps_ & step::kNrHelo));
}

void Client::mail(const Macros& m, const std::vector<std::string>& args) {
  begin();
  stage_ = Stage::kMail;
  if (in_tx_) abort();  // a transaction the caller did not end
  tx_over_ = false;
  if (session_accepted_) return (void)(done_ = true);
  in_tx_ = true;
  if (steps_ & step::kNoMail) return (void)(done_ = true);
  macros(cmd::kMail, MacroStage::kMail, m);
  send(encode_args(cmd::kMail, args), !(steps_ & step::kNrMail));
}

void Client::rcpt(const Macros& m, const std::vector<std::string>& args) {
  begin();
  stage_ = Stage::kRcpt;
  if (session_accepted_ || tx_over_ || (steps_ & step::kNoRcpt)) return (void)(done_ = true);
  macros(cmd::kRcpt, MacroStage::kRcpt, m);
  send(encode_args(cmd::kRcpt, args), !(steps_ & step::kNrRcpt));
}

void Client::message(const Macros& data, const Macros& eom, const Message* msg) {
  begin();
  stage_ = Stage::kMessage;
  if (session_accepted_ || tx_over_) {
    if (tx_over_) outcome_.action = Outcome::Action::kAccept;
    return (void)(done_ = true);
  }
  msg_ = msg;
  eom_macros_ = eom;
  header_ = 0;
  body_pos_ = 0;
  in_message_ = true;
  item_ = Item::kData;
  if (!(steps_ & step::kNoData)) {
    macros(cmd::kData, MacroStage::kData, data);
    out_ += encode_packet(cmd::kData, "");
    if (!(steps_ & step::kNrData)) {
      state_ = State::kWaiting;
      return;
    }
  }
  item_ = Item::kHeaders;
  pump();
}

// Queues message packets up to the next one that needs a reply.
void Client::pump() {
  while (true) {
    switch (item_) {
      case Item::kData: item_ = Item::kHeaders; break;
      case Item::kHeaders:
        if ((steps_ & step::kNoHeaders) || header_ >= msg_->headers.size()) {
          item_ = Item::kEoh;
          break;
        }
        {
          const Header& h = msg_->headers[header_++];
          std::string_view v = h.value;
          // Without HDR_LEADSPC the filter gets the value without the space after the
          // colon, as Sendmail sends it.
          if (!(steps_ & step::kHeaderLeadingSpace))
            while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
          out_ += encode_header(h.name, v);
          if (!(steps_ & step::kNrHeader)) return (void)(state_ = State::kWaiting);
        }
        break;
      case Item::kEoh:
        item_ = Item::kBody;
        if (!(steps_ & step::kNoEoh)) {
          out_ += encode_packet(cmd::kEoh, "");
          if (!(steps_ & step::kNrEoh)) return (void)(state_ = State::kWaiting);
        }
        break;
      case Item::kBody: {
        if ((steps_ & step::kNoBody) || body_pos_ >= msg_->body.size()) {
          item_ = Item::kEom;
          break;
        }
        // One chunk, LF turned into CRLF (the queue file keeps LF; filters hash the
        // body as it travels, RFC 6376 3.4.4 canonicalisation included).
        std::string chunk;
        std::string_view rest = msg_->body.substr(body_pos_);
        std::size_t i = 0;
        for (; i < rest.size() && chunk.size() < kBodyChunk - 1; ++i) {
          if (rest[i] == '\n') chunk.push_back('\r');
          chunk.push_back(rest[i]);
        }
        body_pos_ += i;
        out_ += encode_packet(cmd::kBody, chunk);
        if (!(steps_ & step::kNrBody)) {
          in_body_ = true;
          return (void)(state_ = State::kWaiting);
        }
        break;
      }
      case Item::kEom:
        item_ = Item::kDone;
        macros(cmd::kEom, MacroStage::kEom, eom_macros_);
        out_ += encode_packet(cmd::kEom, "");
        return (void)(state_ = State::kWaiting);
      case Item::kDone: return;
    }
  }
}

void Client::abort() {
  if (state_ != State::kReady) return;
  if (in_tx_ && !session_accepted_) out_ += encode_packet(cmd::kAbort, "");
  in_tx_ = false;
  tx_over_ = false;
}

void Client::quit() {
  if (state_ == State::kReady || state_ == State::kWaiting || state_ == State::kNegotiating)
    out_ += encode_packet(cmd::kQuit, "");
  state_ = State::kQuit;
}

void Client::feed(std::string_view bytes) {
  if (state_ == State::kFailed || state_ == State::kQuit) return;
  reader_.feed(bytes);
  while (state_ == State::kWaiting || state_ == State::kNegotiating) {
    auto p = reader_.next();
    if (!p) return fail(p.message());
    if (!p->has_value()) return;
    handle(**p);
  }
  // A reply nobody asked for.
  if (state_ == State::kReady && reader_.buffered() > 0) fail("milter sent a reply when none was expected");
}

void Client::handle(const Packet& p) {
  if (state_ == State::kNegotiating) {
    if (p.code != rep::kOptneg) return fail("milter did not answer the option negotiation");
    auto n = decode_optneg(p.data);
    if (!n) return fail(n.message());
    if (n->version < 2 || n->version > kVersion)
      return fail("milter protocol version " + std::to_string(n->version) + " not supported");
    // A filter asking for more than was offered gets what was offered (Postfix logs
    // and masks the same way).
    actions_ = n->actions & offered_actions_;
    steps_ = n->steps & kOfferedSteps;
    symlists_.assign(kMacroStages, {});
    for (auto& s : n->symlists) symlists_[s.stage] = std::move(s.names);
    state_ = State::kReady;
    done_ = true;
    outcome_ = Outcome();
    return;
  }
  auto r = decode_reply(p);
  if (!r) return fail(r.message());
  handle_reply(*r);
}

bool Client::allowed(const Reply& r) const {
  using K = Reply::Kind;
  switch (r.kind) {
    case K::kAddHeader:
    case K::kInsHeader: return actions_ & act::kAddHeaders;
    case K::kChgHeader: return actions_ & act::kChangeHeaders;
    case K::kDelRcpt: return actions_ & act::kDelRcpt;
    case K::kAddRcpt: return actions_ & act::kAddRcpt;
    case K::kAddRcptPar: return actions_ & act::kAddRcptPar;
    case K::kChgFrom: return actions_ & act::kChangeFrom;
    case K::kReplBody: return actions_ & act::kChangeBody;
    case K::kQuarantine: return actions_ & act::kQuarantine;
    default: return false;
  }
}

void Client::handle_reply(const Reply& r) {
  using K = Reply::Kind;
  using A = Outcome::Action;
  bool at_eom = in_message_ && item_ == Item::kDone;
  switch (r.kind) {
    case K::kProgress: progress_ = true; return;
    case K::kShutdown: return fail("milter shut down");
    case K::kContinue:
      if (in_message_ && !at_eom) {
        in_body_ = false;
        state_ = State::kReady;  // pump() may wait again
        pump();
        if (state_ == State::kReady) finish(A::kContinue);  // cannot happen: EOM waits
        return;
      }
      if (at_eom) in_tx_ = false;
      return finish(A::kContinue);
    case K::kSkip:
      if (!in_body_ || !(steps_ & step::kSkip)) return fail("milter sent SKIP outside the body");
      in_body_ = false;
      item_ = Item::kEom;
      state_ = State::kReady;
      return pump();
    case K::kAccept:
    case K::kReject:
    case K::kTempfail:
    case K::kDiscard:
    case K::kReplyCode: {
      A a = r.kind == K::kAccept    ? A::kAccept
            : r.kind == K::kDiscard ? A::kDiscard
            : r.kind == K::kReject  ? A::kReject
                                    : A::kTempfail;
      if (r.kind == K::kReplyCode) {
        a = r.reply.code >= 500 ? A::kReject : A::kTempfail;
        outcome_.has_reply = true;
        outcome_.reply = r.reply;
      }
      if (stage_ == Stage::kConnect || stage_ == Stage::kHelo) {
        if (a == A::kAccept) session_accepted_ = true;
      } else if (!(stage_ == Stage::kRcpt && (a == A::kReject || a == A::kTempfail))) {
        // Any verdict but continue ends the filter's part of the transaction; a
        // refused recipient only refuses that recipient (Sendmail and Postfix alike).
        tx_over_ = true;
      }
      if (at_eom) {
        in_tx_ = false;                              // the filter ends the transaction itself after EOM
        if (a != A::kAccept) outcome_.mods.clear();  // refused or discarded: moot
      }
      return finish(a);
    }
    default: break;
  }
  // A modification: only at the end of the message, and only those negotiated.
  if (!at_eom) return fail("milter sent a modification before the end of the message");
  if (!allowed(r)) return fail("milter sent a modification it did not negotiate");
  outcome_.mods.push_back(r);
}

}  // namespace common::milter
