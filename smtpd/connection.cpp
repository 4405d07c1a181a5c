// Connection: socket <-> Session glue (see connection.hpp). UNTRUSTED: the bytes read
// here come from the network and go only to Session::feed.
#include "smtpd/connection.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "common/log/log.hpp"
#include "common/tls/tls.hpp"
#include "smtpd/server.hpp"

namespace smtpd {
namespace {

namespace log = common::log;
using common::mail::Outcome;
using common::mail::Verdict;

// Replies a client has not read yet; past this we stop reading its commands, so a
// client that pipelines without reading cannot make us buffer without bound.
constexpr std::size_t kMaxPendingOutput = 256 * 1024;
constexpr std::size_t kReadChunk = 64 * 1024;

timeval seconds(std::int64_t s) { return timeval{static_cast<time_t>(s), 0}; }

}  // namespace

Connection::Connection(Server& server, std::uint64_t id, common::io::UniqueFd fd, ClientInfo client, Port port)
    : server_(server),
      id_(id),
      fd_(std::move(fd)),
      client_(std::move(client)),
      port_(port),
      session_(server.session_config(port), client_, server) {}

Connection::~Connection() = default;

void Connection::start() {
  log::info("connect from %s%s", client_.literal.c_str(),
            port_ == Port::kMx ? "" : port_ == Port::kSubmission ? " (submission)" : " (submissions)");
  if (port_ == Port::kSubmissions) {
    // RFC 8314 3.3: the TLS handshake first; the greeting comes after it.
    begin_tls();
    return;
  }
  // The plain bufferevent does not own the fd: STARTTLS replaces it on the same socket.
  install(bufferevent_socket_new(server_.base(), fd_.get(), 0));
  if (finished_) return;
  greeted_ = true;
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

void Connection::submit_timeout_cb(evutil_socket_t, short, void* self) noexcept {
  auto* c = static_cast<Connection*>(self);
  if (c->request_id_ == 0 || c->finished_) return;
  log::warn("%s: no answer from the queue manager in time", c->client_.literal.c_str());
  c->server_.forget_request(c->request_id_);
  if (c->waiting_etrn_)
    c->etrn_done(std::nullopt);
  else
    c->submit_done(Verdict{Outcome::kTemporary, "4.3.0", "Queue manager timeout, try again later"});
}

void Connection::auth_delay_cb(evutil_socket_t, short, void* self) noexcept {
  auto* c = static_cast<Connection*>(self);
  if (c->finished_ || !c->delayed_auth_) return;
  AuthOutcome o = std::move(*c->delayed_auth_);
  c->delayed_auth_.reset();
  c->apply(c->session_.auth_done(o));
  c->drain_input();
}

void Connection::drain_input() {
  if (finished_ || !bev_) return;
  evbuffer* in = bufferevent_get_input(bev_.get());
  while (!finished_ && session_.wants_input() && !closing_ && evbuffer_get_length(in) > 0) {
    scratch_.resize(kReadChunk);
    int n = evbuffer_remove(in, scratch_.data(), scratch_.size());
    if (n <= 0) break;
    apply(session_.feed(std::string_view(scratch_.data(), static_cast<std::size_t>(n))));
  }
  update_io();
}

void Connection::apply(Output out) {
  for (;;) {
    if (finished_) return;
    if (!out.bytes.empty()) bufferevent_write(bev_.get(), out.bytes.data(), out.bytes.size());
    if (out.close) closing_ = true;
    if (out.start_tls) {
      // RFC 3207 4.2 / CVE-2011-0411: anything already read after STARTTLS is dropped.
      evbuffer* in = bufferevent_get_input(bev_.get());
      evbuffer_drain(in, evbuffer_get_length(in));
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
      submit_timer_.reset(evtimer_new(server_.base(), submit_timeout_cb, this));
      timeval tv = seconds(server_.config().smtpd_timeout);
      if (submit_timer_) evtimer_add(submit_timer_.get(), &tv);
    }
    if (out.auth) {
      AuthRequest req = std::move(*out.auth);
      out.auth.reset();
      server_.authenticate(id_, std::move(req));  // may answer at once (auth_done)
    }
    break;
  }
  update_io();
}

void Connection::submit_done(const Verdict& verdict) {
  if (finished_) return;
  request_id_ = 0;
  submit_timer_.reset();
  apply(session_.submit_done(verdict));
  drain_input();  // bytes that arrived while we waited
}

void Connection::etrn_done(std::optional<std::uint32_t> messages) {
  if (finished_) return;
  request_id_ = 0;
  waiting_etrn_ = false;
  submit_timer_.reset();
  apply(session_.etrn_done(messages));
  drain_input();
}

void Connection::auth_done(const AuthOutcome& outcome, double delay) {
  if (finished_) return;
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
  if (finished_ || !bev_) return;
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
  bool want_read = io_ == Io::kHandshake || (session_.wants_input() && pending < kMaxPendingOutput);
  if (want_read)
    bufferevent_enable(b, EV_READ);
  else
    bufferevent_disable(b, EV_READ);
}

void Connection::begin_tls() {
  io_ = Io::kHandshake;
  // The plain bufferevent goes (dropping anything it read in clear); the socket stays.
  bev_.reset();
  SSL* ssl = SSL_new(server_.tls_ctx());
  if (!ssl) {
    log::error("%s: SSL_new: %s", client_.literal.c_str(), common::tls::last_error().c_str());
    finish("TLS setup failed");
    return;
  }
  bufferevent* b = bufferevent_openssl_socket_new(server_.base(), fd_.get(), ssl,
                                                  BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
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
  if (finished_) return;
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
    log::info("timeout after %s from %s", session_.in_data() ? "DATA" : "command",
              client_.literal.c_str());
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
    // EOF: the client may only have shut down its sending side (a script piping
    // commands); the replies already produced still go out, then we close.
    log::info("lost connection%s from %s", session_.in_data() ? " after DATA" : "",
              client_.literal.c_str());
    closing_ = true;
    update_io();
  }
}

void Connection::finish(const char* why) {
  if (finished_) return;
  finished_ = true;
  if (bev_) bufferevent_disable(bev_.get(), EV_READ | EV_WRITE);
  if (request_id_) server_.forget_request(request_id_);
  submit_timer_.reset();
  auth_timer_.reset();
  log::info("disconnect from %s (%s)", client_.literal.c_str(), why);
  server_.release(id_);
}

}  // namespace smtpd
