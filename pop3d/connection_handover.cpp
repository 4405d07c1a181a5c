// The login process's side of the handover (see connection.hpp): once the authentication
// daemon said yes, the client goes to the mailbox process with the login token; under TLS
// this Connection then relays between the client's TLS session and a socketpair. The
// mailbox process's answer decides: kOk (it serves the client now), or a refusal that the
// session turns into its -ERR reply ([IN-USE], [SYS/TEMP]) while the client stays in the
// AUTHORIZATION state, or no answer (the client is told and disconnected).
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <fcntl.h>
#include <sys/socket.h>

#include <utility>

#include "common/log/log.hpp"
#include "pop3d/connection.hpp"
#include "pop3d/handover.hpp"

namespace pop3d {
namespace {

using common::Status;
namespace ipc = common::ipc;
namespace log = common::log;

// Relayed bytes buffered each way before the sender is paused.
constexpr std::size_t kProxyHigh = 256 * 1024;
constexpr std::size_t kProxyLow = 64 * 1024;

}  // namespace

void Connection::begin_handover() {
  handing_ = true;
  handover_sent_ = false;
  stream_.set_reading(false);
  // settle() sends it once the replies before it are out.
}

void Connection::send_handover() {
  handover_sent_ = true;
  HandoverRequest req;
  req.account = account_;
  req.token = std::exchange(token_, {});
  req.tls = stream_.tls();
  std::size_t n = evbuffer_get_length(in());
  Status failed = Status::ok();
  if (n > kMaxHandoverInput) {
    failed = Status::error("more than 64 KiB of pipelined input after the login");
  } else if (!req.tls) {
    req.fd = common::io::UniqueFd(::fcntl(stream_.fd(), F_DUPFD_CLOEXEC, 0));
    if (!req.fd) failed = Status::sys("dup of the client socket");
  } else {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0) {
      failed = Status::sys("socketpair");
    } else {
      proxy_end_ = common::io::UniqueFd(sv[0]);
      req.fd = common::io::UniqueFd(sv[1]);
    }
  }
  if (!failed) {
    handing_ = false;
    proxy_end_.reset();
    apply(session_->maildrop_opened(failed, Maildrop::OpenError::kFailed));
    stream_.set_reading(true);
    return;
  }
  req.input.resize(n);
  evbuffer_remove(in(), req.input.data(), n);
  srv_.hand_over(id_, std::move(req));
}

void Connection::handover_done(ipc::HandoverResult r, bool link_failed) {
  if (life_.ended() || !handing_) return;
  handing_ = false;
  if (link_failed) {
    // The mailbox process may hold the client (or soon): end the connection for both.
    stream_.write("-ERR [SYS/TEMP] The mailbox server is not answering, try again later\r\n");
    proxy_end_.reset();
    if (!stream_.tls()) {
      (void)stream_.flush();
      ::shutdown(stream_.fd(), SHUT_RDWR);
      return destroy();
    }
    after_ = AfterFlush::kClose;
    stream_.close_after_flush();
    return;
  }
  if (r == ipc::HandoverResult::kOk) {
    if (!stream_.tls()) {
      // The mailbox process has the client; the host forgets this Connection.
      life_.end();
      stream_.stop();
      return;
    }
    return proxy_start();
  }
  proxy_end_.reset();
  bool in_use = r == ipc::HandoverResult::kInUse;
  apply(session_->maildrop_opened(
      Status::error(r == ipc::HandoverResult::kRefused ? "the mailbox process refused the login token"
                                                       : "the mailbox process could not open it"),
      in_use ? Maildrop::OpenError::kInUse : Maildrop::OpenError::kFailed));
  process_input();
  settle();
}

void Connection::proxy_start() {
  proxy_.reset(bufferevent_socket_new(srv_.base(), proxy_end_.release(), BEV_OPT_CLOSE_ON_FREE));
  if (!proxy_) {
    log::error("cannot relay the TLS session of %s", addr_.c_str());
    return destroy();
  }
  bufferevent_setcb(proxy_.get(), proxy_read_cb, proxy_write_cb, proxy_event_cb, this);
  bufferevent_setwatermark(proxy_.get(), EV_READ, 0, kProxyHigh);
  bufferevent_setwatermark(proxy_.get(), EV_WRITE, kProxyLow, 0);
  bufferevent_enable(proxy_.get(), EV_READ | EV_WRITE);
  stream_.set_write_low(kProxyLow);
  // The mailbox process keeps the autologout timer; this one only catches a relay that
  // lost both sides.
  stream_.set_timeouts(srv_.cfg().pop3d_timeout + 60, srv_.cfg().pop3d_timeout);
  proxy_from_client();
}

void Connection::proxy_read_cb(bufferevent*, void* self) noexcept {
  static_cast<Connection*>(self)->proxy_to_client();
}

void Connection::proxy_write_cb(bufferevent*, void* self) noexcept {
  static_cast<Connection*>(self)->proxy_flow();
}

void Connection::proxy_event_cb(bufferevent*, short what, void* self) noexcept {
  auto* c = static_cast<Connection*>(self);
  if (c->life_.ended()) return;
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    c->proxy_eof_ = true;  // the session ended there, or the mailbox process died
    c->proxy_to_client();
  }
}

// Client -> mailbox process (plain bytes: TLS ends here).
void Connection::proxy_from_client() {
  if (life_.ended() || !proxy_) return;
  if (!proxy_eof_) evbuffer_add_buffer(bufferevent_get_output(proxy_.get()), in());
  proxy_flow();
}

// Mailbox process -> client.
void Connection::proxy_to_client() {
  if (life_.ended() || !proxy_) return;
  if (pending_output() < kProxyHigh) evbuffer_add_buffer(out(), bufferevent_get_input(proxy_.get()));
  proxy_flow();
}

// Each side reads only while the other side's buffer has room; the end of the mailbox
// process's side closes the client's once everything is out.
void Connection::proxy_flow() {
  if (life_.ended() || !proxy_) return;
  if (!stream_.flush()) return lost();
  evbuffer* from_mailbox = bufferevent_get_input(proxy_.get());
  if (pending_output() < kProxyHigh && evbuffer_get_length(from_mailbox) > 0) {
    evbuffer_add_buffer(out(), from_mailbox);
    if (!stream_.flush()) return lost();
  }
  if (pending_output() < kProxyHigh)
    bufferevent_enable(proxy_.get(), EV_READ);
  else
    bufferevent_disable(proxy_.get(), EV_READ);
  if (proxy_eof_) {
    if (evbuffer_get_length(from_mailbox) == 0 && after_ != AfterFlush::kClose) {
      after_ = AfterFlush::kClose;
      stream_.close_after_flush();
    }
    return;
  }
  stream_.set_reading(evbuffer_get_length(bufferevent_get_output(proxy_.get())) < kProxyHigh);
}

}  // namespace pop3d
