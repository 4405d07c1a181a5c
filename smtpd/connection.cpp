// Connection: socket <-> Session glue (see connection.hpp). UNTRUSTED: the bytes read
// here come from the network and go only to Session::feed.
#include "smtpd/connection.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "common/log/log.hpp"
#include "common/tls/tls.hpp"
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
// Input a session holds for later while it waits (queue manager, password check, ETRN):
// commands pipelined behind DATA or AUTH. Past this we stop reading until the answer.
constexpr std::size_t kMaxHeldInput = 64 * 1024;

timeval seconds(std::int64_t s) { return timeval{static_cast<time_t>(s), 0}; }

}  // namespace

Connection::Connection(Server& server, std::uint64_t id, common::io::UniqueFd fd, ClientInfo client,
                       Port port)
    : server_(server),
      id_(id),
      fd_(std::move(fd)),
      client_(std::move(client)),
      port_(port),
      session_(server.session_config(port), client_, server) {}

Connection::~Connection() = default;

void Connection::start() {
  log::info("connect from %s%s", client_.literal.c_str(),
            port_ == Port::kMx           ? ""
            : port_ == Port::kSubmission ? " (submission)"
                                         : " (submissions)");
  if (port_ == Port::kSubmissions) {
    // RFC 8314 3.3: the TLS handshake first; the greeting comes after it.
    begin_tls();
    return;
  }
  read_ev_.reset(event_new(server_.base(), fd_.get(), EV_READ | EV_PERSIST, readable_cb, this));
  write_ev_.reset(event_new(server_.base(), fd_.get(), EV_WRITE | EV_PERSIST, writable_cb, this));
  if (!read_ev_ || !write_ev_) {
    log::error("%s: cannot create events", client_.literal.c_str());
    finish("out of memory");
    return;
  }
  greeted_ = true;
  start_connect_check();
  apply(session_.start());
}

void Connection::install(bufferevent* bev) {
  if (!bev) {
    log::error("%s: cannot create bufferevent", client_.literal.c_str());
    finish("out of memory");
    return;
  }
  bev_.reset(bev);
  bufferevent_setcb(bev, read_cb, write_cb, event_cb, this);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
  update_io();
}

void Connection::read_cb(bufferevent*, void* self) noexcept { static_cast<Connection*>(self)->drain_input(); }

void Connection::write_cb(bufferevent*, void* self) noexcept {
  // The output drained: maybe close, start TLS or resume reading.
  static_cast<Connection*>(self)->update_io();
}

void Connection::event_cb(bufferevent*, short what, void* self) noexcept {
  static_cast<Connection*>(self)->on_event(what);
}

void Connection::readable_cb(evutil_socket_t, short what, void* self) noexcept {
  auto* c = static_cast<Connection*>(self);
  if (what & EV_READ)
    c->on_readable();
  else if (what & EV_TIMEOUT)
    c->on_read_timeout();
}

void Connection::writable_cb(evutil_socket_t, short what, void* self) noexcept {
  auto* c = static_cast<Connection*>(self);
  if (c->life_.ended()) return;
  if (what & EV_WRITE) return c->on_writable();
  if (what & EV_TIMEOUT) c->finish("write timeout");
}

void Connection::submit_timeout_cb(evutil_socket_t, short, void* self) noexcept {
  auto* c = static_cast<Connection*>(self);
  if (c->request_id_ == 0 || c->life_.ended()) return;
  log::warn("%s: no answer from the queue manager in time", c->client_.literal.c_str());
  c->server_.forget_request(c->request_id_);
  if (c->waiting_etrn_)
    c->etrn_done(std::nullopt);
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

// TLS: hands what the bufferevent decrypted to the session. (Plain sessions feed the
// session as they read: on_readable.)
void Connection::drain_input() {
  if (life_.ended() || !bev_) return update_io();
  evbuffer* in = bufferevent_get_input(bev_.get());
  std::string& buf = server_.read_buffer();
  while (!life_.ended() && session_.wants_input() && !session_.has_pending_commands() && !closing_ &&
         evbuffer_get_length(in) > 0) {
    int n = evbuffer_remove(in, buf.data(), buf.size());
    if (n <= 0) break;
    apply(session_.feed(std::string_view(buf.data(), static_cast<std::size_t>(n))));
  }
  update_io();
}

// Plain: one read per readable event (level-triggered: what is left fires again). While
// the session waits it still takes input, up to kMaxHeldInput, so a client pipelining
// QUIT behind the end of DATA costs no epoll_ctl.
void Connection::on_readable() {
  if (life_.ended()) return;
  bool hold = !session_.wants_input();
  if (closing_ || io_ != Io::kPlain || session_.has_pending_commands() ||
      (hold && (!waiting() || held_ >= kMaxHeldInput))) {
    update_io();  // not reading now: update_plain_io() removes the read event
    return;
  }
  std::string& buf = server_.read_buffer();
  std::size_t room = hold ? std::min(buf.size(), kMaxHeldInput - held_) : buf.size();
  ssize_t n = ::read(fd_.get(), buf.data(), room);  // UNTRUSTED
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    return finish("connection error");
  }
  if (n == 0) return on_eof();
  if (hold) held_ += static_cast<std::size_t>(n);
  apply(session_.feed(std::string_view(buf.data(), static_cast<std::size_t>(n))));
}

// Plain: the socket takes more of the queued replies.
void Connection::on_writable() {
  while (out_off_ < out_.size()) {
    ssize_t n =
        ::send(fd_.get(), out_.data() + out_off_, out_.size() - out_off_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      return finish("connection error");
    }
    out_off_ += static_cast<std::size_t>(n);
  }
  out_.clear();
  out_off_ = 0;
  update_io();  // maybe close, start TLS or resume reading
}

void Connection::on_read_timeout() {
  if (life_.ended()) return;
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
  return !session_.wants_input() && !session_.closed() && !closing_ && io_ != Io::kTlsWait;
}

std::size_t Connection::pending_output() const {
  if (bev_) return evbuffer_get_length(bufferevent_get_output(bev_.get()));
  return out_.size() - out_off_;
}

// Plain: straight to the socket when nothing is queued (the usual case: one send(2) per
// reply); whatever it does not take waits for the write event.
void Connection::write_out(std::string_view bytes) {
  if (bytes.empty() || io_error_) return;
  if (bev_) {
    bufferevent_write(bev_.get(), bytes.data(), bytes.size());
    return;
  }
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) io_error_ = true;  // finish in update_io()
        break;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    if (bytes.empty() || io_error_) return;
  }
  out_.append(bytes.data(), bytes.size());
}

void Connection::apply(Output out) {
  for (;;) {
    if (life_.ended()) return;
    write_out(out.bytes);
    if (out.close) closing_ = true;
    if (out.start_tls) {
      // RFC 3207 4.2 / CVE-2011-0411: anything already read after STARTTLS is dropped
      // (the session discarded what it had; a plain session reads nothing more).
      if (bev_) {
        evbuffer* in = bufferevent_get_input(bev_.get());
        evbuffer_drain(in, evbuffer_get_length(in));
      }
      io_ = Io::kTlsWait;
    }
    if (out.submit || out.etrn) {
      bool etrn = out.etrn.has_value();
      std::uint64_t req = etrn ? server_.etrn(id_, *out.etrn) : server_.submit(id_, std::move(*out.submit));
      if (req == 0) {
        out = etrn ? session_.etrn_done(std::nullopt)
                   : session_.submit_done(
                         Verdict{Outcome::kTemporary, "4.3.0", "Queue manager unavailable, try again later"});
        continue;
      }
      request_id_ = req;
      waiting_etrn_ = etrn;
      if (!submit_timer_) submit_timer_.reset(evtimer_new(server_.base(), submit_timeout_cb, this));
      timeval tv = seconds(server_.config().smtpd_timeout);
      if (submit_timer_) evtimer_add(submit_timer_.get(), &tv);
    }
    if (out.milter) {
      if (!milters_)
        milters_ = std::make_unique<Milters>(server_.base(), server_.milter_specs(port_),
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

void Connection::milter_done(MilterVerdict verdict) {
  if (life_.ended()) return;
  apply(session_.milter_done(std::move(verdict)));
  drain_input();
}

void Connection::etrn_done(std::optional<std::uint32_t> messages) {
  if (life_.ended()) return;
  request_id_ = 0;
  waiting_etrn_ = false;
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
  // Commands held back at the session's output cap go on once the replies before them
  // are (mostly) written: the cap holds per command, not only between reads.
  if (!io_error_ && !closing_ && session_.has_pending_commands() && pending_output() < kMaxPendingOutput)
    return apply(session_.resume());
  if (!bev_) return update_plain_io();
  bufferevent* b = bev_.get();
  std::size_t pending = evbuffer_get_length(bufferevent_get_output(b));
  if (closing_ || io_ == Io::kTlsWait) {
    bufferevent_disable(b, EV_READ);
    if (pending == 0) {
      if (closing_)
        finish("closed");
      else
        begin_tls();
    }
    return;
  }
  const auto& cfg = server_.config();
  timeval rtv = seconds(session_.in_data() ? cfg.smtpd_data_timeout : cfg.smtpd_timeout);
  timeval wtv = seconds(cfg.smtpd_timeout);
  bufferevent_set_timeouts(b, &rtv, &wtv);
  bool want_read = io_ == Io::kHandshake || (session_.wants_input() && !session_.has_pending_commands() &&
                                             pending < kMaxPendingOutput);
  if (want_read)
    bufferevent_enable(b, EV_READ);
  else
    bufferevent_disable(b, EV_READ);
}

// Plain: arms the read event when the session takes input (a no-op in the usual case,
// where it stays armed from greeting to QUIT), the write event while replies are queued.
void Connection::update_plain_io() {
  if (io_error_) return finish("connection error");
  if (session_.wants_input()) held_ = 0;
  std::size_t pending = out_.size() - out_off_;
  bool want_write = pending > 0;
  if (want_write != write_armed_) {
    if (want_write) {
      timeval wtv = seconds(server_.config().smtpd_timeout);
      event_add(write_ev_.get(), &wtv);
    } else {
      event_del(write_ev_.get());
    }
    write_armed_ = want_write;
  }
  if (closing_ || io_ == Io::kTlsWait) {
    if (read_timeout_ >= 0) {
      event_del(read_ev_.get());
      read_timeout_ = -1;
    }
    if (pending == 0) {
      if (closing_)
        finish("closed");
      else
        begin_tls();
    }
    return;
  }
  bool want_read = pending < kMaxPendingOutput && !session_.has_pending_commands() &&
                   (session_.wants_input() || (waiting() && held_ < kMaxHeldInput));
  const auto& cfg = server_.config();
  std::int64_t t = session_.in_data() ? cfg.smtpd_data_timeout : cfg.smtpd_timeout;
  if (!want_read) {
    if (read_timeout_ >= 0) event_del(read_ev_.get());
    read_timeout_ = -1;
  } else if (read_timeout_ != t) {
    // Re-adding an added event only moves its timer: no system call.
    timeval rtv = seconds(t);
    event_add(read_ev_.get(), &rtv);
    read_timeout_ = t;
  }
}

void Connection::begin_tls() {
  io_ = Io::kHandshake;
  // The plain events stop (they are freed with the connection: this may run inside one of
  // their callbacks) or the bufferevent goes, dropping anything read in clear; the socket
  // stays.
  if (read_ev_) event_del(read_ev_.get());
  if (write_ev_) event_del(write_ev_.get());
  read_timeout_ = -1;
  write_armed_ = false;
  bev_.reset();
  SSL* ssl = SSL_new(server_.tls_ctx());
  if (!ssl) {
    log::error("%s: SSL_new: %s", client_.literal.c_str(), common::tls::last_error().c_str());
    finish("TLS setup failed");
    return;
  }
  bufferevent* b = bufferevent_openssl_socket_new(server_.base(), fd_.get(), ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                  BEV_OPT_CLOSE_ON_FREE);
  if (!b) {
    SSL_free(ssl);
    finish("TLS setup failed");
    return;
  }
  fd_.release();  // the TLS bufferevent closes the socket and frees the SSL
  ssl_ = ssl;
  bufferevent_openssl_set_allow_dirty_shutdown(b, 1);
  install(b);
}

void Connection::on_event(short what) {
  if (life_.ended()) return;
  if (what & BEV_EVENT_CONNECTED) {  // TLS handshake complete
    io_ = Io::kTls;
    std::string desc = common::tls::describe(ssl_);
    log::info("%s: TLS established: %s", client_.literal.c_str(), desc.c_str());
    if (!greeted_) {  // implicit TLS: now the greeting
      greeted_ = true;
      session_.set_implicit_tls(desc);
      apply(session_.start());
    } else {
      apply(session_.tls_established(desc));
    }
    drain_input();
    return;
  }
  if (what & BEV_EVENT_TIMEOUT) {
    if (io_ == Io::kHandshake) return finish("TLS handshake timeout");
    if (what & BEV_EVENT_WRITING) return finish("write timeout");
    log::info("timeout after %s from %s", session_.in_data() ? "DATA" : "command", client_.literal.c_str());
    apply(session_.timeout());
    return;
  }
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    if (io_ == Io::kHandshake) {
      unsigned long e = bufferevent_get_openssl_error(bev_.get());
      char buf[256] = "the client closed the connection";
      if (e && !(what & BEV_EVENT_EOF)) ERR_error_string_n(e, buf, sizeof buf);
      log::info("%s: TLS handshake failed: %s", client_.literal.c_str(), buf);
      return finish("TLS handshake failed");
    }
    if (what & BEV_EVENT_ERROR) return finish("connection error");
    on_eof();
  }
}

void Connection::finish(const char* why) {
  if (life_.ended()) return;
  life_.end();
  if (bev_) bufferevent_disable(bev_.get(), EV_READ | EV_WRITE);
  if (read_ev_) event_del(read_ev_.get());
  if (write_ev_) event_del(write_ev_.get());
  if (request_id_) server_.forget_request(request_id_);
  if (submit_timer_) evtimer_del(submit_timer_.get());
  if (auth_timer_) evtimer_del(auth_timer_.get());
  forget_checks();
  if (milters_) milters_->quit();
  log::info("disconnect from %s (%s)", client_.literal.c_str(), why);
  server_.release(id_);
}

}  // namespace smtpd
