// Implementation of the internal-socket clients (see client.hpp). UNTRUSTED (mildly):
// the server's frames go through the strict codec; a bad one is an error, never a crash.
#include "common/ipc/client.hpp"

#include <cerrno>

#include "common/ipc/socket.hpp"
#include "common/log/log.hpp"

namespace common::ipc {

namespace log = common::log;

Status connect_error(const Peer& peer, const Status& st) {
  int e = st.err();
  if (e == ENOENT)
    return Status::error(peer.name + " is not running (no socket at " + peer.socket_path + ")", e);
  if (e == ECONNREFUSED)
    return Status::error(peer.name + " is not running (nobody listens on " + peer.socket_path + ")", e);
  if (e == EACCES || e == EPERM) return Status::error("no permission to use " + peer.socket_path, e);
  return Status::error("cannot reach " + peer.name + ": " + st.message(), e ? e : ECONNREFUSED);
}

namespace {

// The server's Hello, checked against what we speak.
Status check_hello(const Peer& peer, const Hello& h) {
  if (h.protocol == peer.protocol && h.version == kProtoVersion) return Status::ok();
  return Status::error(peer.name + " speaks " + log::printable(h.protocol, 40) + " version " +
                           std::to_string(h.version) + ", not " + peer.protocol + " version " +
                           std::to_string(kProtoVersion),
                       EPROTONOSUPPORT);
}

}  // namespace

// ---- BlockingClient ----

Result<BlockingClient> BlockingClient::connect(const Peer& peer, int timeout_ms) {
  auto sock = connect_unix(peer.socket_path);
  if (!sock) return connect_error(peer, sock.status());
  return attach(std::move(*sock), peer, timeout_ms);
}

Result<BlockingClient> BlockingClient::attach(io::UniqueFd sock, const Peer& peer, int timeout_ms) {
  BlockingClient c(std::move(sock), peer, timeout_ms);
  Hello hello;
  hello.protocol = peer.protocol;
  hello.version = kProtoVersion;
  hello.role = peer.role;
  MB_TRY(c.send(hello));
  auto theirs = c.receive<Hello>();
  if (!theirs) return theirs.status();
  MB_TRY(check_hello(peer, *theirs));
  return c;
}

Status BlockingClient::send_raw(const std::string& frame, int pass_fd) {
  Status st = send_frame(sock_.get(), frame, pass_fd);
  if (st) return st;
  // EPIPE/ECONNRESET: the server went away (it closes a connection it dislikes).
  int e = st.err() == EPIPE || st.err() == ECONNRESET || st.err() == 0 ? ECONNRESET : st.err();
  return Status::error("cannot talk to " + peer_.name + ": " + st.message(), e);
}

Result<std::string> BlockingClient::receive_datagram() {
  auto r = recv_frame_timeout(sock_.get(), timeout_ms_);
  if (!r) {
    int e = r.status().err();
    if (e == ETIMEDOUT) return Status::error(peer_.name + " did not answer in time", e);
    if (e == 0) e = EPROTO;  // oversized frame, stray control data: the codec's refusals
    if (e == ECONNRESET) return Status::error(peer_.name + " closed the connection", e);
    return Status::error(peer_.name + ": " + r.message(), e);
  }
  if (r->eof) return Status::error(peer_.name + " closed the connection", ECONNRESET);
  // A descriptor the protocol does not send this way is closed here (r->fd's destructor).
  return std::move(r->data);
}

// ---- AsyncClient ----

AsyncClient::AsyncClient(event_base* base, Peer peer, int timeout_ms)
    : base_(base), peer_(std::move(peer)), timeout_ms_(timeout_ms) {}

AsyncClient::~AsyncClient() { life_.end(); }

void AsyncClient::keep_connected(int retry_seconds) {
  retry_seconds_ = retry_seconds > 0 ? retry_seconds : 1;
  retry_.reset(evtimer_new(base_, retry_cb, this));
  MB_CHECK(retry_ != nullptr, "evtimer_new for the reconnect timer");
  if (!ensure_connected()) schedule_retry();
}

void AsyncClient::retry_cb(evutil_socket_t, short, void* self) noexcept {
  auto* c = static_cast<AsyncClient*>(self);
  if (!c->ensure_connected()) c->schedule_retry();
}

void AsyncClient::schedule_retry() {
  if (!retry_) return;
  timeval tv{retry_seconds_, 0};
  evtimer_add(retry_.get(), &tv);
}

bool AsyncClient::ensure_connected() {
  if (connected()) return true;
  if (ch_) {
    // Closed, its close handler not yet run: the requests on it fail on the next turn
    // (never inside call()), and the dead channel makes room for a new one.
    auto waiting = std::move(pending_);
    pending_.clear();
    common::io::Guard alive = life_.guard();
    std::shared_ptr<decltype(waiting)> w = std::make_shared<decltype(waiting)>(std::move(waiting));
    std::string name = peer_.name;
    io::run_soon(base_, [w, name, alive] {
      if (!alive) return;
      for (auto& [id, p] : *w) p->handler(nullptr, Status::error(name + " connection lost", ECONNRESET));
    });
    ch_.reset();
  }
  auto sock = connect_unix(peer_.socket_path);
  if (!sock) {
    if (!down_logged_)
      log::warn("%s is not reachable at %s (%s)%s", peer_.name.c_str(), peer_.socket_path.c_str(),
                sock.message().c_str(), retry_ ? "; retrying" : "");
    down_logged_ = true;
    return false;
  }
  down_logged_ = false;
  ch_ = std::make_unique<Channel>(
      base_, std::move(*sock), peer_.protocol, peer_.role,
      [this](const FrameView& f, io::UniqueFd fd) {
        (void)fd;  // no descriptors come back this way; a stray one is closed
        on_frame(f);
      },
      [this](const Status& why) { on_closed(why); });
  log::info("connected to %s at %s", peer_.name.c_str(), peer_.socket_path.c_str());
  return true;
}

void AsyncClient::add_pending(std::uint64_t id, std::uint16_t type, Handler h) {
  auto p = std::make_unique<Pending>();
  p->owner = this;
  p->id = id;
  p->type = type;
  p->handler = std::move(h);
  if (timeout_ms_ > 0) {
    p->timer.reset(evtimer_new(base_, timeout_cb, p.get()));
    MB_CHECK(p->timer != nullptr, "evtimer_new for a request deadline");
    timeval tv{timeout_ms_ / 1000, (timeout_ms_ % 1000) * 1000};
    evtimer_add(p->timer.get(), &tv);
  }
  pending_[id] = std::move(p);
}

void AsyncClient::timeout_cb(evutil_socket_t, short, void* arg) noexcept {
  auto* p = static_cast<Pending*>(arg);
  AsyncClient* self = p->owner;
  auto it = self->pending_.find(p->id);
  if (it == self->pending_.end()) return;
  auto mine = std::move(it->second);
  self->pending_.erase(it);
  // A late reply finds no request and is dropped; the connection stays.
  mine->handler(nullptr, Status::error(self->peer_.name + " did not answer in time", ETIMEDOUT));
}

void AsyncClient::on_frame(const FrameView& f) {
  // request_id is the first field of every reply this client matches (a big-endian u64).
  if (f.payload.size() < 8) {
    ch_->close(Status::error("frame from " + peer_.name + " too short for a request id", EPROTO));
    return;
  }
  std::uint64_t id = 0;
  for (int i = 0; i < 8; ++i)
    id = (id << 8) | static_cast<unsigned char>(f.payload[static_cast<std::size_t>(i)]);
  auto it = pending_.find(id);
  if (it == pending_.end()) return;  // timed out or cancelled: the answer is not wanted
  if (it->second->type != f.type) {
    ch_->close(
        Status::error("unexpected message type " + std::to_string(f.type) + " from " + peer_.name, EPROTO));
    return;
  }
  auto mine = std::move(it->second);
  pending_.erase(it);
  Channel* ch = ch_.get();
  if (!mine->handler(&f, Status::ok()) && ch == ch_.get() && ch_ && ch_->open())
    ch_->close(Status::error("malformed reply from " + peer_.name, EPROTO));
}

void AsyncClient::on_closed(const Status& why) {
  log::warn("connection to %s closed: %s", peer_.name.c_str(), why.message().c_str());
  Status lost =
      Status::error(peer_.name + " connection lost: " + why.message(), why.err() ? why.err() : ECONNRESET);
  // The channel is destroyed on the next turn, outside its own callback.
  std::shared_ptr<Channel> dead(std::move(ch_));
  io::run_soon(base_, [dead] {});
  fail_all(lost);
  schedule_retry();
}

void AsyncClient::fail_all(const Status& why) {
  auto waiting = std::move(pending_);
  pending_.clear();
  for (auto& [id, p] : waiting) p->handler(nullptr, why);
}

}  // namespace common::ipc
