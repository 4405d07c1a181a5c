// A POP3 connection: socket <-> Session glue (see connection.hpp). UNTRUSTED: the bytes
// read here come from the network and go only to Session::on_line.
#include "pop3d/connection.hpp"

#include <event2/buffer.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <cerrno>

#include "common/check.hpp"
#include "common/log/log.hpp"

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

Connection::Connection(Host& srv, std::uint64_t id, io::UniqueFd fd, std::string addr, bool implicit_tls)
    : srv_(srv),
      id_(id),
      addr_(std::move(addr)),
      tls_(implicit_tls),
      stream_(srv.base(), std::move(fd), *this) {}

Connection::~Connection() = default;

bool Connection::start() {
  stream_.set_read_limit(kReadHigh);
  stream_.set_timeouts(srv_.cfg().pop3d_timeout, srv_.cfg().pop3d_timeout);
  // pop3s: the greeting waits in the output until the handshake is done.
  if (!stream_.start(tls_ ? srv_.tls() : nullptr)) return false;
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

bool Connection::resume(const std::string& account, std::unique_ptr<Maildrop> drop, const std::string& input,
                        bool tls) {
  stream_.set_read_limit(kReadHigh);
  stream_.set_timeouts(srv_.cfg().pop3d_timeout, srv_.cfg().pop3d_timeout);
  if (!stream_.start(nullptr)) return false;  // plain here: pop3d relays a TLS session
  SessionOptions opt;
  opt.hostname = srv_.cfg().hostname;
  opt.tls_active = tls;
  opt.plaintext_auth = srv_.cfg().pop3_plaintext_auth;
  session_ = std::make_unique<Session>(opt);
  apply(session_->resume(account, std::move(drop)));
  evbuffer_add(in(), input.data(), input.size());
  process_input();
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

void Connection::on_stream_read() {
  if (life_.ended()) return;
  if (proxy_) return proxy_from_client();
  if (handing_) return;  // reading is off; what came stays for the handover
  process_input();
  settle();
}

// The output fell to kStreamLow while a message streams, or was written.
void Connection::on_stream_drained() {
  if (life_.ended()) return;
  if (proxy_) return proxy_flow();
  settle();
}

void Connection::on_stream_timeout(bool writing) {
  if (life_.ended()) return;
  if (proxy_ && !writing &&
      (pending_output() > 0 || evbuffer_get_length(bufferevent_get_input(proxy_.get())) > 0)) {
    // The mailbox process keeps the autologout timer; the client is busy reading.
    stream_.set_reading(false);
    return proxy_flow();
  }
  // RFC 1939 3: the autologout timer; no UPDATE state, so nothing is deleted.
  if (writing) {
    log::info("timeout (not reading): client=%s user=%s", addr_.c_str(),
              session_->user().empty() ? "-" : session_->user().c_str());
    return destroy();
  }
  if (enc_ || pending_output() > 0) return settle();  // a long RETR: the client is busy reading
  log::info("timeout: client=%s user=%s", addr_.c_str(),
            session_->user().empty() ? "-" : session_->user().c_str());
  destroy();
}

// Writes what this turn produced, keeps a RETR going while the socket takes it, and turns
// reading on or off for what is left (no system call when nothing changes, the usual case).
// A close or STLS goes on in the stream once everything is out.
void Connection::settle() {
  if (life_.ended()) return;
  if (proxy_) return proxy_flow();
  for (;;) {
    if (!stream_.flush()) return lost();
    if (handing_) {
      // The replies before the login go out first: a plain socket changes hands empty.
      if (!handover_sent_ && pending_output() == 0) send_handover();
      stream_.set_reading(false);
      return;
    }
    std::size_t pending = pending_output();
    if (enc_) {
      if (pending >= kStreamLow) break;
      fill_stream();  // may also finish the message and answer pipelined commands
      if (life_.ended()) return;
      if (pending_output() == pending) break;
      continue;
    }
    // Commands left waiting at the output cap, now that the replies before them are out.
    std::size_t buffered = evbuffer_get_length(in());
    if (buffered == 0 || pending >= kMaxPendingOutput || after_ != AfterFlush::kNothing || stls_pending_)
      break;
    process_input();
    if (life_.ended()) return;
    if (evbuffer_get_length(in()) == buffered) break;  // no complete line, or busy
  }
  stream_.set_reading(after_ == AfterFlush::kNothing && !stls_pending_ &&
                      pending_output() < kMaxPendingOutput);
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

void Connection::auth_done(const AuthResult& r, double delay, const std::string& token) {
  if (life_.ended()) return;
  if (r.kind == AuthResult::Kind::kOk) {
    account_ = r.account;
    token_ = token;
  }
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

// Mailbox process: the session of a client handed over to it begins.
void Connection::logged_in(const std::string& address) {
  log::info("login: user=%s client=%s tls=%s", address.c_str(), addr_.c_str(),
            session_->tls_active() ? "yes" : "no");
}

// Only on a plain connection (the session refuses STLS under TLS). RFC 2595 4: nothing the
// client sent before the handshake may count after it; the stream drops it and switches
// once "+OK Begin TLS" is out (settle writes it).
void Connection::start_tls() {
  stls_pending_ = true;
  stream_.start_tls(srv_.tls());
}

// Login process: the password was good; the mailbox process opens the maildrop
// (connection_handover.cpp).
void Connection::open_maildrop(const std::string&) { begin_handover(); }

// RFC 1939 6: the deletions run on a disk worker, and complete even if the client has
// gone meanwhile; the session answers QUIT once they are done.
void Connection::update(std::unique_ptr<Maildrop> drop) {
  struct Update {
    std::unique_ptr<Maildrop> drop;
    std::optional<common::Result<std::size_t>> removed;
  };
  auto u = std::make_shared<Update>();
  u->drop = std::move(drop);
  Host* srv = &srv_;
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
  stream_.set_write_low(kStreamLow);
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
        stream_.set_write_low(0);
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
    stream_.set_write_low(0);
    apply(session_->stream_done(Status::ok()));
    process_input();
    return;
  }
}

// The TLS handshake is complete: after STLS the session hears of it; with implicit TLS it
// began under TLS.
void Connection::on_stream_tls(const std::string&) {
  if (life_.ended() || !stls_pending_) return;
  stls_pending_ = false;
  apply(session_->tls_started());
  process_input();
  settle();
}

void Connection::on_stream_error(const std::string& tls_error) {
  if (life_.ended()) return;
  if (!tls_error.empty() && stream_.tls() && srv_.warn_limit().allow("tls " + addr_))
    log::warn("TLS error from %s: %s", addr_.c_str(), tls_error.c_str());
  lost();
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
  stream_.close_after_flush();  // on_stream_closed() once the output is out
}

// The Connection is deleted on the next loop turn, never inside its own callback.
void Connection::destroy() {
  if (life_.ended()) return;
  life_.end();
  stream_.stop();
  delay_ev_.reset();
  proxy_.reset();  // the mailbox process sees the end of its socketpair
  proxy_end_.reset();
  srv_.release(id_);
}

}  // namespace pop3d
