// Implementation of Channel. UNTRUSTED: frames arrive from less-privileged processes.
#include "common/ipc/channel.hpp"

#include <cerrno>

#include "common/io/fdio.hpp"
#include "common/ipc/socket.hpp"
#include "common/log/log.hpp"

namespace common::ipc {

Channel::Channel(event_base* base, io::UniqueFd sock, std::string protocol, std::string my_role,
                 FrameHandler on_frame, CloseHandler on_close)
    : base_(base),
      sock_(std::move(sock)),
      protocol_(std::move(protocol)),
      on_frame_(std::move(on_frame)),
      on_close_(std::move(on_close)) {
  Status st = io::set_nonblocking(sock_.get());
  MB_CHECK(st.is_ok(), "set_nonblocking on channel");
  rev_.reset(event_new(base_, sock_.get(), EV_READ | EV_PERSIST, on_read_cb, this));
  wev_.reset(event_new(base_, sock_.get(), EV_WRITE, on_write_cb, this));
  MB_CHECK(rev_ && wev_, "event_new for channel");
  event_add(rev_.get(), nullptr);
  Hello h;
  h.protocol = protocol_;
  h.version = kProtoVersion;
  h.role = std::move(my_role);
  send(h);
}

Channel::~Channel() { life_.end(); }

void Channel::on_read_cb(evutil_socket_t, short, void* self) noexcept {
  static_cast<Channel*>(self)->on_read();
}

void Channel::on_write_cb(evutil_socket_t, short, void* self) noexcept {
  static_cast<Channel*>(self)->flush();
}

void Channel::send_raw(std::string frame, io::UniqueFd fd) {
  if (!open_) return;
  if (frame.size() > kMaxFrame) {
    // A reply built from what a peer or a local user controls (a queue listing, say)
    // must never abort the daemon: the peer gets a closed connection instead, and the
    // log says which message was too big.
    unsigned type = (static_cast<unsigned char>(frame[4]) << 8) | static_cast<unsigned char>(frame[5]);
    log::error("%s: refusing to send a %zu-byte frame (type %u) over the %zu-byte limit", protocol_.c_str(),
               frame.size(), type, kMaxFrame);
    close(Status::error("outgoing frame over the size limit"));
    return;
  }
  out_.push_back(Out{std::move(frame), std::move(fd)});
  if (out_.size() == 1) flush();
}

void Channel::flush() {
  while (open_ && !out_.empty()) {
    Out& o = out_.front();
    Status st = send_frame(sock_.get(), o.frame, o.fd.get());
    if (!st) {
      if (st.err() == EAGAIN || st.err() == EWOULDBLOCK) {
        event_add(wev_.get(), nullptr);
        return;
      }
      close(st);
      return;
    }
    out_.pop_front();
  }
}

void Channel::on_read() {
  // Bounded work per wake-up, so one busy peer cannot starve the others.
  for (int i = 0; i < 64 && open_; ++i) {
    auto r = recv_frame(sock_.get());
    if (!r) {
      if (r.status().err() == EAGAIN || r.status().err() == EWOULDBLOCK) return;
      close(r.status());
      return;
    }
    if (r->eof) {
      close(Status::error("peer closed the connection"));
      return;
    }
    auto f = parse_frame(r->data);
    if (!f) {
      close(f.status());
      return;
    }
    if (!peer_hello_) {
      auto h = decode<Hello>(*f);
      if (!h) {
        close(Status::error("first frame is not a valid Hello: " + h.message()));
        return;
      }
      if (h->protocol != protocol_ || h->version != kProtoVersion) {
        close(Status::error("peer speaks " + log::printable(h->protocol, 40) + " version " +
                            std::to_string(h->version) + ", want " + protocol_ + " version " +
                            std::to_string(kProtoVersion)));
        return;
      }
      peer_hello_ = true;
      peer_role_ = h->role;
      if (on_hello_) on_hello_();
      continue;
    }
    on_frame_(*f, std::move(r->fd));
  }
}

void Channel::close(const Status& why) {
  if (!open_) return;
  open_ = false;
  event_del(rev_.get());
  event_del(wev_.get());
  out_.clear();
  sock_.reset();
  if (!on_close_) return;
  // Deferred: close() can happen inside send() or the constructor, where the owner is in
  // the middle of something (e.g. about to record a delivery it just sent).
  common::io::Guard alive = life_.guard();
  io::run_soon(base_, [this, alive, why] {
    if (alive && on_close_) on_close_(why);
  });
}

}  // namespace common::ipc
