// The plain-or-TLS client stream (see stream.hpp). UNTRUSTED: the bytes read here come from the
// network; they only go into input() for the owner's parser.
#include "common/io/stream.hpp"

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/tls/tls.hpp"

namespace common::io {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;  // one read(2) per readable event takes at most this

timeval seconds(std::int64_t s) { return timeval{static_cast<time_t>(s), 0}; }

}  // namespace

Stream::Stream(event_base* base, UniqueFd fd, Backend& backend)
    : base_(base), fd_(std::move(fd)), backend_(backend) {}

Stream::~Stream() = default;

Status Stream::start(SSL_CTX* ctx) {
  if (ctx) return begin_tls(ctx);
  rev_.reset(event_new(base_, fd_.get(), EV_READ | EV_PERSIST, readable_cb, this));
  wev_.reset(event_new(base_, fd_.get(), EV_WRITE | EV_PERSIST, writable_cb, this));
  in_.reset(evbuffer_new());
  out_.reset(evbuffer_new());
  if (!rev_ || !wev_ || !in_ || !out_) return Status::error("cannot create events");
  return Status::ok();
}

Status Stream::begin_tls(SSL_CTX* ctx) {
  handshaking_ = true;
  SSL* ssl = SSL_new(ctx);
  if (!ssl) return Status::error("SSL_new: " + tls::last_error());
  bufferevent* b =
      bufferevent_openssl_socket_new(base_, fd_.get(), ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
  if (!b) {
    SSL_free(ssl);
    return Status::error("cannot create the TLS bufferevent");
  }
  fd_.release();  // the bufferevent closes the socket and frees the SSL
  bev_.reset(b);
  ssl_ = ssl;
  bufferevent_openssl_set_allow_dirty_shutdown(b, 1);
  bufferevent_setcb(b, bev_read_cb, bev_write_cb, bev_event_cb, this);
  bufferevent_setwatermark(b, EV_READ, 0, read_limit_);
  bufferevent_setwatermark(b, EV_WRITE, write_low_, 0);
  timeval rtv = seconds(read_timeout_), wtv = seconds(write_timeout_);
  bufferevent_set_timeouts(b, &rtv, &wtv);
  bufferevent_enable(b, EV_READ | EV_WRITE);
  return Status::ok();
}

void Stream::start_tls(SSL_CTX* ctx) {
  if (tls() || tls_wait_) return;
  SSL_CTX_up_ref(ctx);
  tls_ctx_.reset(ctx);
  tls_wait_ = true;
  evbuffer_drain(in(), evbuffer_get_length(in()));
  update();
  if (pending_output() == 0) after_output();
}

void Stream::close_after_flush() {
  if (closing_) return;
  closing_ = true;
  if (bev_) bufferevent_setwatermark(bev_.get(), EV_WRITE, 0, 0);
  update();
  if (pending_output() == 0) after_output();
}

void Stream::stop() {
  if (life_.ended()) return;
  life_.end();
  if (bev_) bufferevent_disable(bev_.get(), EV_READ | EV_WRITE);
  if (rev_) event_del(rev_.get());
  if (wev_) event_del(wev_.get());
}

void Stream::write(std::string_view bytes) {
  if (!bytes.empty()) evbuffer_add(out(), bytes.data(), bytes.size());
}

bool Stream::flush() {
  if (life_.ended()) return true;
  if (!tls()) {
    evbuffer* out = out_.get();
    while (evbuffer_get_length(out) > 0) {
      int n = evbuffer_write(out, fd_.get());
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return false;
    }
    update_plain();
  }
  if (pending_output() == 0 && (closing_ || tls_wait_)) after_output();
  return true;
}

void Stream::set_reading(bool on) {
  want_read_ = on;
  update();
}

void Stream::set_read_limit(std::size_t bytes) {
  read_limit_ = bytes;
  if (bev_) bufferevent_setwatermark(bev_.get(), EV_READ, 0, bytes);
  update();
}

void Stream::set_write_low(std::size_t bytes) {
  write_low_ = bytes;
  if (bev_ && !closing_) bufferevent_setwatermark(bev_.get(), EV_WRITE, bytes, 0);
}

void Stream::set_timeouts(std::int64_t read_seconds, std::int64_t write_seconds) {
  if (read_seconds == read_timeout_ && write_seconds == write_timeout_) return;
  read_timeout_ = read_seconds;
  write_timeout_ = write_seconds;
  if (bev_) {
    timeval rtv = seconds(read_timeout_), wtv = seconds(write_timeout_);
    bufferevent_set_timeouts(bev_.get(), &rtv, &wtv);
  }
  update();
}

// Plain: the read event is armed while reading is wanted and possible (a no-op in the usual case,
// where it stays armed from greeting to QUIT; re-adding it with another timeout only moves its
// timer, no system call), the write event while output is queued.
void Stream::update_plain() {
  if (!rev_ || life_.ended() || tls()) return;
  bool want_write = evbuffer_get_length(out_.get()) > 0;
  if (want_write != write_armed_) {
    if (want_write) {
      timeval wtv = seconds(write_timeout_);
      event_add(wev_.get(), &wtv);
    } else {
      event_del(wev_.get());
    }
    write_armed_ = want_write;
  }
  bool r = want_read_ && !closing_ && !tls_wait_ && !eof_ && evbuffer_get_length(in_.get()) < read_limit_;
  std::int64_t t = r ? read_timeout_ : -1;
  if (t == armed_read_timeout_) return;
  if (t < 0) {
    event_del(rev_.get());
  } else {
    timeval rtv = seconds(t);
    event_add(rev_.get(), &rtv);
  }
  armed_read_timeout_ = t;
}

// TLS: reading stays on through the handshake (the bufferevent drives it); the bufferevent pauses
// by itself at the read limit (its high-water mark).
void Stream::update_tls() {
  if (life_.ended()) return;
  bufferevent* b = bev_.get();
  bool r = handshaking_ || (want_read_ && !closing_ && !eof_);
  bool on = (bufferevent_get_enabled(b) & EV_READ) != 0;
  if (r && !on)
    bufferevent_enable(b, EV_READ);
  else if (!r && on)
    bufferevent_disable(b, EV_READ);
}

// The output may be written: close or switch to TLS on the next loop turn, outside the owner's
// call that got here.
void Stream::after_output() {
  if (scheduled_) return;
  scheduled_ = true;
  run_soon(base_, life_.bind([this] {
    scheduled_ = false;
    if (pending_output() > 0) return;  // the write event (or write callback) comes back here
    if (closing_) return backend_.on_stream_closed();
    if (tls_wait_) switch_to_tls();
  }));
}

void Stream::switch_to_tls() {
  tls_wait_ = false;
  // The plain events stop (freed with the Stream); anything read in clear goes.
  event_del(rev_.get());
  event_del(wev_.get());
  armed_read_timeout_ = -1;
  write_armed_ = false;
  evbuffer_drain(in_.get(), evbuffer_get_length(in_.get()));
  Status st = begin_tls(tls_ctx_.get());
  tls_ctx_.reset();  // the SSL holds its own reference
  if (!st) backend_.on_stream_error(st.message());
}

void Stream::readable_cb(evutil_socket_t, short what, void* self) noexcept {
  auto* s = static_cast<Stream*>(self);
  if (s->life_.ended()) return;
  if (what & EV_READ) return s->on_readable();
  if (what & EV_TIMEOUT) s->backend_.on_stream_timeout(false);
}

// Plain: one read(2) per readable event (level-triggered: what is left fires again).
void Stream::on_readable() {
  std::size_t have = evbuffer_get_length(in_.get());
  if (!want_read_ || closing_ || tls_wait_ || eof_ || have >= read_limit_) return update_plain();
  std::size_t room = std::min(kReadChunk, read_limit_ - have);
  evbuffer_iovec vec;
  if (evbuffer_reserve_space(in_.get(), static_cast<ev_ssize_t>(room), &vec, 1) != 1)
    return backend_.on_stream_error("out of memory");
  ssize_t n = ::read(fd_.get(), vec.iov_base, std::min(room, vec.iov_len));  // UNTRUSTED
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    return backend_.on_stream_error("");
  }
  if (n == 0) {
    eof_ = true;
    update_plain();
    return backend_.on_stream_eof();
  }
  vec.iov_len = static_cast<std::size_t>(n);
  evbuffer_commit_space(in_.get(), &vec, 1);
  if (have + vec.iov_len >= read_limit_) update_plain();
  backend_.on_stream_read();
}

void Stream::writable_cb(evutil_socket_t, short what, void* self) noexcept {
  auto* s = static_cast<Stream*>(self);
  if (s->life_.ended()) return;
  if (what & EV_WRITE) return s->on_writable();
  if (what & EV_TIMEOUT) s->backend_.on_stream_timeout(true);
}

// Plain: the socket takes more of the queued output.
void Stream::on_writable() {
  evbuffer* out = out_.get();
  while (evbuffer_get_length(out) > 0) {
    int n = evbuffer_write(out, fd_.get());
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return backend_.on_stream_error("");
  }
  update_plain();
  std::size_t pending = evbuffer_get_length(out);
  if (pending == 0 && closing_) return backend_.on_stream_closed();
  if (pending == 0 && tls_wait_) return switch_to_tls();
  if (pending <= write_low_) backend_.on_stream_drained();
}

void Stream::bev_read_cb(bufferevent*, void* self) noexcept {
  auto* s = static_cast<Stream*>(self);
  if (!s->life_.ended()) s->backend_.on_stream_read();
}

void Stream::bev_write_cb(bufferevent*, void* self) noexcept {
  auto* s = static_cast<Stream*>(self);
  if (s->life_.ended()) return;
  if (s->closing_) {
    if (s->pending_output() == 0) s->backend_.on_stream_closed();
    return;
  }
  s->backend_.on_stream_drained();
}

void Stream::bev_event_cb(bufferevent*, short what, void* self) noexcept {
  auto* s = static_cast<Stream*>(self);
  if (!s->life_.ended()) s->on_bev_event(what);
}

void Stream::on_bev_event(short what) {
  if (what & BEV_EVENT_CONNECTED) {  // the TLS handshake is complete
    handshaking_ = false;
    tls_desc_ = tls::describe(ssl_);
    update_tls();
    return backend_.on_stream_tls(tls_desc_);
  }
  if (what & BEV_EVENT_TIMEOUT) {
    // The bufferevent turned that direction off; update_tls() turns reading on again if wanted.
    return backend_.on_stream_timeout((what & BEV_EVENT_WRITING) != 0);
  }
  if (what & BEV_EVENT_ERROR) {
    unsigned long e = bufferevent_get_openssl_error(bev_.get());
    char buf[256] = "";
    if (e) ERR_error_string_n(e, buf, sizeof buf);
    return backend_.on_stream_error(buf);
  }
  if (what & BEV_EVENT_EOF) {
    eof_ = true;
    backend_.on_stream_eof();
  }
}

}  // namespace common::io
