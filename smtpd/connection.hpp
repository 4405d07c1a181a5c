// One client connection: the libevent glue between a socket (plain, then TLS after
// STARTTLS; TLS from the start on an implicit-TLS port) and its pure Session. Reads go
// straight into the session; its Output is written back and acted on (start TLS,
// submit, check a password, forward an ETRN, close). Owned by the Server, which
// destroys it on a later loop turn (Server::release), never inside its own callback.
#pragma once

#include <event2/bufferevent.h>
#include <openssl/ssl.h>

#include <cstdint>

#include "common/io/event.hpp"
#include "common/io/unique_fd.hpp"
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
  // (the growing delay after failures; reading stops meanwhile).
  void auth_done(const AuthOutcome& outcome, double delay);
  const ClientInfo& client() const { return client_; }

 private:
  enum class Io {
    kPlain,
    kTlsWait,    // STARTTLS accepted: flushing the 220 before the handshake
    kHandshake,  // TLS handshake running
    kTls,
  };

  static void read_cb(bufferevent* bev, void* self) noexcept;
  static void write_cb(bufferevent* bev, void* self) noexcept;
  static void event_cb(bufferevent* bev, short what, void* self) noexcept;
  static void submit_timeout_cb(evutil_socket_t, short, void* self) noexcept;
  static void auth_delay_cb(evutil_socket_t, short, void* self) noexcept;

  void on_event(short what);
  void drain_input();
  void apply(Output out);
  void update_io();
  void begin_tls();
  void install(bufferevent* bev);
  void finish(const char* why);

  Server& server_;
  std::uint64_t id_;
  common::io::UniqueFd fd_;  // released to the TLS bufferevent once TLS starts
  ClientInfo client_;
  Port port_;
  Session session_;
  bool greeted_ = false;
  common::io::BufferEventPtr bev_;
  SSL* ssl_ = nullptr;  // owned by bev_
  Io io_ = Io::kPlain;
  bool closing_ = false;   // close once the output is written
  bool finished_ = false;  // released; waiting for destruction
  std::uint64_t request_id_ = 0;  // submission or ETRN waiting for the queue manager
  bool waiting_etrn_ = false;     // which of the two
  common::io::EventPtr submit_timer_;
  common::io::EventPtr auth_timer_;
  std::optional<AuthOutcome> delayed_auth_;
  std::string scratch_;
};

}  // namespace smtpd
