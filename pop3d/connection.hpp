// One POP3 client connection: the glue between a socket and its pure Session, which
// returns what to write and what to do next (Output), as smtpd's does. The bytes go through
// a common::io::Stream (plain, or TLS for pop3s and after STLS); the replies of each turn
// are written at its end (settle). RETR/TOP stream as the socket drains (the output never
// holds more than about kStreamHigh bytes of a message), and commands are taken only while
// the unsent replies stay under kMaxPendingOutput, so a client that pipelines without
// reading cannot make the process grow. Owned by the Server, which destroys it on a
// later loop turn (Server::release), never inside its own callback.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/io/event.hpp"
#include "common/io/lifetime.hpp"
#include "common/io/stream.hpp"
#include "common/io/unique_fd.hpp"
#include "pop3d/session.hpp"

namespace pop3d {

class Server;

class Connection : private common::io::Stream::Backend {
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
  enum class AfterFlush { kNothing, kClose };
  // The stream's events (common::io::Stream::Backend).
  void on_stream_read() override;
  void on_stream_drained() override;
  void on_stream_tls(const std::string& description) override;
  void on_stream_eof() override { lost(); }
  void on_stream_error(const std::string& tls_error) override;
  void on_stream_timeout(bool writing) override;
  void on_stream_closed() override { destroy(); }
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
  evbuffer* in() { return stream_.input(); }
  evbuffer* out() { return stream_.output(); }
  std::size_t pending_output() { return stream_.pending_output(); }
  void on_delay();
  void lost();
  void settle();
  void process_input();
  void fill_stream();
  void destroy();

  Server& srv_;
  std::uint64_t id_;
  std::string addr_;
  bool tls_ = false;  // implicit TLS (pop3s)
  common::io::Stream stream_;
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
