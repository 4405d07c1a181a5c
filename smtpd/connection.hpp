// One client connection: the glue between a socket and its pure Session. Plain sessions
// use the socket directly: one persistent read event that stays armed, one read(2) per
// readable event, and replies written at once with one send(2) (queued behind a write
// event only when the socket would block), so a reply costs one system call and no
// epoll_ctl. TLS sessions (after STARTTLS, or from the start on an implicit-TLS port) go
// through a bufferevent_openssl. Owned by the Server, which destroys it on a later loop
// turn (Server::release), never inside its own callback.
#pragma once

#include <event2/bufferevent.h>
#include <openssl/ssl.h>

#include <cstdint>

#include "common/io/event.hpp"
#include "common/io/lifetime.hpp"
#include "common/io/unique_fd.hpp"
#include "smtpd/milters.hpp"
#include "smtpd/session.hpp"

namespace smtpd {

class Server;

class Connection {
 public:
  Connection(Server& server, std::uint64_t id, common::io::UniqueFd fd, ClientInfo client, Port port);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends the greeting and starts reading.
  void start();
  // The queue manager's answer to this connection's submission (via the Server).
  void submit_done(const common::mail::Verdict& verdict);
  // ... and to its ETRN (nullopt: the queue manager could not be asked).
  void etrn_done(std::optional<std::uint32_t> messages);
  // The verdict on the AUTH credentials, given to the session after `delay` seconds
  // (the growing delay after failures; commands sent meanwhile wait for it).
  void auth_done(const AuthOutcome& outcome, double delay);
  const ClientInfo& client() const { return client_; }
  // The checks process's answer to request `id` (connection_checks.cpp).
  void check_answer(std::uint64_t id, common::Result<common::ipc::CheckDone> answer);
  // The mail filters' verdict on the session's last MilterRequest.
  void milter_done(MilterVerdict verdict);

 private:
  enum class Io {
    kPlain,
    kTlsWait,    // STARTTLS accepted: flushing the 220 before the handshake
    kHandshake,  // TLS handshake running
    kTls,
  };

  // TLS: the bufferevent's callbacks.
  static void read_cb(bufferevent* bev, void* self) noexcept;
  static void write_cb(bufferevent* bev, void* self) noexcept;
  static void event_cb(bufferevent* bev, short what, void* self) noexcept;
  // Plain: the socket's own events.
  static void readable_cb(evutil_socket_t, short what, void* self) noexcept;
  static void writable_cb(evutil_socket_t, short what, void* self) noexcept;
  static void submit_timeout_cb(evutil_socket_t, short, void* self) noexcept;
  static void auth_delay_cb(evutil_socket_t, short, void* self) noexcept;

  void on_event(short what);
  void on_readable();
  void on_writable();
  void on_read_timeout();
  void on_eof();
  void drain_input();
  void apply(Output out);
  void update_io();
  void update_plain_io();
  void write_out(std::string_view bytes);
  std::size_t pending_output() const;
  bool waiting() const;
  void begin_tls();
  void install(bufferevent* bev);
  void finish(const char* why);
  // The built-in checks (connection_checks.cpp): DNS lists asked at connect, their answer
  // kept for every MAIL; the MAIL or data stage the session waits for.
  static void check_timeout_cb(evutil_socket_t, short, void* self) noexcept;
  void start_connect_check();
  void start_check(common::ipc::Check req, common::io::UniqueFd fd);
  void try_finish_check();
  void forget_checks();

  Server& server_;
  std::uint64_t id_;
  common::io::UniqueFd fd_;  // released to the TLS bufferevent once TLS starts
  ClientInfo client_;
  Port port_;
  Session session_;
  bool greeted_ = false;
  // Plain: read and write events on fd_ (persistent), and the replies the socket has not
  // taken yet. read_timeout_ is what read_ev_ was added with (-1: not added).
  common::io::EventPtr read_ev_, write_ev_;
  std::string out_;
  std::size_t out_off_ = 0;
  std::int64_t read_timeout_ = -1;
  bool write_armed_ = false;
  bool io_error_ = false;  // a read or write failed: finish at the next update_io()
  std::size_t held_ = 0;   // bytes fed to the session while it waited (bounded)
  // TLS
  common::io::BufferEventPtr bev_;
  SSL* ssl_ = nullptr;  // owned by bev_
  Io io_ = Io::kPlain;
  bool closing_ = false;          // close once the output is written
  common::io::Lifetime life_;     // ended: released, waiting for destruction
  std::uint64_t request_id_ = 0;  // submission or ETRN waiting for the queue manager
  bool waiting_etrn_ = false;     // which of the two
  common::io::EventPtr submit_timer_;
  common::io::EventPtr auth_timer_;
  std::optional<AuthOutcome> delayed_auth_;
  std::uint64_t connect_req_ = 0;  // DNS lists asked at connect, not answered yet
  std::optional<common::ipc::CheckDone> connect_answer_;
  std::uint64_t check_req_ = 0;  // the stage the session waits for
  std::optional<common::ipc::CheckDone> check_answer_;
  std::optional<common::ipc::CheckStage> check_stage_;
  common::io::EventPtr check_timer_;
  std::unique_ptr<Milters> milters_;  // created at the first stage when filters are configured
};

}  // namespace smtpd
