// The mail filters of one session (see milters.hpp). UNTRUSTED: the bytes a filter
// sends go only to common::milter::Client::feed; its changes to the message go through
// apply_edits(), which refuses what would break the message.
#include "smtpd/milters.hpp"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "common/io/fdio.hpp"
#include "common/log/log.hpp"

namespace smtpd {

namespace {

namespace log = common::log;
namespace milter = common::milter;
using Stage = MilterRequest::Stage;
using Action = MilterVerdict::Action;

timeval seconds(std::int64_t s) { return timeval{static_cast<time_t>(s), 0}; }

MilterVerdict tempfail_verdict() {
  MilterVerdict v;
  v.action = Action::kTempfail;
  v.reply = make_reply(451, "4.7.1", "Service unavailable - try again later");
  return v;
}

// The filter's refusal as an SMTP reply: its own code and text when it chose them.
Reply refusal(const milter::Outcome& o) {
  bool perm = o.action == milter::Outcome::Action::kReject;
  if (!o.has_reply)
    return perm ? make_reply(550, "5.7.1", "Command rejected")
                : make_reply(451, "4.7.1", "Service unavailable - try again later");
  const milter::ReplyCode& rc = o.reply;
  std::string status = rc.status.empty() ? (rc.code >= 500 ? "5.7.1" : "4.7.1") : rc.status;
  return make_reply(rc.code, status, rc.text.empty() ? "Command rejected" : rc.text);
}

const char* stage_name(Stage s) {
  switch (s) {
    case Stage::kConnect: return "CONNECT";
    case Stage::kHelo: return "HELO";
    case Stage::kMail: return "MAIL";
    case Stage::kRcpt: return "RCPT";
    case Stage::kMessage: return "DATA";
  }
  return "?";
}

}  // namespace

Milters::Milters(event_base* base, const std::vector<milter::Spec>& specs, Done done)
    : base_(base), done_(std::move(done)) {
  for (const auto& s : specs) {
    auto f = std::make_unique<Filter>();
    f->owner = this;
    f->spec = s;
    f->client = milter::Client(milter::kAllActions);
    filters_.push_back(std::move(f));
  }
}

Milters::~Milters() = default;

std::optional<MilterVerdict> Milters::run(MilterRequest req) {
  MB_CHECK(!busy_, "milter stage while another runs");
  req_ = std::move(req);
  cur_ = 0;
  busy_ = true;
  in_run_ = true;
  if (req_.stage == Stage::kMail) discard_ = false;
  bool ready = true;
  if (req_.stage == Stage::kMessage) {
    edited_ = false;
    message_.clear();
    auto pe = common::spool::read_envelope(req_.fd);
    common::Status st = pe ? common::io::pread_upto(req_.fd, &message_, pe->env.data_size,
                                                    static_cast<off_t>(pe->data_offset))
                           : pe.status();
    if (st && message_.size() != pe->env.data_size) st = common::Status::error("short read");
    if (!st) {
      log::error("%s: reading the queue file for the mail filters: %s", req_.log_id.c_str(),
                 st.message().c_str());
      ready = false;
      finish(tempfail_verdict());
    } else {
      env_ = std::move(pe->env);
    }
  }
  if (ready) next();
  in_run_ = false;
  return std::exchange(sync_, std::nullopt);
}

void Milters::finish(MilterVerdict v) {
  busy_ = false;
  if (content_timer_) evtimer_del(content_timer_.get());
  if (in_run_) {
    sync_ = std::move(v);
    return;
  }
  done_(std::move(v));  // may start the next stage: nothing of this one is used after
}

// The current stage goes to the next filter that is alive, or ends.
void Milters::next() {
  while (cur_ < filters_.size()) {
    Filter& f = *filters_[cur_];
    switch (f.state) {
      case Filter::State::kDead:
        // Dead with default action tempfail: the transaction stages are refused (HELO
        // still gets its answer, so the client reaches MAIL and learns why).
        if (f.tempfail && req_.stage != Stage::kHelo) return finish(tempfail_verdict());
        ++cur_;
        continue;
      case Filter::State::kNew: return connect(f);
      case Filter::State::kConnecting:
      case Filter::State::kNegotiating: return;  // check() runs the stage once ready
      case Filter::State::kReady: return run_stage(f);
    }
  }
  MilterVerdict v;
  if (req_.stage == Stage::kMessage) {
    if (discard_) {
      v.action = Action::kDiscard;
    } else if (edited_) {
      v.edited = true;
      v.envelope = std::move(env_);
      v.message = std::move(message_);
    }
  }
  finish(std::move(v));
}

void Milters::connect(Filter& f) {
  const milter::Spec& s = f.spec;
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (s.unix_socket) {
    auto* un = reinterpret_cast<sockaddr_un*>(&ss);
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, s.path.data(), s.path.size());  // length checked by parse_spec
    len = sizeof(sockaddr_un);
  } else if (s.host.find(':') != std::string::npos) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(s.port);
    inet_pton(AF_INET6, s.host.c_str(), &in6->sin6_addr);
    len = sizeof(sockaddr_in6);
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(s.port);
    inet_pton(AF_INET, s.host.c_str(), &in->sin_addr);
    len = sizeof(sockaddr_in);
  }
  f.bev.reset(bufferevent_socket_new(base_, -1, BEV_OPT_CLOSE_ON_FREE));
  if (!f.bev) return failed(f, "cannot create a socket");
  bufferevent_setcb(f.bev.get(), read_cb, nullptr, event_cb, &f);
  timeval tv = seconds(s.timeouts.connect);
  bufferevent_set_timeouts(f.bev.get(), &tv, &tv);  // connect and negotiation
  f.state = Filter::State::kConnecting;
  if (bufferevent_socket_connect(f.bev.get(), reinterpret_cast<sockaddr*>(&ss), static_cast<int>(len)) < 0)
    return failed(f, std::string("cannot connect: ") + std::strerror(errno));
  bufferevent_enable(f.bev.get(), EV_READ | EV_WRITE);
}

void Milters::read_cb(bufferevent*, void* f) noexcept {
  auto* filter = static_cast<Filter*>(f);
  filter->owner->on_read(*filter);
}

void Milters::event_cb(bufferevent*, short what, void* f) noexcept {
  auto* filter = static_cast<Filter*>(f);
  filter->owner->on_event(*filter, what);
}

void Milters::content_timeout_cb(evutil_socket_t, short, void* self) noexcept {
  auto* m = static_cast<Milters*>(self);
  if (!m->busy_ || m->cur_ >= m->filters_.size()) return;
  m->failed(*m->filters_[m->cur_], "content timeout");
}

void Milters::on_event(Filter& f, short what) {
  if (what & BEV_EVENT_CONNECTED) {
    f.state = Filter::State::kNegotiating;
    f.client.start();
    flush(f);
    return;
  }
  int err = EVUTIL_SOCKET_ERROR();
  if (what & BEV_EVENT_TIMEOUT)
    return failed(f, f.state == Filter::State::kReady ? "command timeout" : "connect timeout");
  if (what & BEV_EVENT_EOF) return failed(f, "connection closed by the filter");
  if (f.state == Filter::State::kConnecting)
    return failed(f, std::string("cannot connect: ") + std::strerror(err));
  failed(f, std::string("connection error: ") + std::strerror(err));
}

void Milters::on_read(Filter& f) {
  evbuffer* in = bufferevent_get_input(f.bev.get());
  std::size_t n = evbuffer_get_length(in);
  std::string bytes(n, '\0');
  evbuffer_remove(in, bytes.data(), n);
  f.client.feed(bytes);
  (void)f.client.take_progress();  // any read restarted the command timer already
  flush(f);
  check(f);
}

void Milters::flush(Filter& f) {
  std::string out = f.client.take_output();
  if (!out.empty() && f.bev) bufferevent_write(f.bev.get(), out.data(), out.size());
}

// After a stage call or a read: the filter failed, finished the stage, or waits.
void Milters::check(Filter& f) {
  if (f.client.failed()) return failed(f, f.client.outcome().error);
  if (f.state == Filter::State::kNegotiating) {
    if (!f.client.ready()) return;
    f.state = Filter::State::kReady;
    timeval tv = seconds(f.spec.timeouts.command);
    bufferevent_set_timeouts(f.bev.get(), &tv, &tv);
    bufferevent_disable(f.bev.get(), EV_READ);
    if (busy_ && cur_ < filters_.size() && filters_[cur_].get() == &f) run_stage(f);
    return;
  }
  if (f.state != Filter::State::kReady || !busy_) return;
  if (f.client.stage_done()) {
    // Not reading between stages: no command timer while the client is the slow one.
    bufferevent_disable(f.bev.get(), EV_READ);
    return outcome(f, f.client.outcome());
  }
  bufferevent_enable(f.bev.get(), EV_READ);
}

void Milters::run_stage(Filter& f) {
  const auto& a = req_.args;
  switch (req_.stage) {
    case Stage::kConnect: {
      const std::string& ip = a.at(1);
      f.client.connect(req_.macros, a.at(0), ip.find(':') != std::string::npos ? '6' : '4', 0, ip);
      break;
    }
    case Stage::kHelo: f.client.helo(req_.macros, a.at(0)); break;
    case Stage::kMail: f.client.mail(req_.macros, a); break;
    case Stage::kRcpt: f.client.rcpt(req_.macros, a); break;
    case Stage::kMessage: {
      // Each filter sees the message as the filters before it left it.
      split_ = split_message(message_);
      msg_.headers = std::move(split_.headers);
      msg_.body = split_.body;
      if (!content_timer_) content_timer_.reset(evtimer_new(base_, content_timeout_cb, this));
      timeval tv = seconds(f.spec.timeouts.content);
      if (content_timer_) evtimer_add(content_timer_.get(), &tv);
      f.client.message(req_.macros, req_.eom_macros, &msg_);
      break;
    }
  }
  flush(f);
  check(f);
}

void Milters::outcome(Filter& f, const milter::Outcome& o) {
  using A = milter::Outcome::Action;
  if (content_timer_) evtimer_del(content_timer_.get());
  switch (o.action) {
    case A::kContinue:
    case A::kAccept:
      if (req_.stage == Stage::kMessage && !o.mods.empty()) {
        common::Status st = apply_edits(o.mods, &message_, &env_);
        if (!st) return failed(f, "changes refused: " + st.message());
        edited_ = true;
      }
      ++cur_;
      return next();
    case A::kDiscard:
      log::info("%s: milter %s: discard at %s", req_.log_id.c_str(), f.spec.text.c_str(),
                stage_name(req_.stage));
      discard_ = true;
      if (req_.stage != Stage::kMessage) {
        ++cur_;
        return next();
      }
      {
        MilterVerdict v;
        v.action = Action::kDiscard;
        return finish(std::move(v));
      }
    case A::kReject:
    case A::kTempfail: {
      MilterVerdict v;
      v.action = o.action == A::kReject ? Action::kReject : Action::kTempfail;
      v.reply = refusal(o);
      log::info("%s: milter %s: %s at %s: %d %s %s", req_.log_id.c_str(), f.spec.text.c_str(),
                o.action == A::kReject ? "reject" : "tempfail", stage_name(req_.stage), v.reply.code,
                v.reply.status.c_str(), log::printable(v.reply.text).c_str());
      return finish(std::move(v));
    }
    case A::kFailed: return failed(f, o.error);
  }
}

void Milters::failed(Filter& f, const std::string& why) {
  bool tempfail = f.spec.default_action == milter::DefaultAction::kTempfail;
  log::warn("%s: milter %s: %s at %s; default action %s", req_.log_id.c_str(), f.spec.text.c_str(),
            log::printable(why).c_str(), stage_name(req_.stage), milter::action_name(f.spec.default_action));
  f.bev.reset();
  f.state = Filter::State::kDead;
  f.tempfail = tempfail;
  if (content_timer_) evtimer_del(content_timer_.get());
  if (!busy_) return;  // broke between stages: the next stage sees it dead
  if (cur_ < filters_.size() && filters_[cur_].get() != &f) return;  // still connecting, not its turn
  if (tempfail) return finish(tempfail_verdict());
  ++cur_;
  next();
}

void Milters::quit() {
  for (auto& f : filters_) {
    if (f->state != Filter::State::kReady || !f->bev) continue;
    f->client.quit();
    std::string q = f->client.take_output();
    // Best effort: the connection is freed with this object right after.
    if (evbuffer_get_length(bufferevent_get_output(f->bev.get())) == 0)
      (void)::send(bufferevent_getfd(f->bev.get()), q.data(), q.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
}

}  // namespace smtpd
