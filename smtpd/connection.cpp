// Connection: socket <-> Session glue (see connection.hpp). UNTRUSTED: the bytes read
// here come from the network and go only to Session::feed.
#include "smtpd/connection.hpp"

#include <event2/buffer.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/log/log.hpp"
#include "smtpd/server.hpp"

namespace smtpd {
namespace {

namespace log = common::log;
using common::mail::Outcome;
using common::mail::Verdict;

// Replies a client has not read yet; past this we stop reading its commands and the
// session holds the ones it has (kMaxOutputPerTurn), so a client that pipelines without
// reading cannot make us buffer without bound.
constexpr std::size_t kMaxPendingOutput = 256 * 1024;
// Input held for later while the session waits (queue manager, password check, ETRN):
// commands pipelined behind DATA or AUTH. Past this we stop reading until the answer.
constexpr std::size_t kMaxHeldInput = 64 * 1024;

timeval seconds(std::int64_t s) { return timeval{static_cast<time_t>(s), 0}; }

}  // namespace

Connection::Connection(Server& server, std::uint64_t id, common::io::UniqueFd fd, ClientInfo client,
                       Port port)
    : server_(server),
      id_(id),
      client_(std::move(client)),
      port_(port),
      cfg_(server.port_config(port)),
      session_(cfg_->session, client_, server),
      stream_(server.base(), std::move(fd), *this) {}

Connection::~Connection() = default;

void Connection::start() {
  log::info("connect from %s%s", client_.literal.c_str(),
            port_ == Port::kMx            ? ""
            : port_ == Port::kSubmission  ? " (submission)"
            : port_ == Port::kSubmissions ? " (submissions)"
                                          : " (ODMR)");
  stream_.set_read_limit(kMaxHeldInput);
  stream_.set_timeouts(server_.config().smtpd_timeout, server_.config().smtpd_timeout);
  // RFC 8314 3.3: on the implicit-TLS port the TLS handshake comes first; the greeting
  // comes after it (on_stream_tls).
  bool implicit = port_ == Port::kSubmissions;
  if (common::Status st = stream_.start(implicit ? server_.tls_ctx() : nullptr); !st) {
    log::error("%s: %s", client_.literal.c_str(), st.message().c_str());
    finish(implicit ? "TLS setup failed" : "out of memory");
    return;
  }
  if (implicit) return update_io();
  greeted_ = true;
  start_connect_check();
  apply(session_.start());
}

void Connection::submit_timeout_cb(evutil_socket_t, short, void* self) noexcept {
  auto* c = static_cast<Connection*>(self);
  if (c->request_id_ == 0 || c->life_.ended()) return;
  log::warn("%s: no answer from the queue manager in time", c->client_.literal.c_str());
  c->server_.forget_request(c->request_id_);
  if (c->waiting_for_ == Waiting::kEtrn)
    c->etrn_done(std::nullopt);
  else if (c->waiting_for_ == Waiting::kAtrn)
    c->atrn_done(std::nullopt);
  else
    c->submit_done(Verdict{Outcome::kTemporary, "4.3.0", "Queue manager timeout, try again later"});
}

void Connection::auth_delay_cb(evutil_socket_t, short, void* self) noexcept {
  auto* c = static_cast<Connection*>(self);
  if (c->life_.ended() || !c->delayed_auth_) return;
  AuthOutcome o = std::move(*c->delayed_auth_);
  c->delayed_auth_.reset();
  c->apply(c->session_.auth_done(o));
  c->drain_input();
}

void Connection::on_stream_read() {
  if (relay_) return relay_->client_readable();
  drain_input();
}

void Connection::on_stream_drained() {
  if (relay_) relay_->client_drained();
  update_io();
}

// Hands what the stream read to the session while it takes input. While the session
// waits, the input stays in the stream (up to kMaxHeldInput) until the answer.
void Connection::drain_input() {
  if (life_.ended()) return;
  evbuffer* in = stream_.input();
  std::string& buf = server_.read_buffer();
  while (!life_.ended() && session_.wants_input() && !session_.has_pending_commands() && !closing_ &&
         evbuffer_get_length(in) > 0) {
    int n = evbuffer_remove(in, buf.data(), buf.size());
    if (n <= 0) break;
    apply(session_.feed(std::string_view(buf.data(), static_cast<std::size_t>(n))));  // UNTRUSTED
  }
  update_io();
}

void Connection::on_read_timeout() {
  if (life_.ended()) return;
  if (relay_) return finish("ODMR client silent too long");
  // Waiting for the queue manager or a password check is not the client's silence: the
  // submit and AUTH timers cover that.
  if (!session_.wants_input() || closing_) return;
  log::info("timeout after %s from %s", session_.in_data() ? "DATA" : "command", client_.literal.c_str());
  apply(session_.timeout());
}

// The client shut down its sending side. It may have piped its commands and be waiting
// for the replies already produced: those still go out, then we close.
void Connection::on_eof() {
  log::info("lost connection%s from %s", session_.in_data() ? " after DATA" : "", client_.literal.c_str());
  closing_ = true;
  update_io();
}

bool Connection::waiting() const {
  return !session_.wants_input() && !session_.closed() && !closing_ && !stream_.tls_pending();
}

// Each reply goes out at once (one send in the usual case); whatever the socket does not
// take waits in the stream for its write event.
void Connection::write_out(std::string_view bytes) {
  if (bytes.empty() || io_error_) return;
  stream_.write(bytes);
  if (!stream_.flush()) io_error_ = true;  // finish in update_io()
}

void Connection::apply(Output out) {
  for (;;) {
    if (life_.ended()) return;
    write_out(out.bytes);
    if (out.close) closing_ = true;
    // RFC 3207 4.2 / CVE-2011-0411: anything already read after STARTTLS is dropped (the
    // session discarded what it had; the stream drops its input and reads nothing more in
    // clear), and the handshake starts once the 220 is written.
    if (out.start_tls) stream_.start_tls(server_.tls_ctx());
    if (!out.release.empty()) server_.release(client_, out.release, "wake-up message");
    if (out.lookup && !server_.lookup(id_, *out.lookup)) {
      out =
          session_.lookup_done(lookup_unavailable(*out.lookup, "too many lookups waiting for the database"));
      continue;
    }
    if (out.turned) return start_relay();
    if (out.submit || out.etrn || out.atrn) {
      Waiting what = out.etrn ? Waiting::kEtrn : out.atrn ? Waiting::kAtrn : Waiting::kSubmit;
      std::uint64_t req = 0;
      if (what == Waiting::kEtrn) {
        req = server_.etrn(id_, *out.etrn);
      } else if (what == Waiting::kAtrn) {
        // RFC 2645 5.3: the pair the connection is relayed through once the roles turn.
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0) {
          turn_fd_.reset(sv[0]);
          req = server_.atrn(id_, *out.atrn, common::io::UniqueFd(sv[1]));
        } else {
          log::warn("%s: ATRN: socketpair: %s", client_.literal.c_str(), std::strerror(errno));
        }
      } else {
        req = server_.submit(id_, std::move(*out.submit));
      }
      if (req == 0) {
        turn_fd_.reset();
        out = what == Waiting::kEtrn ? session_.etrn_done(std::nullopt)
              : what == Waiting::kAtrn
                  ? session_.atrn_done(std::nullopt)
                  : session_.submit_done(
                        Verdict{Outcome::kTemporary, "4.3.0", "Queue manager unavailable, try again later"});
        continue;
      }
      request_id_ = req;
      waiting_for_ = what;
      if (!submit_timer_) submit_timer_.reset(evtimer_new(server_.base(), submit_timeout_cb, this));
      timeval tv = seconds(server_.config().smtpd_timeout);
      if (submit_timer_) evtimer_add(submit_timer_.get(), &tv);
    }
    if (out.milter) {
      if (!milters_)
        milters_ = std::make_unique<Milters>(server_.base(), cfg_->milters,
                                             [this](MilterVerdict v) { milter_done(std::move(v)); });
      MilterRequest req = std::move(*out.milter);
      if (auto v = milters_->run(std::move(req))) {
        out = session_.milter_done(std::move(*v));
        continue;
      }
    }
    if (out.auth) {
      AuthRequest req = std::move(*out.auth);
      out.auth.reset();
      server_.authenticate(id_, std::move(req));  // may answer at once (auth_done)
    }
    break;
  }
  update_io();
  if (out.check) start_check(std::move(*out.check), std::move(out.check_fd));  // may apply() again
}

void Connection::submit_done(const Verdict& verdict) {
  if (life_.ended()) return;
  request_id_ = 0;
  if (submit_timer_) evtimer_del(submit_timer_.get());
  apply(session_.submit_done(verdict));
  drain_input();  // bytes that arrived while we waited
}

void Connection::lookup_done(LookupAnswer answer) {
  if (life_.ended()) return;
  apply(session_.lookup_done(std::move(answer)));
  drain_input();  // commands that arrived while we waited
}

void Connection::milter_done(MilterVerdict verdict) {
  if (life_.ended()) return;
  apply(session_.milter_done(std::move(verdict)));
  drain_input();
}

void Connection::atrn_done(std::optional<std::uint32_t> messages) {
  if (life_.ended()) return;
  request_id_ = 0;
  waiting_for_ = Waiting::kSubmit;
  if (submit_timer_) evtimer_del(submit_timer_.get());
  if (!messages || *messages == 0) turn_fd_.reset();  // nothing goes over it
  apply(session_.atrn_done(messages));
  if (!relay_) drain_input();
}

// RFC 2645 5.3: the 250 is written (or queued first in the stream); from now on the
// client's bytes go to the agent's side of the pair and back, unparsed.
void Connection::start_relay() {
  std::string pending = session_.take_input();
  relay_ = std::make_unique<TurnRelay>(server_.base(), stream_, std::move(turn_fd_), [this](const char* why) {
    if (life_.ended()) return;
    log::info("%s: ODMR relay ended: %s", client_.literal.c_str(), why);
    closing_ = true;
    stream_.close_after_flush();
  });
  const auto& cfg = server_.config();
  // The agent's session has its own timeouts; a client silent longer than a DATA
  // timeout has gone.
  stream_.set_timeouts(cfg.smtpd_data_timeout, cfg.smtpd_timeout);
  if (!relay_->start(pending)) return finish("ODMR relay failed");
}

void Connection::etrn_done(std::optional<std::uint32_t> messages) {
  if (life_.ended()) return;
  request_id_ = 0;
  waiting_for_ = Waiting::kSubmit;
  if (submit_timer_) evtimer_del(submit_timer_.get());
  apply(session_.etrn_done(messages));
  drain_input();
}

void Connection::auth_done(const AuthOutcome& outcome, double delay) {
  if (life_.ended()) return;
  if (delay > 0) {
    delayed_auth_ = outcome;
    auth_timer_.reset(evtimer_new(server_.base(), auth_delay_cb, this));
    timeval tv = common::io::to_timeval(delay);
    if (auth_timer_ && evtimer_add(auth_timer_.get(), &tv) == 0) return;
    delayed_auth_.reset();
  }
  apply(session_.auth_done(outcome));
  drain_input();
}

void Connection::update_io() {
  if (life_.ended()) return;
  if (relay_) {
    if (io_error_) return finish("connection error");
    if (closing_) return stream_.close_after_flush();
    return;  // the relay decides when to read
  }
  // Commands held back at the session's output cap go on once the replies before them
  // are (mostly) written: the cap holds per command, not only between reads.
  std::size_t pending = stream_.pending_output();
  if (!io_error_ && !closing_ && session_.has_pending_commands() && pending < kMaxPendingOutput)
    return apply(session_.resume());
  if (io_error_) return finish("connection error");
  if (closing_) return stream_.close_after_flush();  // on_stream_closed() then
  const auto& cfg = server_.config();
  stream_.set_timeouts(session_.in_data() ? cfg.smtpd_data_timeout : cfg.smtpd_timeout, cfg.smtpd_timeout);
  // While the session waits it still reads (up to kMaxHeldInput), so a client pipelining
  // QUIT behind the end of DATA costs no epoll_ctl.
  stream_.set_reading(pending < kMaxPendingOutput && !session_.has_pending_commands() &&
                      (session_.wants_input() || waiting()));
}

void Connection::on_stream_tls(const std::string& desc) {
  if (life_.ended()) return;
  log::info("%s: TLS established: %s", client_.literal.c_str(), desc.c_str());
  if (!greeted_) {  // implicit TLS: now the greeting
    greeted_ = true;
    session_.set_implicit_tls(desc);
    apply(session_.start());
  } else {
    apply(session_.tls_established(desc));
  }
  drain_input();
}

void Connection::on_stream_timeout(bool writing) {
  if (life_.ended()) return;
  if (stream_.handshaking()) return finish("TLS handshake timeout");
  if (writing) return finish("write timeout");
  on_read_timeout();
  update_io();
}

void Connection::on_stream_eof() {
  if (life_.ended()) return;
  if (stream_.handshaking()) return on_stream_error("");
  on_eof();
}

void Connection::on_stream_error(const std::string& tls_error) {
  if (life_.ended()) return;
  if (stream_.handshaking()) {
    log::info("%s: TLS handshake failed: %s", client_.literal.c_str(),
              tls_error.empty() ? "the client closed the connection" : tls_error.c_str());
    return finish("TLS handshake failed");
  }
  finish("connection error");
}

void Connection::finish(const char* why) {
  if (life_.ended()) return;
  life_.end();
  stream_.stop();
  if (request_id_) server_.forget_request(request_id_);
  if (submit_timer_) evtimer_del(submit_timer_.get());
  if (auth_timer_) evtimer_del(auth_timer_.get());
  forget_checks();
  if (milters_) milters_->quit();
  if (relay_)
    log::info("%s: ODMR relay: %llu bytes to the delivery agent, %llu to the client", client_.literal.c_str(),
              static_cast<unsigned long long>(relay_->to_agent()),
              static_cast<unsigned long long>(relay_->to_client()));
  relay_.reset();
  turn_fd_.reset();
  log::info("disconnect from %s (%s)", client_.literal.c_str(), why);
  server_.release(id_);
}

}  // namespace smtpd
