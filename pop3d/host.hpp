// What a POP3 Connection (connection.hpp) needs from the process around it. Two processes
// host connections: pop3d, the login process (server.hpp: listeners, TLS, password checks
// through the authentication daemon, the handover of a logged-in client), and the POP3
// mailbox process (pop3d/mailbox/server.hpp: the Maildirs, serving the TRANSACTION and
// UPDATE states of clients handed over to it). Each implements the calls it can serve;
// the others answer a temporary failure (they are never reached: a session asks for
// them only in the other process's states).
#pragma once

#include <event2/event.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <string>

#include "common/config/config.hpp"
#include "common/io/unique_fd.hpp"
#include "common/io/work_queue.hpp"
#include "common/log/log.hpp"

namespace pop3d {

class Connection;

// A client to hand to the mailbox process (login side).
struct HandoverRequest {
  std::string account;
  std::string token;
  bool tls = false;
  std::string input;        // read after the login command
  common::io::UniqueFd fd;  // a copy of the client socket, or the mailbox end of a socketpair
};

class Host {
 public:
  virtual ~Host() = default;
  virtual const common::config::Config& cfg() const = 0;
  virtual event_base* base() const = 0;
  virtual SSL_CTX* tls() const = 0;
  virtual Connection* find(std::uint64_t id) = 0;
  // Destroys the connection on the next loop turn.
  virtual void release(std::uint64_t id) = 0;
  virtual common::io::WorkQueue& disk() = 0;
  virtual common::log::RateLimiter& warn_limit() = 0;
  // Buffers every connection of the process shares (one thread).
  virtual std::string& read_buffer() = 0;
  virtual std::string& wire_buffer() = 0;
  // Login side: checks credentials; the verdict comes back through Connection::auth_done.
  virtual void authenticate(std::uint64_t conn_id, const std::string& user, const std::string& password) = 0;
  // Login side: hands the client over; the answer comes back through
  // Connection::handover_done (never inside this call).
  virtual void hand_over(std::uint64_t conn_id, HandoverRequest req) = 0;
};

}  // namespace pop3d
