// The ODMR relay (see turn_relay.hpp).
#include "smtpd/turn_relay.hpp"

#include <event2/buffer.h>

namespace smtpd {
namespace {

// Bytes one side may have waiting to be written before the other is no longer read.
constexpr std::size_t kMaxBuffered = 256 * 1024;

}  // namespace

TurnRelay::TurnRelay(event_base* base, common::io::Stream& client, common::io::UniqueFd pair,
                     std::function<void(const char*)> done)
    : client_(client), done_(std::move(done)) {
  bev_.reset(bufferevent_socket_new(base, pair.get(), BEV_OPT_CLOSE_ON_FREE));
  if (bev_) pair.release();
}

TurnRelay::~TurnRelay() {
  if (bev_) bufferevent_setcb(bev_.get(), nullptr, nullptr, nullptr, nullptr);
}

bool TurnRelay::start(const std::string& pending) {
  if (!bev_) return false;
  bufferevent_setcb(bev_.get(), on_read_cb, on_write_cb, on_event_cb, this);
  bufferevent_setwatermark(bev_.get(), EV_WRITE, kMaxBuffered / 2, 0);
  if (bufferevent_enable(bev_.get(), EV_READ | EV_WRITE) != 0) return false;
  if (!pending.empty()) {
    bufferevent_write(bev_.get(), pending.data(), pending.size());
    to_agent_ += pending.size();
  }
  client_readable();
  return true;
}

void TurnRelay::client_readable() {
  if (ended_ || !bev_) return;
  evbuffer* in = client_.input();
  std::size_t n = evbuffer_get_length(in);
  if (n > 0) {
    to_agent_ += n;
    evbuffer_add_buffer(bufferevent_get_output(bev_.get()), in);
  }
  update();
}

void TurnRelay::client_drained() { update(); }

// Each side is read only while the other has room.
void TurnRelay::update() {
  if (ended_ || !bev_) return;
  client_.set_reading(evbuffer_get_length(bufferevent_get_output(bev_.get())) < kMaxBuffered);
  if (client_.pending_output() < kMaxBuffered)
    bufferevent_enable(bev_.get(), EV_READ);
  else
    bufferevent_disable(bev_.get(), EV_READ);
}

void TurnRelay::on_read_cb(bufferevent* b, void* self) noexcept {
  auto* r = static_cast<TurnRelay*>(self);
  evbuffer* in = bufferevent_get_input(b);
  std::size_t n = evbuffer_get_length(in);
  if (n == 0 || r->ended_) return;
  r->to_client_ += n;
  std::string bytes(n, '\0');
  evbuffer_remove(in, bytes.data(), n);
  r->client_.write(bytes);
  if (!r->client_.flush()) {
    r->ended_ = true;
    r->done_("client connection error");
    return;
  }
  r->update();
}

void TurnRelay::on_write_cb(bufferevent*, void* self) noexcept { static_cast<TurnRelay*>(self)->update(); }

void TurnRelay::on_event_cb(bufferevent*, short what, void* self) noexcept {
  auto* r = static_cast<TurnRelay*>(self);
  if (r->ended_) return;
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    r->ended_ = true;
    r->done_((what & BEV_EVENT_EOF) ? "the delivery agent ended the session" : "relay socket error");
  }
}

}  // namespace smtpd
