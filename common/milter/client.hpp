// One mail filter's conversation for one SMTP session, as a pure state machine: the
// session's stages go in (connect, HELO, MAIL, RCPT, the message, abort, quit), packets
// come out (take_output), the filter's bytes go in (feed), and each stage ends with an
// Outcome. No sockets and no clocks: smtpd's I/O edge (smtpd/milters.hpp) runs the
// timers and applies the default action when a filter fails. Stages the filter declined
// in the option negotiation are skipped, and replies it said it would not send are not
// waited for (the NO* and NR_* steps of protocol.hpp), as Postfix does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/milter/codec.hpp"

namespace common::milter {

// Everything the MTA can apply; SETSYMLIST is honoured when macros are sent.
inline constexpr std::uint32_t kAllActions = act::kAddHeaders | act::kChangeBody | act::kAddRcpt |
                                             act::kDelRcpt | act::kChangeHeaders | act::kQuarantine |
                                             act::kChangeFrom | act::kAddRcptPar | act::kSetSymList;

struct Header {
  std::string name;
  std::string value;  // what follows the colon, folded lines joined by LF, no final LF
};

// The message for the message stage. `body` is what follows the empty line, with the LF
// line ends of the queue file (sent to the filter with CRLF, as on the wire).
struct Message {
  std::vector<Header> headers;
  std::string_view body;
};

struct Outcome {
  enum class Action {
    kContinue,  // the stage passed (or was not sent)
    kAccept,    // accept without more filtering (the session or this transaction)
    kReject,    // 5xx: `reply` when the filter chose the text
    kTempfail,  // 4xx: likewise
    kDiscard,   // accept, then throw the message away
    kFailed,    // the filter broke the protocol or gave up: `error`; the default action applies
  };
  Action action = Action::kContinue;
  bool has_reply = false;
  ReplyCode reply;
  // End of message: the modifications, in the order the filter sent them (only the
  // kinds of Reply that modify, and kQuarantine).
  std::vector<Reply> mods;
  std::string error;
};

class Client {
 public:
  // `actions`: what this MTA lets filters do (act::*).
  explicit Client(std::uint32_t actions = kAllActions) : offered_actions_(actions) {}

  // The option negotiation; then wait for stage_done() (or failed()).
  void start();

  // Stages (only when ready()). Each queues the packets the filter wants for it; when it
  // wants none, or no reply, stage_done() is true at once.
  void connect(const Macros& m, std::string_view host, char family, std::uint16_t port,
               std::string_view addr);
  void helo(const Macros& m, std::string_view name);
  void mail(const Macros& m, const std::vector<std::string>& args);
  void rcpt(const Macros& m, const std::vector<std::string>& args);
  // DATA, headers, end of headers, body, end of message. `msg` must outlive the stage;
  // `eom` (the macros for the end of the message) is copied.
  void message(const Macros& data, const Macros& eom, const Message* msg);
  // Ends the transaction at the filter (RSET, a new MAIL, a refused message). No reply.
  void abort();
  // Ends the conversation. No reply; the caller closes after writing.
  void quit();

  // Packets to write now.
  std::string take_output() { return std::move(out_); }
  // UNTRUSTED: bytes read from the filter, any split. Then look at the state.
  void feed(std::string_view bytes);

  bool ready() const { return state_ == State::kReady; }
  bool waiting() const { return state_ == State::kNegotiating || state_ == State::kWaiting; }
  bool stage_done() const { return state_ == State::kReady && done_; }
  bool failed() const { return state_ == State::kFailed; }
  // A progress reply arrived since the last call (the caller restarts its timer).
  bool take_progress() { return std::exchange(progress_, false); }
  // The last stage's outcome (stage_done()), or why it failed (failed()).
  const Outcome& outcome() const { return outcome_; }
  // After the negotiation: what the filter asked for.
  std::uint32_t actions() const { return actions_; }
  std::uint32_t steps() const { return steps_; }

 private:
  enum class State { kIdle, kNegotiating, kReady, kWaiting, kFailed, kQuit };
  enum class Item { kData, kHeaders, kEoh, kBody, kEom, kDone };
  enum class Stage { kConnect, kHelo, kMail, kRcpt, kMessage };

  void begin();
  void send(std::string bytes, bool reply);
  void macros(char stage, MacroStage ms, const Macros& m);
  void finish(Outcome::Action a);
  void fail(std::string why);
  void handle(const Packet& p);
  void handle_reply(const Reply& r);
  void pump();
  bool allowed(const Reply& r) const;

  std::uint32_t offered_actions_;
  std::uint32_t actions_ = 0;
  std::uint32_t steps_ = 0;
  std::vector<std::vector<std::string>> symlists_;  // per MacroStage; empty: all
  State state_ = State::kIdle;
  Stage stage_ = Stage::kConnect;
  FrameReader reader_;
  std::string out_;
  Outcome outcome_;
  bool done_ = false;
  bool progress_ = false;
  bool session_accepted_ = false;  // accept at connect/HELO: nothing more this session
  bool tx_over_ = false;           // accept/reject/discard decided this transaction
  bool in_tx_ = false;             // MAIL sent and not yet ended (abort needed)
  // message stage
  bool in_message_ = false;
  bool in_body_ = false;  // waiting for a reply to a body chunk (SKIP allowed)
  const Message* msg_ = nullptr;
  Macros eom_macros_;
  Item item_ = Item::kDone;
  std::size_t header_ = 0;
  std::size_t body_pos_ = 0;
};

}  // namespace common::milter
