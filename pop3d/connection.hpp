// One POP3 client connection: the glue between a socket and its pure Session, which
// returns what to write and what to do next (Output), as smtpd's does. The bytes go through
// a common::io::Stream (plain, or TLS for pop3s and after STLS); the replies of each turn
// are written at its end (settle). RETR/TOP stream as the socket drains (the output never
// holds more than about kStreamHigh bytes of a message), and commands are taken only while
// the unsent replies stay under kMaxPendingOutput, so a client that pipelines without
// reading cannot make the process grow. Owned by its Host (host.hpp), which destroys it
// on a later loop turn (Host::release), never inside its own callback.
// In pop3d (the login process) a good login hands the client over to the mailbox process
// (connection_handover.cpp): a copy of a plain socket goes across, and the Connection
// ends; under TLS it stays as the relay between the TLS session and a socketpair whose
// other end went across. In the mailbox process a Connection starts with resume(), in
// the TRANSACTION state.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/io/event.hpp"
#include "common/io/lifetime.hpp"
#include "common/io/stream.hpp"
#include "common/io/unique_fd.hpp"
#include "common/ipc/messages.hpp"
#include "pop3d/host.hpp"
#include "pop3d/session.hpp"

namespace pop3d {

class Connection : private common::io::Stream::Backend {
 public:
  Connection(Host& srv, std::uint64_t id, common::io::UniqueFd fd, std::string addr, bool implicit_tls);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool start();
  // Mailbox process: a client handed over after its login, with its maildrop open;
  // `input` is what it sent after the login command.
  bool resume(const std::string& account, std::unique_ptr<Maildrop> drop, const std::string& input, bool tls);
  const std::string& client() const { return addr_; }
  // The verdict on the credentials, given to the session after `delay` seconds (the
  // growing delay after failures; commands sent meanwhile wait for it). With kOk,
  // `token` is the authentication daemon's login token for the handover.
  void auth_done(const AuthResult& r, double delay, const std::string& token = "");

  // Login process: the mailbox process's answer to the handover. kOk on a plain
  // connection ends this Connection without a word (the mailbox process has the client);
  // under TLS it relays from now on. `link_failed`: the mailbox process did not answer
  // (gone, or too slow): the client is told and disconnected, since the other side may
  // hold it.
  void handover_done(common::ipc::HandoverResult r, bool link_failed);
  bool relaying() const { return proxy_ != nullptr; }
  // From the disk workers.
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
  // connection_handover.cpp
  void begin_handover();
  void send_handover();
  void proxy_start();
  void proxy_from_client();
  void proxy_to_client();
  void proxy_flow();
  static void proxy_read_cb(bufferevent*, void* self) noexcept;
  static void proxy_write_cb(bufferevent*, void* self) noexcept;
  static void proxy_event_cb(bufferevent*, short what, void* self) noexcept;
  void lost();
  void settle();
  void process_input();
  void fill_stream();
  void destroy();

  Host& srv_;
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
  // the handover (login process)
  std::string account_, token_;  // from the authentication daemon's ok
  bool handing_ = false;         // waiting for the output to drain, then for the answer
  bool handover_sent_ = false;
  common::io::UniqueFd proxy_end_;    // TLS: our end of the socketpair until the answer
  common::io::BufferEventPtr proxy_;  // TLS after kOk: the relay to the mailbox process
  bool proxy_eof_ = false;            // the mailbox process closed its end
};

}  // namespace pop3d
