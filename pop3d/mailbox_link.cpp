// pop3d's link to the POP3 mailbox process (see mailbox_link.hpp). UNTRUSTED (mildly):
// answers from the mailbox process go through the strict codec.
#include "pop3d/mailbox_link.hpp"

#include <cerrno>

#include "common/check.hpp"
#include "common/ipc/socket.hpp"
#include "common/log/log.hpp"

namespace pop3d {

namespace ipc = common::ipc;
namespace log = common::log;
using common::Status;

MailboxLink::MailboxLink(event_base* base, std::string socket_path, Ended on_ended, Lost on_lost,
                         int timeout_ms)
    : base_(base),
      path_(std::move(socket_path)),
      on_ended_(std::move(on_ended)),
      on_lost_(std::move(on_lost)),
      timeout_ms_(timeout_ms) {}

MailboxLink::~MailboxLink() { life_.end(); }

void MailboxLink::start() {
  retry_.reset(event_new(base_, -1, 0, retry_cb, this));
  MB_CHECK(retry_ != nullptr, "event_new (mailbox link retry)");
  if (!connect()) {
    timeval tv{1, 0};
    evtimer_add(retry_.get(), &tv);
  }
}

void MailboxLink::retry_cb(evutil_socket_t, short, void* self) noexcept {
  auto* l = static_cast<MailboxLink*>(self);
  if (l->ch_ && l->ch_->open()) return;
  if (!l->connect()) {
    timeval tv{1, 0};
    evtimer_add(l->retry_.get(), &tv);
  }
}

bool MailboxLink::connect() {
  auto sock = ipc::connect_unix(path_);
  if (!sock) {
    if (!down_logged_)
      log::warn("the POP3 mailbox process is not reachable at %s (%s); logins fail temporarily until it is",
                path_.c_str(), sock.message().c_str());
    down_logged_ = true;
    return false;
  }
  down_logged_ = false;
  ch_ = std::make_unique<ipc::Channel>(
      base_, std::move(*sock), ipc::kProtoPop3Mailbox, "pop3d",
      [this](const ipc::FrameView& f, common::io::UniqueFd) { on_frame(f); },
      [this](const Status& why) { on_closed(why); });
  log::info("connected to the POP3 mailbox process at %s", path_.c_str());
  return true;
}

std::uint64_t MailboxLink::hand_over(ipc::Pop3Handover h, common::io::UniqueFd fd, Done done) {
  if (!ch_ || !ch_->open()) return 0;
  std::uint64_t id = next_id_++;
  h.request_id = id;
  auto p = std::make_unique<Pending>();
  p->owner = this;
  p->id = id;
  p->done = std::move(done);
  p->timer.reset(evtimer_new(base_, timeout_cb, p.get()));
  MB_CHECK(p->timer != nullptr, "evtimer_new (handover deadline)");
  timeval tv{timeout_ms_ / 1000, (timeout_ms_ % 1000) * 1000};
  evtimer_add(p->timer.get(), &tv);
  pending_[id] = std::move(p);
  ch_->send(h, std::move(fd));
  return id;
}

void MailboxLink::timeout_cb(evutil_socket_t, short, void* arg) noexcept {
  auto* p = static_cast<Pending*>(arg);
  MailboxLink* self = p->owner;
  auto it = self->pending_.find(p->id);
  if (it == self->pending_.end()) return;
  auto mine = std::move(it->second);
  self->pending_.erase(it);
  log::warn("the POP3 mailbox process did not answer a handover in time");
  mine->done(ipc::HandoverResult::kTempFail, true);
}

void MailboxLink::on_frame(const ipc::FrameView& f) {
  if (f.type == static_cast<std::uint16_t>(ipc::MsgType::kPop3SessionEnded)) {
    auto e = ipc::decode<ipc::Pop3SessionEnded>(f);
    if (!e) return ch_->close(Status::error("bad Pop3SessionEnded: " + e.message(), EPROTO));
    if (on_ended_) on_ended_(e->request_id);
    return;
  }
  auto d = ipc::decode<ipc::Pop3HandoverDone>(f);
  if (!d)
    return ch_->close(Status::error("bad answer from the POP3 mailbox process: " + d.message(), EPROTO));
  auto it = pending_.find(d->request_id);
  if (it == pending_.end()) return;  // timed out: that client was disconnected
  auto mine = std::move(it->second);
  pending_.erase(it);
  mine->done(d->result, false);
}

void MailboxLink::on_closed(const Status& why) {
  log::warn("connection to the POP3 mailbox process closed: %s", why.message().c_str());
  std::shared_ptr<ipc::Channel> dead(std::move(ch_));
  common::io::run_soon(base_, [dead] {});
  auto waiting = std::move(pending_);
  pending_.clear();
  for (auto& [id, p] : waiting) p->done(ipc::HandoverResult::kTempFail, true);
  if (on_lost_) on_lost_();
  timeval tv{1, 0};
  if (retry_) evtimer_add(retry_.get(), &tv);
}

}  // namespace pop3d
