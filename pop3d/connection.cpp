// A POP3 connection: socket <-> Session glue (see connection.hpp). UNTRUSTED: the bytes
// read here come from the network and go only to Session::on_line.
#include "pop3d/connection.hpp"

#include <event2/bufferevent_ssl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <unistd.h>

#include <cerrno>

#include "common/check.hpp"
#include "common/log/log.hpp"
#include "pop3d/server.hpp"

namespace pop3d {
namespace {

using common::Status;
namespace io = common::io;
namespace log = common::log;

constexpr std::size_t kReadHigh = 64 * 1024;     // input buffered while a command runs
constexpr std::size_t kStreamLow = 64 * 1024;    // refill when output drops to this
constexpr std::size_t kStreamHigh = 256 * 1024;  // ... and fill up to this
// Replies a client has not read yet; past this no further command is taken (LIST or
// UIDL of a big maildrop may pass it once, with one reply).
constexpr std::size_t kMaxPendingOutput = 256 * 1024;

}  // namespace

Connection::Connection(Server& srv, std::uint64_t id, io::UniqueFd fd, std::string addr, bool implicit_tls)
    : srv_(srv), id_(id), fd_(std::move(fd)), addr_(std::move(addr)), tls_(implicit_tls) {}

Connection::~Connection() = default;

void Connection::setup_bev() {
  bufferevent_setcb(bev_.get(), read_cb, write_cb, event_cb, this);
  bufferevent_setwatermark(bev_.get(), EV_READ, 0, kReadHigh);
  timeval tv = io::to_timeval(static_cast<double>(srv_.cfg().pop3d_timeout));
  bufferevent_set_timeouts(bev_.get(), &tv, &tv);
  bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
}

bool Connection::start() {
  if (tls_) {
    SSL* ssl = SSL_new(srv_.tls());
    if (!ssl) return false;
    bev_.reset(bufferevent_openssl_socket_new(srv_.base(), fd_.release(), ssl, BUFFEREVENT_SSL_ACCEPTING,
                                              BEV_OPT_CLOSE_ON_FREE));
    if (!bev_) return false;
    setup_bev();
  } else {
    rev_.reset(event_new(srv_.base(), fd_.get(), EV_READ | EV_PERSIST, readable_cb, this));
    wev_.reset(event_new(srv_.base(), fd_.get(), EV_WRITE | EV_PERSIST, writable_cb, this));
    in_.reset(evbuffer_new());
    out_.reset(evbuffer_new());
    if (!rev_ || !wev_ || !in_ || !out_) return false;
  }
  SessionOptions opt;
  opt.hostname = srv_.cfg().hostname;
  opt.tls_available = srv_.tls() != nullptr;
  opt.tls_active = tls_;
  opt.plaintext_auth = srv_.cfg().pop3_plaintext_auth;
  session_ = std::make_unique<Session>(opt);
  apply(session_->start());
  settle();
  return true;
}

// What the session asked for, in its order. The replies are written at the end of the
// turn (plain: settle) with whatever else the turn produced.
void Connection::apply(Output o) {
  evbuffer_add(out(), o.bytes.data(), o.bytes.size());
  if (o.logged_in) logged_in(*o.logged_in);
  if (o.verify) {
    verify(o.verify->user, o.verify->password);
    OPENSSL_cleanse(o.verify->password.data(), o.verify->password.size());
  }
  if (o.start_tls) start_tls();
  if (o.open_maildrop) open_maildrop(*o.open_maildrop);
  if (o.stream) stream(std::move(o.stream->fd), std::move(o.stream->encoder));
  if (o.update) update(std::move(o.update));
  if (o.close) close(*o.close);
}

void Connection::on_read() {
  if (!life_.ended()) process_input();
}

void Connection::readable_cb(evutil_socket_t, short what, void* arg) noexcept {
  auto* c = static_cast<Connection*>(arg);
  if (what & EV_READ)
    c->on_readable();
  else if (what & EV_TIMEOUT)
    c->on_timeout();
}

void Connection::writable_cb(evutil_socket_t, short what, void* arg) noexcept {
  auto* c = static_cast<Connection*>(arg);
  if (c->life_.ended()) return;
  if (what & EV_WRITE) return c->settle();
  // RFC 1939 3: the autologout timer, for a client that stopped taking our replies.
  log::info("timeout (not reading): client=%s user=%s", c->addr_.c_str(),
            c->session_->user().empty() ? "-" : c->session_->user().c_str());
  c->destroy();
}

// Plain: one read per readable event (level-triggered: more fires again).
void Connection::on_readable() {
  if (life_.ended()) return;
  if (after_ != AfterFlush::kNothing || stls_pending_ || evbuffer_get_length(in_.get()) >= kReadHigh ||
      pending_output() >= kMaxPendingOutput)
    return settle();  // not reading now: settle() removes the read event
  std::string& buf = srv_.read_buffer();
  ssize_t n = ::read(fd_.get(), buf.data(), buf.size());
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    return lost();
  }
  if (n == 0) return lost();
  evbuffer_add(in_.get(), buf.data(), static_cast<std::size_t>(n));  // UNTRUSTED
  process_input();
  settle();
}

// Plain: no command for pop3d_timeout.
void Connection::on_timeout() {
  if (life_.ended() || enc_ || write_armed_) return;  // a long RETR: the client is busy reading
  // RFC 1939 3: the autologout timer; no UPDATE state, so nothing is deleted.
  log::info("timeout: client=%s user=%s", addr_.c_str(),
            session_->user().empty() ? "-" : session_->user().c_str());
  destroy();
}

// Plain: writes what this turn produced, keeps a RETR going while the socket takes it,
// acts on a close or STLS once everything is out, and arms the read and write events
// for what is left (no system call when nothing changes, the usual case).
void Connection::settle() {
  if (life_.ended() || bev_ || switching_) return;
  evbuffer* out = out_.get();
  for (;;) {
    while (evbuffer_get_length(out) > 0) {
      int n = evbuffer_write(out, fd_.get());
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return lost();
    }
    std::size_t pending = evbuffer_get_length(out);
    if (enc_) {
      if (pending >= kStreamLow) break;
      fill_stream();  // may also finish the message and answer pipelined commands
      if (life_.ended()) return;
      if (evbuffer_get_length(out) == pending) break;
      continue;
    }
    // Commands left waiting at the output cap, now that the replies before them are out.
    std::size_t buffered = evbuffer_get_length(in_.get());
    if (buffered == 0 || pending >= kMaxPendingOutput || after_ != AfterFlush::kNothing) break;
    process_input();
    if (life_.ended()) return;
    if (evbuffer_get_length(in_.get()) == buffered) break;  // no complete line, or busy
  }
  std::size_t pending = evbuffer_get_length(out);
  timeval tv = io::to_timeval(static_cast<double>(srv_.cfg().pop3d_timeout));
  if ((pending > 0) != write_armed_) {
    write_armed_ = pending > 0;
    if (write_armed_)
      event_add(wev_.get(), &tv);
    else
      event_del(wev_.get());
  }
  if (pending == 0 && after_ == AfterFlush::kClose) return destroy();
  if (pending == 0 && after_ == AfterFlush::kStartTls) {
    after_ = AfterFlush::kNothing;
    switching_ = true;
    std::uint64_t id = id_;
    Server* srv = &srv_;
    io::run_soon(srv_.base(), [srv, id] {
      if (Connection* c = srv->find(id)) c->switch_to_tls();
    });
  }
  bool want_read = after_ == AfterFlush::kNothing && !stls_pending_ &&
                   evbuffer_get_length(in_.get()) < kReadHigh && pending < kMaxPendingOutput;
  if (want_read != reading_) {
    reading_ = want_read;
    if (reading_)
      event_add(rev_.get(), &tv);
    else
      event_del(rev_.get());
  }
}

// Hands complete lines to the session while it is not busy and the unsent replies stay
// under kMaxPendingOutput; leaves the rest buffered (RFC 2449 6.6 PIPELINING: commands
// are answered in order). Input stops being read while it waits (settle, kReadHigh).
void Connection::process_input() {
  evbuffer* in = this->in();
  while (!life_.ended() && session_ && !session_->busy() && pending_output() < kMaxPendingOutput) {
    evbuffer_ptr eol = evbuffer_search_eol(in, nullptr, nullptr, EVBUFFER_EOL_LF);
    if (eol.pos < 0) {
      if (evbuffer_get_length(in) > kMaxLine) {  // no line end in sight: drop what we have
        evbuffer_drain(in, evbuffer_get_length(in));
        discarding_ = true;
      }
      return;
    }
    std::size_t len = static_cast<std::size_t>(eol.pos);
    if (discarding_ || len + 1 > kMaxLine) {
      evbuffer_drain(in, len + 1);
      discarding_ = false;
      apply(session_->on_line_too_long());
      continue;
    }
    std::string line(len + 1, '\0');
    evbuffer_remove(in, line.data(), len + 1);
    line.pop_back();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    apply(session_->on_line(line));             // UNTRUSTED
    OPENSSL_cleanse(line.data(), line.size());  // it may have been a password
  }
}

void Connection::verify(const std::string& user, const std::string& password) {
  srv_.authenticate(id_, user, password);
}

void Connection::auth_done(const AuthResult& r, double delay) {
  if (life_.ended()) return;
  if (delay > 0) {
    // RFC 1939 13 suggests a pause after a failed PASS, against guessing.
    delayed_ = r;
    delay_ev_.reset(evtimer_new(srv_.base(), delay_cb, this));
    timeval tv = io::to_timeval(delay);
    if (delay_ev_ && evtimer_add(delay_ev_.get(), &tv) == 0) return;
    delayed_.reset();
  }
  apply(session_->auth_result(r));
  process_input();
  settle();
}

void Connection::on_delay() {
  if (life_.ended() || !delayed_) return;
  AuthResult r = *delayed_;
  delayed_.reset();
  apply(session_->auth_result(r));
  process_input();
  settle();
}

void Connection::logged_in(const std::string& address) {
  log::info("login: user=%s client=%s tls=%s", address.c_str(), addr_.c_str(),
            session_->tls_active() ? "yes" : "no");
  srv_.stamp_relay(addr_);
}

// Only on a plain connection (the session refuses STLS under TLS). The switch happens
// once "+OK Begin TLS" is out (settle).
void Connection::start_tls() {
  // RFC 2595 4: nothing the client sent before the handshake may count after it.
  evbuffer_drain(in(), evbuffer_get_length(in()));
  after_ = AfterFlush::kStartTls;
  stls_pending_ = true;
}

void Connection::switch_to_tls() {
  switching_ = false;
  if (life_.ended()) return;
  // The plain events stop (freed with the Connection); the socket goes to the TLS bufferevent.
  event_del(rev_.get());
  event_del(wev_.get());
  reading_ = write_armed_ = false;
  evbuffer_drain(in_.get(), evbuffer_get_length(in_.get()));
  SSL* ssl = SSL_new(srv_.tls());
  if (!ssl) return destroy();
  bev_.reset(bufferevent_openssl_socket_new(srv_.base(), fd_.release(), ssl, BUFFEREVENT_SSL_ACCEPTING,
                                            BEV_OPT_CLOSE_ON_FREE));
  if (!bev_) return destroy();
  tls_ = true;
  setup_bev();
}

// Maildrop::open on a disk worker; the result goes to the session if it is still there
// (if not, the maildrop and its lock go with the task).
void Connection::open_maildrop(const std::string& path) {
  struct Opened {
    std::optional<common::Result<std::unique_ptr<Maildrop>>> drop;
    Maildrop::OpenError why = Maildrop::OpenError::kFailed;
  };
  auto r = std::make_shared<Opened>();
  Server* srv = &srv_;
  std::uint64_t id = id_;
  bool queued = srv_.disk().submit([r, path] { r->drop.emplace(Maildrop::open(path, &r->why)); },
                                   [r, srv, id] {
                                     if (Connection* c = srv->find(id))
                                       c->maildrop_opened(std::move(*r->drop), r->why);
                                   });
  MB_CHECK(queued, "the disk queue is unbounded");
}

void Connection::maildrop_opened(common::Result<std::unique_ptr<Maildrop>> drop, Maildrop::OpenError why) {
  if (life_.ended()) return;
  apply(session_->maildrop_opened(std::move(drop), why));
  process_input();
  settle();
}

// RFC 1939 6: the deletions run on a disk worker, and complete even if the client has
// gone meanwhile; the session answers QUIT once they are done.
void Connection::update(std::unique_ptr<Maildrop> drop) {
  struct Update {
    std::unique_ptr<Maildrop> drop;
    std::optional<common::Result<std::size_t>> removed;
  };
  auto u = std::make_shared<Update>();
  u->drop = std::move(drop);
  Server* srv = &srv_;
  std::uint64_t id = id_;
  bool queued = srv_.disk().submit(
      [u] {
        u->removed.emplace(u->drop->commit());
        u->drop.reset();  // releases the lock before the client hears +OK
      },
      [u, srv, id] {
        if (Connection* c = srv->find(id)) c->update_done(*u->removed);
      });
  MB_CHECK(queued, "the disk queue is unbounded");
}

void Connection::update_done(const common::Result<std::size_t>& removed) {
  if (life_.ended()) return;
  apply(session_->update_done(removed));
  settle();
}

void Connection::stream(io::UniqueFd fd, WireEncoder enc) {
  msg_fd_ = std::move(fd);
  enc_.emplace(std::move(enc));
  stream_eof_ = false;
  if (bev_) bufferevent_setwatermark(bev_.get(), EV_WRITE, kStreamLow, 0);
  fill_stream();
}

// Reads the message in kChunk pieces while the output buffer is below kStreamHigh.
void Connection::fill_stream() {
  evbuffer* out = this->out();
  std::string& buf = srv_.read_buffer();
  std::string& wire = srv_.wire_buffer();
  while (enc_ && evbuffer_get_length(out) < kStreamHigh) {
    if (!stream_eof_ && !enc_->done()) {
      ssize_t n = ::read(msg_fd_.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        Status st = Status::sys("read message");
        enc_.reset();
        msg_fd_.reset();
        if (bev_) bufferevent_setwatermark(bev_.get(), EV_WRITE, 0, 0);
        apply(session_->stream_done(st));
        return;
      }
      if (n == 0) stream_eof_ = true;
      wire.clear();
      enc_->feed(std::string_view(buf.data(), static_cast<std::size_t>(n)), wire);
      evbuffer_add(out, wire.data(), wire.size());
      continue;
    }
    wire.clear();
    enc_->finish(wire);
    evbuffer_add(out, wire.data(), wire.size());
    enc_.reset();
    msg_fd_.reset();
    if (bev_) bufferevent_setwatermark(bev_.get(), EV_WRITE, 0, 0);
    apply(session_->stream_done(Status::ok()));
    process_input();
    return;
  }
}

// TLS: the output drained (to kStreamLow while a message streams).
void Connection::on_write() {
  if (life_.ended()) return;
  if (enc_) return fill_stream();
  if (after_ == AfterFlush::kClose && evbuffer_get_length(out()) == 0) return destroy();
  process_input();  // commands left waiting at the output cap
}

void Connection::on_event(short what) {
  if (life_.ended()) return;
  if (what & BEV_EVENT_CONNECTED) {
    // The TLS handshake is complete (implicit TLS or after STLS).
    if (stls_pending_) {  // not for implicit TLS, where the session began with TLS
      stls_pending_ = false;
      apply(session_->tls_started());
      bufferevent_enable(bev_.get(), EV_READ);
      process_input();
    }
    return;
  }
  if (what & BEV_EVENT_TIMEOUT) {
    if (enc_ && (what & BEV_EVENT_READING)) {  // a long RETR: the client is silent because it is reading
      bufferevent_enable(bev_.get(), EV_READ);
      return;
    }
    // RFC 1939 3: the autologout timer; no UPDATE state, so nothing is deleted.
    log::info("timeout: client=%s user=%s", addr_.c_str(),
              session_->user().empty() ? "-" : session_->user().c_str());
    return destroy();
  }
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    if (what & BEV_EVENT_ERROR && tls_) {
      unsigned long e = bufferevent_get_openssl_error(bev_.get());
      if (e && srv_.warn_limit().allow("tls " + addr_)) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        log::warn("TLS error from %s: %s", addr_.c_str(), buf);
      }
    }
    return lost();
  }
}

// The client closed the connection or it broke.
void Connection::lost() {
  if (!session_->user().empty() && session_->state() == Session::State::kTransaction && !session_->updating())
    log::info("disconnected: user=%s client=%s (nothing deleted)", session_->user().c_str(), addr_.c_str());
  destroy();
}

void Connection::close(const SessionStats& stats) {
  if (!session_->user().empty())
    log::info("logout: user=%s client=%s retrieved=%zu bytes=%llu deleted=%zu", session_->user().c_str(),
              addr_.c_str(), stats.retrieved, static_cast<unsigned long long>(stats.bytes), stats.deleted);
  after_ = AfterFlush::kClose;
  if (!bev_) return;  // plain: settle() closes once the output is out
  bufferevent_disable(bev_.get(), EV_READ);
  if (evbuffer_get_length(bufferevent_get_output(bev_.get())) == 0) {
    std::uint64_t id = id_;
    Server* srv = &srv_;
    io::run_soon(srv_.base(), [srv, id] {
      if (Connection* c = srv->find(id)) c->destroy();
    });
  }
}

// The Connection is deleted on the next loop turn, never inside its own callback.
void Connection::destroy() {
  if (life_.ended()) return;
  life_.end();
  if (bev_) bufferevent_disable(bev_.get(), EV_READ | EV_WRITE);
  if (rev_) event_del(rev_.get());
  if (wev_) event_del(wev_.get());
  delay_ev_.reset();
  srv_.release(id_);
}

}  // namespace pop3d
