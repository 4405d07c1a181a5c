// The smtpd process: listeners, accept with the client limits,
// connection ownership, AUTH dispatch and the queue manager channel (see server.hpp).
// UNTRUSTED: frames from the queue manager are decoded by the codec, which refuses
// anything malformed; client addresses come from accept().
#include "smtpd/server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include <ctime>

#include "common/auth/sasl.hpp"
#include "common/config/relay_domain.hpp"
#include "common/config/reload.hpp"
#include "common/io/fdio.hpp"
#include "common/ipc/messages.hpp"
#include "common/log/log.hpp"
#include "common/mail/ascii.hpp"
#include "common/pg/backend.hpp"
#include "common/spool/queue_id.hpp"
#include "smtpd/connection.hpp"

namespace smtpd {
namespace {

namespace log = common::log;
namespace sasl = common::auth::sasl;
namespace ipc = common::ipc;
using common::Result;
using common::Status;
using common::io::UniqueFd;

ClientInfo client_info(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = "unknown";
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
    return ClientInfo{buf, std::string("[") + buf + "]"};
  }
  if (sa->sa_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a)) {  // ::ffff:192.0.2.1 is an IPv4 client
      inet_ntop(AF_INET, &a.s6_addr[12], buf, sizeof buf);
      return ClientInfo{buf, std::string("[") + buf + "]"};
    }
    inet_ntop(AF_INET6, &a, buf, sizeof buf);
    return ClientInfo{buf, std::string("[IPv6:") + buf + "]"};  // RFC 5321 4.1.3
  }
  return ClientInfo{buf, "[unknown]"};
}

}  // namespace

Server::Server(event_base* base, const common::config::Config& cfg, PreJail pre)
    : base_(base),
      cfg_(cfg),
      layout_(cfg),
      drop_(std::move(pre.incoming), layout_.incoming()),
      qmgr_(base, layout_.submit_socket(), "smtpd", 0),
      tls_(std::move(pre.tls)),
      directory_(layout_.accounts_db(), std::move(pre.accounts)),
      auth_(base, layout_.auth_socket(), "smtp", "smtpd"),
      relay_(std::move(pre.relay)),
      limits_(common::io::ClientLimits::Settings{0, 0, 0, 0, static_cast<int>(cfg.client_ipv6_prefix_length),
                                                 true}),  // the rest from configure()
      listen_fds_(std::move(pre.listeners)),
      db_(cfg) {
  srs_secret_ = std::move(pre.srs_secret);
  directory_.set_opener([&cfg]() -> common::Result<std::unique_ptr<common::accounts::Lookup>> {
    auto a = common::pg::open_accounts(cfg, false);
    if (!a) return a.status();
    return std::unique_ptr<common::accounts::Lookup>(std::move(*a));
  });
  checks_ = std::make_unique<common::ipc::AsyncClient>(
      base,
      common::ipc::Peer{layout_.private_dir() + "/checks", common::ipc::kProtoChecks, "smtpd",
                        "the checks process"},
      0);
  configure();
}

void Server::configure() {
  const common::config::Config& cfg = cfg_;
  // The lists were checked when the file was read.
  relay_networks_ = *common::net::NetworkList::parse(cfg.relay_networks);
  etrn_networks_ = *common::net::NetworkList::parse(cfg.etrn_networks);
  limits_.set_settings(common::io::ClientLimits::Settings{
      cfg.smtpd_max_sessions_per_client, cfg.smtpd_max_connect_rate, cfg.smtpd_auth_failure_limit,
      cfg.smtpd_auth_block_time, static_cast<int>(cfg.client_ipv6_prefix_length), true});
  relay_lifetime_ = cfg.relay_lifetime;
  if (started_ && db_.offloaded()) {
    // The directory is used on the database thread: its rules change there, from a copy.
    auto copy = std::make_shared<const common::config::Config>(cfg);
    if (!db_.submit([this, copy] { directory_.set_local_rules(layout_.quota_flags(), srs_secret_, *copy); },
                    [] {}))
      log::error("reload: the recipient rules keep their old values (the database thread is busy)");
  } else {
    directory_.set_local_rules(layout_.quota_flags(), srs_secret_, cfg);
  }
  release_.clear();
  // relay_domain_settings (checked when the file was read): who may release each domain.
  if (auto per_domain = common::config::parse_relay_domains(cfg.relay_domain_settings))
    for (const auto& d : *per_domain)
      if (d.has_release) release_.emplace_back(d.domain, *common::net::NetworkList::parse(d.release));
  // The keys were checked when the file was read.
  auto action = common::milter::parse_default_action(cfg.milter_default_action);
  common::milter::Timeouts timeouts{cfg.milter_connect_timeout, cfg.milter_command_timeout,
                                    cfg.milter_content_timeout};
  std::vector<common::milter::Spec> milter_specs[2];  // port 25; submission ports
  for (int i = 0; i < 2; ++i)
    for (const auto& e : i == 0 ? cfg.milters : cfg.submission_milters)
      if (auto spec = common::milter::parse_spec(
              e, action ? *action : common::milter::DefaultAction::kTempfail, timeouts))
        milter_specs[i].push_back(std::move(*spec));
  PortConfig pc[kPorts];
  for (Port p : {Port::kMx, Port::kSubmission, Port::kSubmissions, Port::kOdmr}) {
    if (p != Port::kOdmr) pc[static_cast<int>(p)].milters = milter_specs[p == Port::kMx ? 0 : 1];
    SessionConfig& sc = pc[static_cast<int>(p)].session;
    sc.hostname = cfg.hostname;
    sc.message_size_limit = static_cast<std::uint64_t>(cfg.message_size_limit);
    sc.max_recipients = static_cast<std::size_t>(cfg.smtpd_max_recipients);
    sc.tls_available = tls_ != nullptr;
    sc.port = p;
    sc.sender_login_check = cfg.smtpd_sender_login_check;
    sc.pop_before_smtp = cfg.pop_before_smtp;
    for (const auto& d : cfg.relay_domains) sc.relay_domains.push_back(common::mail::lower(d));
    for (const auto& r : release_) sc.own_release.push_back(r.first);
    sc.wakeup_address = common::mail::lower(cfg.relay_wakeup_address);
    sc.milters = !pc[static_cast<int>(p)].milters.empty();
  }
  // The built-in checks apply to mail from other servers (port 25) only.
  ChecksConfig& ck = pc[static_cast<int>(Port::kMx)].session.checks;
  ck.dnsbl = !cfg.dnsbl_zones.empty() || !cfg.dnswl_zones.empty();
  ck.spf = cfg.spf_check || cfg.dmarc_check;
  ck.data = cfg.dkim_check || cfg.dmarc_check;
  ck.spf_reject_fail = cfg.spf_reject_fail;
  ck.dmarc_reject = cfg.dmarc_reject;
  ck.dmarc_quarantine = cfg.dmarc_quarantine;
  ck.temperror_defer = cfg.checks_temperror == common::config::TempErrorAction::kDefer;
  ck.authserv_id = cfg.authserv_id.empty() ? cfg.hostname : cfg.authserv_id;
  // The checks process also applies the administrator's content rules, which live in
  // the accounts database and may appear at any time: without a built-in check smtpd
  // connects to it only on demand, when a message meets such rules.
  if (ck.any()) checks_->keep_connected(1);
  for (int i = 0; i < kPorts; ++i) port_cfg_[i] = std::make_shared<const PortConfig>(std::move(pc[i]));
}

Server::~Server() {
  // Connections first: they call back into the server while they go.
  conns_.clear();
}

void Server::start() {
  for (auto& lf : listen_fds_) {
    auto ls = std::make_unique<Listening>();
    ls->port = lf.port;
    ls->server = this;
    evconnlistener* l = evconnlistener_new(base_, accept_cb, ls.get(),
                                           LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, lf.fd.get());
    MB_CHECK(l != nullptr, "evconnlistener_new");
    lf.fd.release();  // the listener owns it now
    evconnlistener_set_error_cb(l, accept_error_cb);
    ls->l.reset(l);
    listeners_.push_back(std::move(ls));
  }
  listen_fds_.clear();
  resume_accept_.reset(evtimer_new(base_, resume_accept_cb, this));
  prune_.reset(event_new(base_, -1, EV_PERSIST, prune_cb, this));
  MB_CHECK(resume_accept_ && prune_, "evtimer_new");
  timeval minute{60, 0};
  evtimer_add(prune_.get(), &minute);
  MB_CHECK(db_.start(base_).is_ok(), "database thread");
  started_ = true;
  if (tls_) auth_.start();  // AUTH is offered only over TLS
  qmgr_.client().keep_connected(1);
  std::size_t n[kPorts] = {0, 0, 0, 0};
  for (const auto& l : listeners_) ++n[static_cast<int>(l->port)];
  log::info("ready: %zu MX, %zu submission, %zu implicit-TLS submission, %zu ODMR sockets; TLS %s", n[0],
            n[1], n[2], n[3], tls_ ? "available" : "off");
}

void Server::accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr* sa, int, void* self) noexcept {
  auto* ls = static_cast<Listening*>(self);
  ls->server->on_accept(fd, sa, ls->port);
}

void Server::accept_error_cb(evconnlistener*, void* self) noexcept {
  auto* ls = static_cast<Listening*>(self);
  Server* s = ls->server;
  int err = EVUTIL_SOCKET_ERROR();
  // EMFILE and friends: the listening socket stays readable, so pause accepting for a
  // second instead of spinning.
  log::warn("accept: %s; pausing for 1 s", evutil_socket_error_to_string(err));
  for (auto& x : s->listeners_) evconnlistener_disable(x->l.get());
  timeval tv{1, 0};
  evtimer_add(s->resume_accept_.get(), &tv);
}

void Server::resume_accept_cb(evutil_socket_t, short, void* self) noexcept {
  for (auto& l : static_cast<Server*>(self)->listeners_) evconnlistener_enable(l->l.get());
}

void Server::prune_cb(evutil_socket_t, short, void* self) noexcept {
  auto* s = static_cast<Server*>(self);
  s->limits_.prune(s->monotonic());
}

double Server::monotonic() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Whether a new client may have a session; if not, tells it why (in clear, before any
// greeting: RFC 5321 3.1 allows 421 there; on an implicit-TLS port nothing is sent,
// since the client expects a TLS handshake) and logs once per minute per cause.
bool Server::admit(int fd, const ClientInfo& client, Port port) {
  const char* status = "4.7.0";
  std::string why;
  if (conns_.size() >= static_cast<std::size_t>(cfg_.smtpd_max_sessions)) {
    status = "4.3.2";  // RFC 3463 3.4: system not accepting network messages
    why = "Too many connections, try again later";
  } else {
    switch (limits_.connect(client.ip, monotonic(), client.relay_network)) {
      case common::io::ClientLimits::Verdict::kOk: return true;
      case common::io::ClientLimits::Verdict::kTooManySessions:
        why = "Error: too many connections from " + client.literal;
        break;
      case common::io::ClientLimits::Verdict::kRate:
        why = "Error: too many connections per minute from " + client.literal + ", slow down";
        break;
      case common::io::ClientLimits::Verdict::kBlocked:
        why = "Error: too many failed authentications from " + client.literal + ", try again later";
        break;
    }
  }
  if (port != Port::kSubmissions) {
    std::string msg = "421 " + std::string(status) + " " + cfg_.hostname + " " + why + "\r\n";
    ssize_t n = ::send(fd, msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL);  // never blocks
    (void)n;
  }
  static log::RateLimiter limit(std::chrono::seconds(60));
  std::size_t dropped = 0;
  if (limit.allow(why, &dropped))
    log::warn("refused %s: 421 %s %s%s", client.literal.c_str(), status, why.c_str(),
              dropped ? (" (" + std::to_string(dropped) + " more refused for this not logged)").c_str() : "");
  return false;
}

void Server::on_accept(int raw_fd, const sockaddr* sa, Port port) {
  UniqueFd fd(raw_fd);
  ClientInfo client = client_info(sa);
  client.relay_network = relay_networks_.contains(client.ip);
  client.etrn_network = etrn_networks_.contains(client.ip);
  for (const auto& [domain, nets] : release_)
    if (nets.contains(client.ip)) client.etrn_granted.push_back(domain);
  if (!admit(fd.get(), client, port)) return;
  // Release on connection: the primary of a relay domain (its release= networks) is
  // back when it connects, for whatever reason.
  if (cfg_.relay_release_on_connect && !client.etrn_granted.empty())
    release(client, client.etrn_granted, "connection");
  std::uint64_t id = next_conn_id_++;
  auto conn = std::make_unique<Connection>(*this, id, std::move(fd), std::move(client), port);
  Connection* c = conn.get();
  conns_[id] = std::move(conn);
  c->start();
}

void Server::release(std::uint64_t conn_id) {
  auto it = conns_.find(conn_id);
  if (it != conns_.end()) limits_.closed(it->second->client().ip);
  common::io::run_soon(base_, [this, conn_id] { conns_.erase(conn_id); });
}

common::Result<common::spool::QueueFileWriter> Server::create_queue_file(const common::spool::Envelope& env) {
  return drop_.create(env);
}

std::int64_t Server::now() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string Server::new_queue_id() { return common::spool::new_queue_id(); }

common::Result<bool> Server::relay_db_allows(const std::string& ip) {
  std::string path = layout_.relay_db();
  if (!relay_) {
    // Not there at start (pop3d or relayctl create it): open it as soon as it appears
    // (until then nobody may relay through it); a file that is there but cannot be
    // opened is retried at most once a second, and relaying meanwhile is deferred.
    if (::access(path.c_str(), F_OK) != 0) return false;
    auto t = std::chrono::steady_clock::now();
    if (relay_last_try_ != std::chrono::steady_clock::time_point{} &&
        t - relay_last_try_ < std::chrono::seconds(1))
      return common::Status::error("relay database " + path + " cannot be opened");
    relay_last_try_ = t;
    auto r = common::pg::open_relay(cfg_, path, common::relaydb::RelayDb::Mode::kRead);
    if (!r) {
      log::warn("relay database %s: %s", path.c_str(), r.message().c_str());
      return r.status();
    }
    relay_ = std::move(*r);
  }
  auto norm = common::relaydb::normalize(ip);
  if (!norm) return false;
  auto ok = common::relaydb::allowed(*relay_, *norm, now(), relay_lifetime_.load());
  if (!ok) {
    static log::RateLimiter limit(std::chrono::seconds(60), 4);
    if (limit.allow("relaydb"))
      log::warn("relay database %s: %s (relaying deferred)", path.c_str(), ok.message().c_str());
    return ok.status();
  }
  return *ok;
}

std::optional<LookupAnswer> Server::lookup_now(const LookupRequest& q) {
  if (db_.offloaded()) return std::nullopt;
  return Backend::lookup_now(q);
}

// On the database thread: the directory and the relay database are used there only
// (lookup_now() answers nothing on the loop when the thread exists).
bool Server::lookup(std::uint64_t conn_id, const LookupRequest& q) {
  auto answer = std::make_shared<LookupAnswer>();
  return db_.submit(
      [this, q, answer] {
        *answer = answer_lookup(q, directory_, [this](const std::string& ip) { return relay_db_allows(ip); });
      },
      [this, conn_id, answer] {
        auto c = conns_.find(conn_id);
        if (c != conns_.end()) c->second->lookup_done(std::move(*answer));
      });
}

// AUTH: the authentication daemon resolves the login name, checks the password (or its
// cache of recent successes) and answers; smtpd keeps the per-client failure limit,
// which also decides at accept whether a blocked client may connect at all.
void Server::authenticate(std::uint64_t conn_id, AuthRequest req) {
  auto c = conns_.find(conn_id);
  if (c == conns_.end()) return;
  AuthJob job;
  job.conn_id = conn_id;
  job.login = req.login;
  job.ip = c->second->client().ip;
  job.exempt = c->second->client().relay_network;
  // The attempt counts from now: parallel sessions cannot run more checks than the
  // failure limit allows, and a block reaches the sessions already open.
  if (limits_.auth_started(job.ip, monotonic(), job.exempt) != common::io::ClientLimits::Verdict::kOk) {
    sasl::wipe(&req.password);
    static log::RateLimiter limit(std::chrono::seconds(60));
    if (limit.allow("auth-blocked " + job.ip))
      log::warn("AUTH refused: [%s] is blocked after too many failed authentications", job.ip.c_str());
    common::io::run_soon(base_, [this, conn_id] {
      auth_answer(conn_id, AuthOutcome{AuthOutcome::Kind::kBlocked, "", ""}, 0);
    });
    return;
  }
  std::uint64_t asked =
      auth_.check(job.ip, req.login, std::move(req.password),
                  [this, job](const common::auth::Verdict& v) { on_password_checked(job, v); });
  sasl::wipe(&req.password);
  if (asked == 0) {
    // On the next loop turn: the connection is still inside its own apply().
    common::io::run_soon(base_, [this, job] {
      common::auth::Verdict v;
      v.why = "the authentication daemon is not reachable";
      on_password_checked(job, v);
    });
  }
}

void Server::on_password_checked(const AuthJob& job, const common::auth::Verdict& v) {
  using common::ipc::AuthResult;
  if (v.result == AuthResult::kTempFail) {
    limits_.auth_finished(job.ip, monotonic(), job.exempt, true);  // not the client's failure
    static log::RateLimiter limit(std::chrono::seconds(60), 4);
    if (limit.allow("auth-temp"))
      log::warn("AUTH unavailable for [%s]: %s", job.ip.c_str(),
                v.why.empty() ? "temporary failure in the authentication daemon" : v.why.c_str());
    auth_answer(job.conn_id, AuthOutcome{AuthOutcome::Kind::kTempFail, "", ""}, 0);
    return;
  }
  bool good = v.result == AuthResult::kOk;
  auto f = limits_.auth_finished(job.ip, monotonic(), job.exempt, good);
  if (good) {
    log::info("[%s]: authenticated as %s", job.ip.c_str(), v.account.c_str());
    auth_answer(job.conn_id, AuthOutcome{AuthOutcome::Kind::kOk, v.account, ""}, 0);
    return;
  }
  static log::RateLimiter limit(std::chrono::seconds(60));
  std::size_t dropped = 0;
  if (limit.allow("auth " + job.ip, &dropped))
    log::warn(
        "authentication failed for %s from [%s]%s%s", log::printable(job.login, 80).c_str(), job.ip.c_str(),
        f.blocked ? ": address blocked" : "",
        dropped ? (" (" + std::to_string(dropped) + " more failures from there not logged)").c_str() : "");
  else if (f.blocked)
    log::warn("[%s] blocked after too many failed authentications", job.ip.c_str());
  auth_answer(job.conn_id,
              AuthOutcome{f.blocked ? AuthOutcome::Kind::kBlocked : AuthOutcome::Kind::kFailed, "", ""},
              f.delay);
}

void Server::auth_answer(std::uint64_t conn_id, const AuthOutcome& o, double delay) {
  auto c = conns_.find(conn_id);
  if (c != conns_.end()) c->second->auth_done(o, delay);
}

// Submissions and ETRNs share the one connection to the queue manager (common/spool/
// submit.hpp), kept open and re-made every second while it is down. The connection's own
// timer bounds the wait (forget_request); a lost connection answers everyone at once.
std::uint64_t Server::submit(std::uint64_t conn_id, Submission s) {
  return qmgr_.submit(std::move(s.fd), [this, conn_id](Result<common::mail::Verdict> v) {
    auto c = conns_.find(conn_id);
    if (c == conns_.end()) return;
    c->second->submit_done(v ? *v
                             : common::mail::Verdict{common::mail::Outcome::kTemporary, "4.3.0",
                                                     "Queue manager unavailable, try again later"});
  });
}

void Server::release(const ClientInfo& client, const std::vector<std::string>& domains, const char* why) {
  for (const auto& d : domains) {
    ipc::Etrn m;
    m.domain = d;
    m.client = client.ip;
    std::string who = client.literal, reason = why, domain = d;
    auto id =
        qmgr_.client().call<ipc::EtrnDone>(m, UniqueFd(), [who, reason, domain](Result<ipc::EtrnDone> done) {
          if (done && done->ok)
            log::info("release: %s for %s (%s): %u messages started", domain.c_str(), who.c_str(),
                      reason.c_str(), done->messages);
          else
            log::warn("release: %s for %s (%s): not released: queue manager unavailable", domain.c_str(),
                      who.c_str(), reason.c_str());
        });
    if (id == 0)
      log::warn("release: %s for %s (%s): not released: queue manager unavailable", domain.c_str(),
                who.c_str(), reason.c_str());
  }
}

std::uint64_t Server::etrn(std::uint64_t conn_id, const EtrnRequest& e) {
  ipc::Etrn m;
  m.domain = e.domain;
  m.subdomains = e.subdomains;
  if (auto c = conns_.find(conn_id); c != conns_.end()) m.client = c->second->client().ip;
  return qmgr_.client().call<ipc::EtrnDone>(m, UniqueFd(), [this, conn_id](Result<ipc::EtrnDone> done) {
    auto c = conns_.find(conn_id);
    if (c == conns_.end()) return;
    c->second->etrn_done(done && done->ok ? std::optional<std::uint32_t>(done->messages) : std::nullopt);
  });
}

std::uint64_t Server::atrn(std::uint64_t conn_id, const AtrnRequest& a, UniqueFd pair) {
  ipc::Atrn m;
  m.domains = a.domains;
  m.login = a.login;
  if (auto c = conns_.find(conn_id); c != conns_.end()) m.client = c->second->client().ip;
  return qmgr_.client().call<ipc::AtrnDone>(m, std::move(pair), [this, conn_id](Result<ipc::AtrnDone> done) {
    auto c = conns_.find(conn_id);
    if (c == conns_.end()) return;
    c->second->atrn_done(done && done->ok ? std::optional<std::uint32_t>(done->messages) : std::nullopt);
  });
}

void Server::forget_request(std::uint64_t request_id) { qmgr_.cancel(request_id); }

std::uint64_t Server::check(std::uint64_t conn_id, ipc::Check req, common::io::UniqueFd fd) {
  if (!checks_) return 0;
  auto id = std::make_shared<std::uint64_t>(0);
  *id = checks_->call<ipc::CheckDone>(std::move(req), std::move(fd),
                                      [this, conn_id, id](Result<ipc::CheckDone> answer) {
                                        auto c = conns_.find(conn_id);
                                        if (c != conns_.end())
                                          c->second->check_answer(*id, std::move(answer));
                                      });
  return *id;
}

void Server::forget_check(std::uint64_t id) {
  if (checks_) checks_->cancel(id);
}

int run(common::config::Config& cfg, PreJail pre) {
  // Each message passes through a few buffers of 64 to 256 KB that live as long as its
  // session. With glibc's defaults they come from mmap or from a heap top that is given
  // back at once, and every message pays ~30 page faults to get them again; keeping up to
  // 8 MB of freed heap (the buffers of a few dozen busy sessions) avoids that.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  mallopt(M_TRIM_THRESHOLD, 8 << 20);
  auto base = common::io::new_event_base();
  auto signals = common::io::install_termination_handlers(base.get());
  int rc = 0;
  if (pre.tls) pre.tls->watch_reload(base.get());
  common::config::Reloader reloader(base.get(), &cfg, "smtpd");
  {
    Server server(base.get(), cfg, std::move(pre));
    reloader.on_reload([&server](const common::config::Config&) {
      if (server.tls()) server.tls()->reload_or_keep();  // the certificate
      server.configure();
    });
    server.start();
    if (event_base_dispatch(base.get()) < 0) rc = EX_OSERR;
  }
  log::info("stopped");
  return rc;
}

}  // namespace smtpd
