// Implementation of the periodic ETRN / wake-up client (see etrn.hpp).
#include "delivery/remote/etrn.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <ctime>

#include "common/io/fdio.hpp"
#include "common/log/log.hpp"
#include "common/smtp/data_encoder.hpp"

namespace delivery::remote {

namespace log = common::log;
using common::mail::Outcome;
using common::mail::Verdict;

namespace {

template <class T>
void destroy_later(event_base* base, std::unique_ptr<T> p) {
  if (!p) return;
  auto holder = std::make_shared<std::unique_ptr<T>>(std::move(p));
  common::io::run_soon(base, [holder] { holder->reset(); });
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::string wakeup_message(const std::string& hostname, const std::string& to,
                           const std::vector<std::string>& domains, std::time_t now) {
  char date[64];
  std::tm tm;
  gmtime_r(&now, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  std::string list = domains.empty() ? hostname : join(domains);
  std::string m;
  m += "From: Mail System <postmaster@" + hostname + ">\n";
  m += "To: <" + to + ">\n";
  m += "Subject: wake-up from " + hostname + "\n";
  m += std::string("Date: ") + date + "\n";
  m += "Message-ID: <wakeup." + std::to_string(now) + "." + std::to_string(::getpid()) + "@" + hostname +
       ">\n";
  m += "Auto-Submitted: auto-generated\n";  // RFC 3834 5
  m += "MIME-Version: 1.0\n";
  m += "Content-Type: text/plain; charset=us-ascii\n";
  m += "\n";
  m += hostname + " is online and asks for the mail held for it (" + list + ").\n";
  return m;
}

EtrnClient::EtrnClient(event_base* base, const Settings& settings, common::dns::Resolver& resolver,
                       TlsContexts tls)
    : base_(base), settings_(settings), resolver_(resolver), tls_(tls) {
  make_peers();
}

void EtrnClient::make_peers() {
  peers_.clear();
  for (const auto& h : settings_.etrn_hosts) {
    auto p = std::make_unique<Peer>();
    p->hop = h;
    // An ETRN host is the server itself, never looked up as a mail domain.
    p->hop.mx_lookup = false;
    peers_.push_back(std::move(p));
  }
  hosts_changed_ = false;
}

EtrnClient::~EtrnClient() { life_.end(); }

void EtrnClient::start() {
  timer_.reset(evtimer_new(base_, on_timer_cb, this));
  if (peers_.empty()) return;
  timeval tv{kStartDelay, 0};
  evtimer_add(timer_.get(), &tv);
}

void EtrnClient::reconfigure() {
  hosts_changed_ = true;
  bool any_busy = false;
  for (auto& p : peers_) any_busy = any_busy || p->busy;
  if (!any_busy) make_peers();
  if (!timer_) return;
  evtimer_del(timer_.get());
  if (settings_.etrn_hosts.empty() || settings_.wakeup_every <= 0) return;
  timeval tv{settings_.wakeup_every, 0};
  evtimer_add(timer_.get(), &tv);
}

void EtrnClient::on_timer_cb(evutil_socket_t, short, void* self) noexcept {
  auto* me = static_cast<EtrnClient*>(self);
  me->round();
  if (me->settings_.wakeup_every > 0) {
    timeval tv{me->settings_.wakeup_every, 0};
    evtimer_add(me->timer_.get(), &tv);
  }
}

common::Status EtrnClient::make_wakeup() {
  std::string m =
      wakeup_message(settings_.helo_name, settings_.wakeup_email, settings_.etrn_domains, std::time(nullptr));
  common::io::UniqueFd fd(::memfd_create("mailbag-wakeup", MFD_CLOEXEC));
  if (!fd) return common::Status::sys("memfd_create");
  MB_TRY(common::io::write_all(fd.get(), m));
  std::uint64_t lines = 0;
  for (char c : m) lines += c == '\n';
  wakeup_fd_ = std::move(fd);
  wakeup_ref_ = MessageRef{wakeup_fd_.get(), 0, m.size(), lines};
  return common::Status::ok();
}

void EtrnClient::round() {
  if (hosts_changed_) {
    bool any_busy = false;
    for (auto& p : peers_) any_busy = any_busy || p->busy;
    if (!any_busy) make_peers();
  }
  if (!settings_.wakeup_email.empty()) {
    bool any_busy = false;
    for (auto& p : peers_) any_busy = any_busy || p->busy;
    if (!any_busy) {
      if (auto st = make_wakeup(); !st) {
        log::error("cannot prepare the wake-up message: %s", st.message().c_str());
        return;
      }
    }
  }
  for (auto& p : peers_) {
    if (p->busy) {
      log::info("ETRN to %s: the previous round is still going", p->hop.str().c_str());
      continue;
    }
    begin(*p);
  }
}

void EtrnClient::begin(Peer& p) {
  p.busy = true;
  p.next_domain = 0;
  p.wakeup_sent = false;
  p.completed = false;
  p.ok = true;
  p.problem.clear();
  Peer* pp = &p;
  common::io::Guard alive = life_.guard();
  p.lookup =
      std::make_unique<RouteLookup>(resolver_, nobody_, target_for_hop(p.hop), [this, pp, alive](Route r) {
        if (!alive) return;
        destroy_later(base_, std::move(pp->lookup));
        if (!r.ok()) {
          log::warn("ETRN to %s: %s", pp->hop.str().c_str(), r.failure.text.c_str());
          failed(*pp, r.failure.text);
          done(*pp);
          return;
        }
        common::smtp::SessionOptions o;
        o.helo_name = settings_.helo_name;
        o.tls = settings_.tls;
        pp->conn = std::make_unique<Connection>(base_, *this, settings_.timeout, settings_.connect_timeout(),
                                                tls_, std::move(r.endpoints), o);
        pp->conn->start();
      });
  p.lookup->start();
}

EtrnClient::Peer* EtrnClient::peer_of(Connection& c) {
  for (auto& p : peers_)
    if (p->conn.get() == &c) return p.get();
  return nullptr;
}

void EtrnClient::connection_ready(Connection& c) {
  if (notice_ && &c == notice_->conn.get()) {
    if (notice_->sent) return c.quit();
    notice_->sent = true;
    common::smtp::Transaction tx;
    tx.sender = "";  // from the mail system: never answered (RFC 5321 4.5.5)
    tx.recipients = {settings_.postmaster};
    tx.size = common::smtp::wire_size(notice_->ref.size, notice_->ref.lines);
    tx.body_8bit = true;
    return c.send(std::move(tx), notice_->ref);
  }
  Peer* p = peer_of(c);
  if (!p) return;
  if (!settings_.wakeup_email.empty()) {
    if (p->wakeup_sent) {
      p->completed = true;
      c.quit();
      return;
    }
    p->wakeup_sent = true;
    common::smtp::Transaction tx;
    tx.sender = "postmaster@" + settings_.helo_name;
    tx.recipients = {settings_.wakeup_email};
    tx.size = common::smtp::wire_size(wakeup_ref_.size, wakeup_ref_.lines);
    c.send(std::move(tx), wakeup_ref_);
    return;
  }
  if (p->next_domain >= settings_.etrn_domains.size()) {
    p->completed = true;
    c.quit();
    return;
  }
  c.etrn(settings_.etrn_domains[p->next_domain++]);
}

void EtrnClient::connection_sent(Connection& c, std::vector<Verdict> verdicts) {
  if (notice_ && &c == notice_->conn.get()) {
    for (const auto& v : verdicts) {
      if (v.outcome == Outcome::kOk)
        log::info("wake-up notice to %s sent: %s", settings_.postmaster.c_str(), v.text.c_str());
      else
        log::error("wake-up notice to %s refused: %s", settings_.postmaster.c_str(), v.text.c_str());
    }
    return;
  }
  Peer* p = peer_of(c);
  for (const auto& v : verdicts) {
    if (p && v.outcome != Outcome::kOk) failed(*p, "the wake-up message was refused: " + v.text);
    if (v.outcome == Outcome::kOk)
      log::info("wake-up message to %s sent through %s: %s", settings_.wakeup_email.c_str(), c.peer().c_str(),
                v.text.c_str());
    else
      log::warn("wake-up message to %s through %s failed: %s", settings_.wakeup_email.c_str(),
                c.peer().c_str(), v.text.c_str());
  }
}

void EtrnClient::connection_etrn(Connection& c, const common::smtp::Reply& r) {
  Peer* p = peer_of(c);
  std::string domain = p && p->next_domain > 0 ? settings_.etrn_domains[p->next_domain - 1] : "?";
  // RFC 1985 4: 250 queuing started, 251 no messages waiting, 252/253 pending messages.
  if (r.code >= 250 && r.code <= 253) {
    log::info("ETRN %s at %s: %s", domain.c_str(), c.peer().c_str(), r.summary().c_str());
  } else {
    log::warn("ETRN %s at %s refused: %s", domain.c_str(), c.peer().c_str(), r.summary().c_str());
    if (p) failed(*p, "ETRN " + domain + " refused: " + r.summary());
  }
}

void EtrnClient::connection_failed(Connection& c, const Verdict& why) {
  if (notice_ && &c == notice_->conn.get()) {
    log::error("wake-up notice to %s not sent: our smtpd at %s: %s", settings_.postmaster.c_str(),
               c.peer().c_str(), why.text.c_str());
    return notice_done();
  }
  Peer* p = peer_of(c);
  if (p) failed(*p, why.text);
  log::warn("ETRN: cannot reach %s: %s", p ? p->hop.str().c_str() : c.peer().c_str(), why.text.c_str());
  if (p) done(*p);
}

void EtrnClient::connection_closed(Connection& c) {
  if (notice_ && &c == notice_->conn.get()) return notice_done();
  if (Peer* p = peer_of(c)) done(*p);
}

void EtrnClient::failed(Peer& p, const std::string& problem) {
  if (p.ok) p.problem = problem;
  p.ok = false;
}

// The end of one attempt at one host (once: a failed connection is also closed).
void EtrnClient::done(Peer& p) {
  destroy_later(base_, std::move(p.conn));
  if (!p.busy) return;
  p.busy = false;
  if (p.ok && !p.completed) failed(p, "the session ended before the wake-up was done");
  auto [it, fresh] = health_.try_emplace(p.hop.str(), settings_.wakeup_failure_notice);
  it->second.set_threshold(settings_.wakeup_failure_notice);
  auto kind = it->second.record(p.ok);
  if (kind != WakeupHealth::Notice::kNone) queue_notice(p, kind);
}

void EtrnClient::queue_notice(const Peer& p, WakeupHealth::Notice kind) {
  const WakeupHealth& h = health_.at(p.hop.str());
  WakeupNoticeFacts f;
  f.hostname = settings_.helo_name;
  f.postmaster = settings_.postmaster;
  f.host = p.hop.str();
  f.domains = settings_.etrn_domains;
  f.wakeup_email = settings_.wakeup_email;
  f.failures = kind == WakeupHealth::Notice::kFailing ? h.failures() : h.failed_before();
  f.problem = p.problem;
  log::warn("wake-up at %s: %s; notice to %s", f.host.c_str(),
            kind == WakeupHealth::Notice::kFailing
                ? (std::to_string(f.failures) + " failures in a row").c_str()
                : "works again",
            f.postmaster.c_str());
  notices_.push_back(wakeup_notice(f, kind, std::time(nullptr)));
  if (!notice_) send_next_notice();
}

// To our own smtpd, which delivers (or relays) it like any mail for the postmaster: the
// first smtp_listen endpoint, a loopback one when there is one.
void EtrnClient::send_next_notice() {
  if (notices_.empty()) return;
  std::string text = std::move(notices_.front());
  notices_.pop_front();
  const auto& eps = settings_.self.endpoints;
  if (eps.empty()) {
    log::error("wake-up notice to %s not sent: no smtp_listen address", settings_.postmaster.c_str());
    return send_next_notice();
  }
  auto ep = eps.front();
  for (const auto& e : eps)
    if (e.first.rfind("127.", 0) == 0 || e.first == "::1") {
      ep = e;
      break;
    }
  auto n = std::make_unique<Notice>();
  n->fd = common::io::UniqueFd(::memfd_create("mailbag-wakeup-notice", MFD_CLOEXEC));
  if (!n->fd || !common::io::write_all(n->fd.get(), text)) {
    log::error("wake-up notice to %s not sent: cannot write it", settings_.postmaster.c_str());
    return send_next_notice();
  }
  std::uint64_t lines = 0;
  for (char c : text) lines += c == '\n';
  n->ref = MessageRef{n->fd.get(), 0, text.size(), lines};
  common::smtp::NextHop hop;
  hop.host = ep.first;
  hop.port = ep.second;
  hop.mx_lookup = false;
  hop.is_ip = true;
  notice_ = std::move(n);
  common::io::Guard alive = life_.guard();
  notice_->lookup =
      std::make_unique<RouteLookup>(resolver_, nobody_, target_for_hop(hop), [this, alive](Route r) {
        if (!alive || !notice_) return;
        destroy_later(base_, std::move(notice_->lookup));
        if (!r.ok()) {
          log::error("wake-up notice to %s not sent: %s", settings_.postmaster.c_str(),
                     r.failure.text.c_str());
          return notice_done();
        }
        common::smtp::SessionOptions o;
        o.helo_name = settings_.helo_name;
        o.tls = common::smtp::TlsPolicy::kMay;
        notice_->conn = std::make_unique<Connection>(
            base_, *this, settings_.timeout, settings_.connect_timeout(), tls_, std::move(r.endpoints), o);
        notice_->conn->start();
      });
  notice_->lookup->start();
}

void EtrnClient::notice_done() {
  if (!notice_) return;
  destroy_later(base_, std::move(notice_->conn));
  destroy_later(base_, std::move(notice_));
  send_next_notice();
}

}  // namespace delivery::remote
