// Connection's side of the built-in checks (see connection.hpp): the DNS list request
// sent at connect, the MAIL and data requests the session asks for, the time limits
// (filter_timeout, filter_data_timeout), and one merged answer for the session. A
// checks process that is down, slow or confused gives the session temperrors
// (check_policy.hpp's unanswered()), never a stalled client.
#include "common/log/log.hpp"
#include "smtpd/connection.hpp"
#include "smtpd/server.hpp"

namespace smtpd {

namespace ipc = common::ipc;
namespace log = common::log;

void Connection::start_connect_check() {
  const ChecksConfig& c = cfg_->session.checks;
  if (!c.dnsbl || port_ != Port::kMx || client_.relay_network) return;
  ipc::Check req;
  req.stage = ipc::CheckStage::kConnect;
  req.client_ip = client_.ip;
  connect_req_ = server_.check(id_, std::move(req), common::io::UniqueFd());
  if (connect_req_ == 0) connect_answer_ = unanswered(ipc::CheckStage::kConnect, c);
}

void Connection::start_check(ipc::Check req, common::io::UniqueFd fd) {
  if (life_.ended()) return;
  const ChecksConfig& c = cfg_->session.checks;
  check_stage_ = req.stage;
  check_answer_.reset();
  // At the data stage also for the administrator's content rules alone.
  bool content = !req.reject_words.empty() || !req.junk_words.empty() || req.attachment_max != 0;
  bool ask = req.stage == ipc::CheckStage::kData ? c.data || content : c.spf;
  if (ask) {
    check_req_ = server_.check(id_, std::move(req), std::move(fd));
    if (check_req_ == 0) check_answer_ = unanswered(*check_stage_, c);
  }
  if (check_req_ != 0 || connect_req_ != 0) {
    if (!check_timer_) check_timer_.reset(evtimer_new(server_.base(), check_timeout_cb, this));
    std::int64_t limit = *check_stage_ == ipc::CheckStage::kData ? server_.config().filter_data_timeout
                                                                 : server_.config().filter_timeout;
    timeval tv{static_cast<time_t>(limit), 0};
    if (check_timer_) evtimer_add(check_timer_.get(), &tv);
  }
  try_finish_check();
}

void Connection::check_answer(std::uint64_t id, common::Result<ipc::CheckDone> answer) {
  if (life_.ended() || id == 0) return;
  const ChecksConfig& c = cfg_->session.checks;
  if (!answer) log::warn("%s: checks process: %s", client_.literal.c_str(), answer.message().c_str());
  if (id == connect_req_) {
    connect_req_ = 0;
    connect_answer_ = answer ? *answer : unanswered(ipc::CheckStage::kConnect, c);
  } else if (id == check_req_ && check_stage_) {
    check_req_ = 0;
    check_answer_ = answer ? *answer : unanswered(*check_stage_, c);
  }
  try_finish_check();
}

void Connection::check_timeout_cb(evutil_socket_t, short, void* self) noexcept {
  auto* c = static_cast<Connection*>(self);
  if (c->life_.ended() || !c->check_stage_) return;
  const ChecksConfig& cfg = c->cfg_->session.checks;
  log::warn("%s: no answer from the checks process in time", c->client_.literal.c_str());
  if (c->connect_req_) {
    c->server_.forget_check(c->connect_req_);
    c->connect_req_ = 0;
    c->connect_answer_ = unanswered(ipc::CheckStage::kConnect, cfg);
  }
  if (c->check_req_) {
    c->server_.forget_check(c->check_req_);
    c->check_req_ = 0;
    c->check_answer_ = unanswered(*c->check_stage_, cfg);
  }
  c->try_finish_check();
}

void Connection::try_finish_check() {
  if (life_.ended() || !check_stage_ || check_req_ != 0) return;
  bool mail = *check_stage_ == ipc::CheckStage::kMail;
  if (mail && connect_req_ != 0) return;  // the DNS lists still count
  ipc::CheckDone v = check_answer_ ? std::move(*check_answer_) : ipc::CheckDone();
  if (mail && connect_answer_) {
    v.dnsbl = connect_answer_->dnsbl;
    v.dnsbl_zone = connect_answer_->dnsbl_zone;
    v.dnsbl_code = connect_answer_->dnsbl_code;
    v.results.insert(v.results.begin(), connect_answer_->results.begin(), connect_answer_->results.end());
  }
  check_answer_.reset();
  check_stage_.reset();
  if (check_timer_) evtimer_del(check_timer_.get());
  apply(session_.check_done(v));
  drain_input();  // commands pipelined behind MAIL or the data
}

void Connection::forget_checks() {
  if (connect_req_) server_.forget_check(connect_req_);
  if (check_req_) server_.forget_check(check_req_);
  connect_req_ = check_req_ = 0;
  if (check_timer_) evtimer_del(check_timer_.get());
}

}  // namespace smtpd
