// One client byte stream over an accepted socket, plain or TLS, for smtpd and pop3d. Plain: the
// socket's own events (a persistent read event, one read(2) per readable event, writes sent at
// flush() with one writev and a write event only while the socket is full). TLS (from the start for
// implicit TLS, or after start_tls() for STARTTLS/STLS): a bufferevent_openssl. The owner sees two
// evbuffers and calls its Backend; callbacks stop once stop() ends the Stream's Lifetime.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/io/event.hpp"
#include "common/io/lifetime.hpp"
#include "common/io/unique_fd.hpp"
#include "common/result.hpp"
#include "common/tls/tls.hpp"

namespace common::io {

class Stream {
 public:
  // What the owner hears. Never called from inside one of the owner's calls into the Stream:
  // only from the loop (or a later loop turn), so the owner may stop() or release itself here.
  class Backend {
   public:
    virtual void on_stream_read() = 0;                               // input() has new bytes
    virtual void on_stream_drained() = 0;                            // the output fell to the low-water mark
    virtual void on_stream_tls(const std::string& description) = 0;  // the handshake is done
    virtual void on_stream_eof() = 0;  // the peer closed (during the handshake: handshaking())
    // A read or write failed; tls_error is OpenSSL's reason when it has one.
    virtual void on_stream_error(const std::string& tls_error) = 0;
    virtual void on_stream_timeout(bool writing) = 0;  // no progress for the set timeout
    virtual void on_stream_closed() = 0;               // close_after_flush(): all written
    virtual ~Backend() = default;
  };

  Stream(event_base* base, UniqueFd fd, Backend& backend);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Plain (ctx null) or TLS from the start, accepting a handshake (RFC 8314 3.3).
  [[nodiscard]] Status start(SSL_CTX* ctx);
  // STARTTLS/STLS: discards the input read so far, stops reading, and once the output (the
  // go-ahead reply) is written, accepts a TLS handshake on the socket. RFC 3207 4.2, RFC 2595 4:
  // nothing the client sent in clear before the handshake may be taken as protected.
  void start_tls(SSL_CTX* ctx);
  // Stops reading; on_stream_closed() once the output is written.
  void close_after_flush();
  // No more callbacks; the socket closes with the Stream.
  void stop();

  evbuffer* input() const { return in(); }
  evbuffer* output() const { return out(); }
  void write(std::string_view bytes);
  // Plain: sends the queued output now (what the socket does not take waits for the write event).
  // TLS: the bufferevent writes by itself. False when the socket failed.
  [[nodiscard]] bool flush();
  std::size_t pending_input() const { return evbuffer_get_length(in()); }
  std::size_t pending_output() const { return evbuffer_get_length(out()); }

  // Reading on or off (ignored while the TLS switch, the handshake or the close is under way).
  // Reading also pauses by itself while the input holds read_limit bytes.
  void set_reading(bool on);
  void set_read_limit(std::size_t bytes);
  // on_stream_drained() fires when the output falls to this (0: when it is empty).
  void set_write_low(std::size_t bytes);
  void set_timeouts(std::int64_t read_seconds, std::int64_t write_seconds);

  bool tls() const { return bev_ != nullptr; }
  // The socket (pop3d passes a copy of a plain one to its mailbox process, and shuts a
  // handed-over one down when that process does not answer).
  int fd() const { return bev_ ? static_cast<int>(bufferevent_getfd(bev_.get())) : fd_.get(); }
  bool handshaking() const { return handshaking_; }
  bool tls_pending() const { return tls_wait_; }  // start_tls() called, handshake not begun
  // "TLSv1.3 with cipher ..." once the handshake is done (logs, Received header).
  const std::string& tls_description() const { return tls_desc_; }

 private:
  static void readable_cb(evutil_socket_t, short what, void* self) noexcept;
  static void writable_cb(evutil_socket_t, short what, void* self) noexcept;
  static void bev_read_cb(bufferevent*, void* self) noexcept;
  static void bev_write_cb(bufferevent*, void* self) noexcept;
  static void bev_event_cb(bufferevent*, short what, void* self) noexcept;

  evbuffer* in() const { return bev_ ? bufferevent_get_input(bev_.get()) : in_.get(); }
  evbuffer* out() const { return bev_ ? bufferevent_get_output(bev_.get()) : out_.get(); }
  Status begin_tls(SSL_CTX* ctx);
  void on_readable();
  void on_writable();
  void on_bev_event(short what);
  void after_output();  // the output may be empty: close or switch to TLS
  void switch_to_tls();
  void update_plain();
  void update_tls();
  void update() { tls() ? update_tls() : update_plain(); }

  event_base* base_;
  UniqueFd fd_;  // given to the TLS bufferevent once TLS starts
  Backend& backend_;
  // Plain
  EventPtr rev_, wev_;
  EvBufferPtr in_, out_;
  std::int64_t armed_read_timeout_ = -1;  // what rev_ is added with (-1: not added)
  bool write_armed_ = false;
  // TLS
  BufferEventPtr bev_;
  SSL* ssl_ = nullptr;  // owned by bev_
  // Held between start_tls() and the handshake: a reload may replace the server's context.
  common::tls::SslCtxPtr tls_ctx_;
  std::string tls_desc_;
  // State
  bool want_read_ = false;
  bool eof_ = false;
  bool closing_ = false;
  bool tls_wait_ = false;
  bool handshaking_ = false;
  bool scheduled_ = false;  // after_output() queued for the next loop turn
  std::size_t read_limit_ = 64 * 1024;
  std::size_t write_low_ = 0;
  std::int64_t read_timeout_ = 300, write_timeout_ = 300;
  Lifetime life_;
};

}  // namespace common::io
