// One POP3 client connection: the glue between a socket and its pure Session, which
// returns what to write and what to do next (Output), as smtpd's does. A plain connection uses its socket
// directly: a read event that stays armed, one read(2) per readable event, and the replies of each turn
// written at once (a write event only when the socket is full). TLS (pop3s, or after STLS) goes through a
// bufferevent_openssl. RETR/TOP stream as the socket drains (the output never holds more
// than about kStreamHigh bytes of a message), and commands are taken only while the
// unsent replies stay under kMaxPendingOutput, so a client that pipelines without
// reading cannot make the process grow. Owned by the Server, which destroys it on a
// later loop turn (Server::release), never inside its own callback.
#pragma once

#include <event2/bufferevent.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/io/event.hpp"
#include "common/io/lifetime.hpp"
#include "common/io/unique_fd.hpp"
#include "pop3d/session.hpp"

namespace pop3d {

class Server;

class Connection {
 public:
  Connection(Server& srv, std::uint64_t id, common::io::UniqueFd fd, std::string addr, bool implicit_tls);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool start();
  const std::string& client() const { return addr_; }
  // The verdict on the credentials, given to the session after `delay` seconds (the
  // growing delay after failures; commands sent meanwhile wait for it).
  void auth_done(const AuthResult& r, double delay);

  // From the disk workers.
  void maildrop_opened(common::Result<std::unique_ptr<Maildrop>> drop, Maildrop::OpenError why);
  void update_done(const common::Result<std::size_t>& removed);

 private:
  enum class AfterFlush { kNothing, kStartTls, kClose };
  // TLS: the bufferevent's callbacks.
  static void read_cb(bufferevent*, void* arg) noexcept { static_cast<Connection*>(arg)->on_read(); }
  static void write_cb(bufferevent*, void* arg) noexcept { static_cast<Connection*>(arg)->on_write(); }
  static void event_cb(bufferevent*, short what, void* arg) noexcept {
    static_cast<Connection*>(arg)->on_event(what);
  }
  // Plain: the socket's own events.
  static void readable_cb(evutil_socket_t, short what, void* arg) noexcept;
  static void writable_cb(evutil_socket_t, short what, void* arg) noexcept;
  static void delay_cb(evutil_socket_t, short, void* arg) noexcept {
    static_cast<Connection*>(arg)->on_delay();
  }
  // What the session's Output asks for.
  void apply(Output o);
  void verify(const std::string& user, const std::string& password);
  void start_tls();
  void open_maildrop(const std::string& path);
  void stream(common::io::UniqueFd fd, WireEncoder enc);
  void update(std::unique_ptr<Maildrop> drop);
  void logged_in(const std::string& address);
  void close(const SessionStats& stats);
  evbuffer* in() { return bev_ ? bufferevent_get_input(bev_.get()) : in_.get(); }
  evbuffer* out() { return bev_ ? bufferevent_get_output(bev_.get()) : out_.get(); }
  std::size_t pending_output() { return evbuffer_get_length(out()); }
  void setup_bev();
  void on_read();
  void on_write();
  void on_event(short what);
  void on_readable();
  void on_timeout();
  void on_delay();
  void lost();
  void settle();
  void process_input();
  void fill_stream();
  void switch_to_tls();
  void destroy();

  Server& srv_;
  std::uint64_t id_;
  common::io::UniqueFd fd_;  // owned here until a TLS bufferevent takes it over
  std::string addr_;
  bool tls_ = false;
  // Plain: events on fd_ and the two buffers.
  common::io::EventPtr rev_, wev_;
  common::io::EvBufferPtr in_, out_;
  bool reading_ = false, write_armed_ = false;
  bool switching_ = false;  // to TLS on the next loop turn
  // TLS
  common::io::BufferEventPtr bev_;
  std::unique_ptr<Session> session_;
  AfterFlush after_ = AfterFlush::kNothing;
  bool discarding_ = false;    // inside an over-long line
  bool stls_pending_ = false;  // STLS accepted, handshake not finished
  common::io::Lifetime life_;  // ended: released, waiting for destruction
  // RETR/TOP in progress
  common::io::UniqueFd msg_fd_;
  std::optional<WireEncoder> enc_;
  bool stream_eof_ = false;
  // failed login reply held back by the delay
  common::io::EventPtr delay_ev_;
  std::optional<AuthResult> delayed_;
};

}  // namespace pop3d
