// The one client side of the internal sockets: connect to a server's private socket,
// exchange Hello and check the protocol and version, then send requests and wait for
// their replies within a deadline. BlockingClient serves the tools (mailctl, sendmail):
// one conversation, poll(2) for each reply. AsyncClient serves the daemons (smtpd, the
// local agent): a Channel on the event loop that matches each reply to its request by
// request_id and fails what stays unanswered. Protocol rules: mailbag-ipc(7).
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "common/io/event.hpp"
#include "common/io/lifetime.hpp"
#include "common/io/unique_fd.hpp"
#include "common/ipc/channel.hpp"
#include "common/ipc/codec.hpp"
#include "common/ipc/messages.hpp"
#include "common/result.hpp"

namespace common::ipc {

// The server a client talks to.
struct Peer {
  std::string socket_path;  // e.g. spool/private/submit
  std::string protocol;     // kProtoSubmit, kProtoControl, ...
  std::string role;         // ours, announced in Hello: "smtpd", "sendmail", "mailctl", ...
  std::string name;         // the server as messages name it: "the queue manager"
};

// Every failure of a client carries an errno in err(), so that callers map it to an
// exit code or an SMTP reply without parsing text:
//   ENOENT, ECONNREFUSED  nobody listens: the server is not running
//   EACCES, EPERM         no permission to use the socket
//   ETIMEDOUT             no answer before the deadline
//   ECONNRESET            the server closed the connection (it does so on a bad request)
//   EPROTONOSUPPORT       the server's Hello names another protocol or version
//   EPROTO                a malformed, oversized or unexpected frame
// Any other value is the errno of a failed system call.

// Blocking client: each reply (and the server's Hello) must arrive within `timeout_ms`
// of starting to wait for it. UNTRUSTED (mildly): replies go through the strict codec.
class BlockingClient {
 public:
  // Connects and exchanges Hello (ours first, then the server's is checked).
  static Result<BlockingClient> connect(const Peer& peer, int timeout_ms);
  // The same on a socket already connected (tests use a socketpair).
  static Result<BlockingClient> attach(io::UniqueFd sock, const Peer& peer, int timeout_ms);

  // One frame, optionally passing `pass_fd` (which stays ours).
  template <class T>
  Status send(const T& msg, int pass_fd = -1) {
    return send_raw(encode_frame(msg), pass_fd);
  }
  // The next frame, decoded as T.
  template <class T>
  Result<T> receive() {
    auto data = receive_datagram();
    if (!data) return data.status();
    auto f = parse_frame(*data);
    if (!f) return Status::error("bad frame from " + peer_.name + ": " + f.message(), EPROTO);
    auto msg = decode<T>(*f);
    if (!msg) return Status::error("bad answer from " + peer_.name + ": " + msg.message(), EPROTO);
    return msg;
  }
  // A request and its reply.
  template <class Rep, class Req>
  Result<Rep> call(const Req& req, int pass_fd = -1) {
    MB_TRY(send(req, pass_fd));
    return receive<Rep>();
  }

  const Peer& peer() const { return peer_; }
  int fd() const { return sock_.get(); }

 private:
  BlockingClient(io::UniqueFd sock, Peer peer, int timeout_ms)
      : sock_(std::move(sock)), peer_(std::move(peer)), timeout_ms_(timeout_ms) {}
  Status send_raw(const std::string& frame, int pass_fd);
  Result<std::string> receive_datagram();

  io::UniqueFd sock_;
  Peer peer_;
  int timeout_ms_;
};

// The error of connecting to `peer` (connect_unix's), worded for a user: "... is not
// running (no socket at PATH)", "no permission to use PATH", with err() kept.
Status connect_error(const Peer& peer, const Status& st);

// Asynchronous client over a Channel. Only for request/reply pairs whose both messages
// carry request_id as their FIRST field (Submit/SubmitDone, Etrn/EtrnDone): that is how
// a reply finds its request, in whatever order the server answers.
class AsyncClient {
 public:
  // timeout_ms: how long a request may wait for its reply (0: no deadline; the caller
  // has its own timer and cancel()s).
  AsyncClient(event_base* base, Peer peer, int timeout_ms);
  ~AsyncClient();
  AsyncClient(const AsyncClient&) = delete;
  AsyncClient& operator=(const AsyncClient&) = delete;

  // Connects now and again `retry_seconds` after every loss or failed attempt (a daemon
  // that keeps one connection open). Without it, call() connects on demand.
  void keep_connected(int retry_seconds);
  bool connected() const { return ch_ && ch_->open(); }
  std::size_t pending() const { return pending_.size(); }

  // Sends `req` (its request_id is set here) with an optional descriptor to pass.
  // Returns the request id, or 0 when there is no connection and none can be made now
  // (`done` is then never called). Otherwise `done` is called exactly once, never from
  // inside call(): with the reply, or with an error (ETIMEDOUT after the deadline; the
  // connection's error when it breaks, which fails every request waiting on it).
  template <class Rep, class Req>
  std::uint64_t call(Req req, io::UniqueFd fd, std::function<void(Result<Rep>)> done) {
    if (!ensure_connected()) return 0;
    std::uint64_t id = next_id_++;
    req.request_id = id;
    Handler h = [done = std::move(done), name = peer_.name](const FrameView* f, const Status& err) -> bool {
      if (!f) {
        done(err);
        return true;
      }
      auto msg = decode<Rep>(*f);
      if (!msg) {
        done(Status::error("bad answer from " + name + ": " + msg.message(), EPROTO));
        return false;
      }
      done(std::move(*msg));
      return true;
    };
    add_pending(id, static_cast<std::uint16_t>(Rep::kType), std::move(h));
    ch_->send(req, std::move(fd));
    return id;
  }
  // The caller no longer wants the answer to `id` (its `done` will not be called).
  void cancel(std::uint64_t id) { pending_.erase(id); }

 private:
  // Returns false when the reply did not decode (a protocol error: the connection closes).
  using Handler = std::function<bool(const FrameView* reply, const Status& err)>;
  struct Pending {
    AsyncClient* owner = nullptr;
    std::uint64_t id = 0;
    std::uint16_t type = 0;
    Handler handler;
    io::EventPtr timer;
  };
  static void timeout_cb(evutil_socket_t, short, void* p) noexcept;
  static void retry_cb(evutil_socket_t, short, void* self) noexcept;
  bool ensure_connected();
  void add_pending(std::uint64_t id, std::uint16_t type, Handler h);
  void on_frame(const FrameView& f);
  void on_closed(const Status& why);
  void fail_all(const Status& why);
  void schedule_retry();

  event_base* base_;
  Peer peer_;
  int timeout_ms_;
  int retry_seconds_ = 0;  // 0: connect on demand
  std::unique_ptr<Channel> ch_;
  io::EventPtr retry_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Pending>> pending_;
  std::uint64_t next_id_ = 1;
  bool down_logged_ = false;
  common::io::Lifetime life_;  // guards deferred callbacks
};

}  // namespace common::ipc
