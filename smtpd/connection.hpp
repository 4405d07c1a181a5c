// One client connection: the glue between a socket and its pure Session. The bytes go
// through a common::io::Stream (plain, or TLS after STARTTLS or from the start on an
// implicit-TLS port), which reads into its input buffer and writes each reply at once.
// Owned by the Server, which destroys it on a later loop turn (Server::release), never
// inside its own callback.
#pragma once

#include <cstdint>
#include <memory>

#include "common/io/event.hpp"
#include "common/io/lifetime.hpp"
#include "common/io/stream.hpp"
#include "common/io/unique_fd.hpp"
#include "smtpd/milters.hpp"
#include "smtpd/session.hpp"
#include "smtpd/turn_relay.hpp"

namespace smtpd {

struct PortConfig;

class Server;

class Connection : private common::io::Stream::Backend {
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
  // ... and to its ATRN (the ODMR port), the same.
  void atrn_done(std::optional<std::uint32_t> messages);
  // The verdict on the AUTH credentials, given to the session after `delay` seconds
  // (the growing delay after failures; commands sent meanwhile wait for it).
  void auth_done(const AuthOutcome& outcome, double delay);
  const ClientInfo& client() const { return client_; }
  // The checks process's answer to request `id` (connection_checks.cpp).
  void check_answer(std::uint64_t id, common::Result<common::ipc::CheckDone> answer);
  // The answer to the session's last Output::lookup (from the database thread).
  void lookup_done(LookupAnswer answer);
  // The mail filters' verdict on the session's last MilterRequest.
  void milter_done(MilterVerdict verdict);

 private:
  // The stream's events (common::io::Stream::Backend).
  void on_stream_read() override;
  void on_stream_drained() override;
  void on_stream_tls(const std::string& description) override;
  void on_stream_eof() override;
  void on_stream_error(const std::string& tls_error) override;
  void on_stream_timeout(bool writing) override;
  void on_stream_closed() override { finish("closed"); }
  static void submit_timeout_cb(evutil_socket_t, short, void* self) noexcept;
  static void auth_delay_cb(evutil_socket_t, short, void* self) noexcept;

  void on_read_timeout();
  void on_eof();
  void drain_input();
  void apply(Output out);
  void update_io();
  void write_out(std::string_view bytes);
  bool waiting() const;
  void finish(const char* why);
  // ODMR: the roles turned; relay the connection to the delivery agent's side.
  void start_relay();
  // The built-in checks (connection_checks.cpp): DNS lists asked at connect, their answer
  // kept for every MAIL; the MAIL or data stage the session waits for.
  static void check_timeout_cb(evutil_socket_t, short, void* self) noexcept;
  void start_connect_check();
  void start_check(common::ipc::Check req, common::io::UniqueFd fd);
  void try_finish_check();
  void forget_checks();

  Server& server_;
  std::uint64_t id_;
  ClientInfo client_;
  Port port_;
  std::shared_ptr<const PortConfig> cfg_;  // as when the client connected (a reload makes a new one)
  Session session_;
  bool greeted_ = false;
  common::io::Stream stream_;
  bool io_error_ = false;         // a write failed: finish at the next update_io()
  bool closing_ = false;          // close once the output is written
  common::io::Lifetime life_;     // ended: released, waiting for destruction
  std::uint64_t request_id_ = 0;  // submission, ETRN or ATRN waiting for the queue manager
  enum class Waiting { kSubmit, kEtrn, kAtrn };
  Waiting waiting_for_ = Waiting::kSubmit;  // which of them
  common::io::UniqueFd turn_fd_;            // ATRN: our end of the socket pair
  std::unique_ptr<TurnRelay> relay_;        // after the turn
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
