// The pop3d process around its sessions (see server.hpp): pre-jail opens, listeners,
// accept with the per-client limits, connection ownership, password checks under the
// failure limit, and the POP-before-SMTP stamp. UNTRUSTED: client addresses come from
// accept(); everything a client sends goes through connection.cpp.
#include "pop3d/server.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sysexits.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>

#include "common/config/reload.hpp"
#include "common/io/fdio.hpp"
#include "common/io/listener.hpp"
#include "common/pg/backend.hpp"
#include "common/spool/layout.hpp"
#include "pop3d/connection.hpp"

namespace pop3d {
namespace {

using common::Status;
namespace io = common::io;
namespace log = common::log;

constexpr std::size_t kChunk = 64 * 1024;

[[noreturn]] void die(int code, const std::string& msg) {
  log::error("%s", msg.c_str());
  std::exit(code);
}

// Appends a listener for every address of `spec`.
void bind_listen(const std::string& spec, bool implicit_tls, std::vector<Listener>* out) {
  std::vector<io::UniqueFd> fds;
  if (auto st = io::bind_listeners(spec, &fds); !st) die(EX_OSERR, st.message());
  for (auto& fd : fds) out->push_back(Listener{std::move(fd), implicit_tls, spec});
}

}  // namespace

Server::Server(const common::config::Config& cfg, PreJail& pre, event_base* base)
    : cfg_(cfg),
      base_(base),
      tls_(std::move(pre.tls)),
      relay_(std::move(pre.relay)),
      auth_(base, common::spool::Layout(cfg).auth_socket(), "pop3", "pop3d"),
      link_(
          base, common::spool::Layout(cfg).pop3_mailbox_socket(),
          [this](std::uint64_t id) { session_ended(id); }, [this] { link_lost(); }),
      disk_(kDiskThreads, io::WorkQueue::kUnbounded),
      limits_(limit_settings(cfg)),
      read_buf_(kChunk, '\0'),
      db_(cfg) {}

io::ClientLimits::Settings Server::limit_settings(const common::config::Config& cfg) {
  return io::ClientLimits::Settings{cfg.pop3d_max_sessions_per_client,
                                    0,
                                    cfg.pop3d_auth_failure_limit,
                                    cfg.pop3d_auth_block_time,
                                    static_cast<int>(cfg.client_ipv6_prefix_length),
                                    false};
}

void Server::configure() { limits_.set_settings(limit_settings(cfg_)); }

// Connections first: they call back into the server while they go.
Server::~Server() { conns_.clear(); }

void Server::accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr* sa, int, void* arg) noexcept {
  auto* ctx = static_cast<ListenerCtx*>(arg);
  ctx->srv->accept(io::UniqueFd(fd), sa, ctx->implicit_tls);
}

Status Server::start(std::vector<Listener>& ls) {
  MB_TRY(disk_.start(base_));
  MB_TRY(db_.start(base_));
  auth_.start();
  link_.start();
  prune_.reset(event_new(base_, -1, EV_PERSIST, prune_cb, this));
  if (!prune_) return Status::error("event_new (prune)");
  timeval minute{60, 0};
  evtimer_add(prune_.get(), &minute);
  for (auto& l : ls) {
    ctxs_.push_back(std::make_unique<ListenerCtx>(ListenerCtx{this, l.implicit_tls}));
    io::ListenerPtr lp(
        evconnlistener_new(base_, accept_cb, ctxs_.back().get(), LEV_OPT_CLOSE_ON_FREE, 0, l.fd.release()));
    if (!lp) return Status::sys("evconnlistener_new " + l.where);
    listeners_.push_back(std::move(lp));
    log::info("listening on %s (%s)", l.where.c_str(), l.implicit_tls ? "POP3S, implicit TLS" : "POP3");
  }
  return Status::ok();
}

void Server::accept(io::UniqueFd fd, const sockaddr* sa, bool implicit_tls) {
  std::string addr = common::relaydb::from_sockaddr(sa);
  // Clients handed to the mailbox process count until it says their session ended.
  std::size_t sessions = conns_.size() + handed_.size();
  if (sessions >= static_cast<std::size_t>(cfg_.pop3d_max_sessions)) {
    if (warn_limit_.allow("max_sessions"))
      log::warn("too many sessions (%zu), refusing %s", sessions, addr.c_str());
    if (!implicit_tls) {
      static const char kBusy[] = "-ERR [SYS/TEMP] Too many sessions, try again later\r\n";
      (void)!::send(fd.get(), kBusy, sizeof kBusy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    return;
  }
  auto verdict = limits_.connect(addr, monotonic(), false);
  if (verdict != io::ClientLimits::Verdict::kOk) {
    if (warn_limit_.allow("per-client " + limits_.key(addr)))
      log::warn("too many sessions from %s, refusing", addr.c_str());
    if (!implicit_tls) {
      static const char kBusy[] = "-ERR [SYS/TEMP] Too many sessions from your address, try again later\r\n";
      (void)!::send(fd.get(), kBusy, sizeof kBusy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    return;
  }
  if (!io::set_nonblocking(fd.get())) {
    limits_.closed(addr);
    return;
  }
  // A reply often goes out in two writes (RETR's +OK line, then the message read off the
  // disk thread); with Nagle the second waits for the client's delayed ACK, 40 ms per
  // message for a client that sends one command at a time.
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::uint64_t id = next_id_++;
  auto conn = std::make_unique<Connection>(*this, id, std::move(fd), addr, implicit_tls);
  Connection* c = conn.get();
  conns_.emplace(id, std::move(conn));
  if (!c->start()) {
    log::error("cannot set up a session for %s", addr.c_str());
    limits_.closed(addr);
    conns_.erase(id);
  }
}

Connection* Server::find(std::uint64_t id) {
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second.get();
}

void Server::release(std::uint64_t id) {
  if (Connection* c = find(id)) limits_.closed(c->client());
  io::run_soon(base_, [this, id] { conns_.erase(id); });
}

void Server::prune_cb(evutil_socket_t, short, void* arg) noexcept {
  auto* s = static_cast<Server*>(arg);
  s->limits_.prune(s->monotonic());
}

double Server::monotonic() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The attempt counts from now, so parallel sessions cannot run more checks than the
// failure limit allows, and a block reaches the sessions already open.
void Server::authenticate(std::uint64_t conn_id, const std::string& user, const std::string& password) {
  Connection* c = find(conn_id);
  if (!c) return;
  std::string ip = c->client();
  if (limits_.auth_started(ip, monotonic(), false) != io::ClientLimits::Verdict::kOk) {
    if (warn_limit_.allow("throttle " + limits_.key(ip)))
      log::warn("login refused: too many failures from %s", ip.c_str());
    return answer(conn_id, AuthResult::Kind::kBlocked);
  }
  // The authentication daemon answers ok, bad credentials, or a temporary failure (its
  // queue is full, a database is unreadable, it is not running or died mid-check).
  std::uint64_t asked = auth_.check(ip, user, password, [this, conn_id, ip](const common::auth::Verdict& v) {
    AuthResult r;
    bool failed = v.result == common::ipc::AuthResult::kBadCredentials;
    if (v.result == common::ipc::AuthResult::kOk) {
      r.kind = AuthResult::Kind::kOk;
      r.account = v.account;
      if (v.token.empty()) {  // no handover without it
        r.kind = AuthResult::Kind::kTempFail;
        log::error("the authentication daemon accepted %s without a login token", v.account.c_str());
      }
    } else {
      r.kind = failed ? AuthResult::Kind::kFailed : AuthResult::Kind::kTempFail;
    }
    if (r.kind == AuthResult::Kind::kTempFail && warn_limit_.allow("auth temp"))
      log::warn("login from %s failed temporarily%s%s", ip.c_str(), v.why.empty() ? "" : ": ", v.why.c_str());
    auto f = limits_.auth_finished(ip, monotonic(), false, !failed);
    if (failed && warn_limit_.allow("authfail " + ip))
      log::warn("authentication failed from %s%s", ip.c_str(), f.blocked ? ": address blocked" : "");
    if (Connection* conn = find(conn_id)) conn->auth_done(r, failed ? std::max(f.delay, 1.0) : 0, v.token);
  });
  if (asked == 0) {
    limits_.auth_finished(ip, monotonic(), false, true);  // not the client's failure
    if (warn_limit_.allow("auth down"))
      log::warn("login refused: the authentication daemon is not reachable");
    answer(conn_id, AuthResult::Kind::kTempFail);
  }
}

// On the next loop turn: the connection is inside its own session's call.
void Server::answer(std::uint64_t conn_id, AuthResult::Kind outcome) {
  AuthResult r;
  r.kind = outcome;
  io::run_soon(base_, [this, conn_id, r] {
    if (Connection* c = find(conn_id)) c->auth_done(r, 0);
  });
}

// The mailbox process redeems the token and opens the Maildir; this process never can.
// POP-before-SMTP is recorded once it said yes (kOk).
void Server::hand_over(std::uint64_t conn_id, HandoverRequest req) {
  Connection* c = find(conn_id);
  if (!c) return;
  std::string ip = c->client();
  std::string account = req.account;
  bool tls = req.tls;
  common::ipc::Pop3Handover h;
  h.account = std::move(req.account);
  h.token = std::move(req.token);
  h.client = ip;
  h.tls = req.tls;
  h.input = std::move(req.input);
  auto rid = std::make_shared<std::uint64_t>(0);
  std::uint64_t asked = link_.hand_over(
      std::move(h), std::move(req.fd),
      [this, conn_id, ip, account, tls, rid](common::ipc::HandoverResult r, bool link_failed) {
        Connection* conn = find(conn_id);
        if (!link_failed && r == common::ipc::HandoverResult::kOk) {
          log::info("login: user=%s client=%s tls=%s (handed to the mailbox process)", account.c_str(),
                    ip.c_str(), tls ? "yes" : "no");
          stamp_relay(ip);
        }
        if (!conn) return;  // gone meanwhile; the mailbox process ends its side
        conn->handover_done(r, link_failed);
        if (!link_failed && r == common::ipc::HandoverResult::kOk && !tls) forget(conn_id, *rid);
      });
  *rid = asked;
  if (asked == 0) {
    if (warn_limit_.allow("mailbox down"))
      log::warn("login of %s refused: the POP3 mailbox process is not reachable", account.c_str());
    io::run_soon(base_, [this, conn_id] {
      if (Connection* conn = find(conn_id))
        conn->handover_done(common::ipc::HandoverResult::kTempFail, false);
    });
  }
}

// A plain client now served by the mailbox process: its Connection goes, but the client
// still counts against the session limits until the mailbox process says it ended.
void Server::forget(std::uint64_t conn_id, std::uint64_t handover_id) {
  auto it = conns_.find(conn_id);
  if (it == conns_.end()) return;
  handed_.emplace(handover_id, it->second->client());
  std::shared_ptr<Connection> dead(std::move(it->second));
  conns_.erase(it);
  io::run_soon(base_, [dead] {});
}

void Server::session_ended(std::uint64_t handover_id) {
  auto it = handed_.find(handover_id);
  if (it == handed_.end()) return;
  limits_.closed(it->second);
  handed_.erase(it);
}

// The mailbox process is gone (its sessions with it) or dropped us: none of the clients
// handed to it counts any more.
void Server::link_lost() {
  for (const auto& [id, addr] : handed_) limits_.closed(addr);
  handed_.clear();
}

// On the database thread with PostgreSQL (db_queue.hpp), so that a slow database never
// holds up the other sessions; the login itself does not wait for it.
void Server::stamp_relay(const std::string& addr) {
  if (!relay_ || addr.empty()) return;
  common::relaydb::RelayStore* relay = relay_.get();
  std::int64_t now = std::time(nullptr);
  bool queued = db_.submit(
      [relay, addr, now] {
        Status st = relay->stamp(addr, now);
        if (!st) log::error("relay database: cannot record %s: %s", addr.c_str(), st.message().c_str());
      },
      [] {});
  if (!queued) log::error("relay database: cannot record %s: too many writes waiting", addr.c_str());
}

PreJail pre_jail(const common::config::Config& cfg) {
  PreJail pre;
  if (!cfg.tls_cert_file.empty()) {
    auto tls = common::tls::ServerTls::open(cfg, "pop3d");
    if (!tls) die(EX_CONFIG, "TLS: " + tls.message());
    pre.tls = std::move(*tls);
  }
  for (const auto& spec : cfg.pop3_listen) {
    bind_listen(spec, false, &pre.listeners);
  }
  if (!cfg.pop3s_listen.empty() && !pre.tls)
    log::warn("pop3s_listen ignored: no tls_cert_file, so no implicit TLS");
  if (!pre.tls && !cfg.pop3_plaintext_auth)
    log::warn("no tls_cert_file and pop3_plaintext_auth = no: nobody can log in");
  for (const auto& spec : pre.tls ? cfg.pop3s_listen : std::vector<std::string>()) {
    bind_listen(spec, true, &pre.listeners);
  }
  if (pre.listeners.empty()) die(EX_CONFIG, "nothing to listen on (pop3_listen and pop3s_listen are empty)");
  return pre;
}

void open_databases(const common::config::Config& cfg, PreJail* pre) {
  common::spool::Layout layout(cfg);
  if (cfg.pop_before_smtp && common::pg::enabled(cfg)) {
    auto relay = common::pg::open_relay(cfg, layout.relay_db(), common::relaydb::RelayDb::Mode::kWrite);
    if (!relay) die(EX_UNAVAILABLE, "relay database: " + relay.message());
    pre->relay = std::move(*relay);
  } else if (cfg.pop_before_smtp) {
    auto relay = common::relaydb::RelayDb::open(layout.relay_db(), common::relaydb::RelayDb::Mode::kWrite);
    if (!relay) die(EX_UNAVAILABLE, "relay database: " + relay.message());
    if (auto st = common::relaydb::fix_ownership(layout.relay_db()); !st) die(EX_UNAVAILABLE, st.message());
    pre->relay = std::move(*relay);
  }
}

int run(common::config::Config& cfg, PreJail pre) {
  auto base = io::new_event_base();
  auto signals = io::install_termination_handlers(base.get());
  if (pre.tls) pre.tls->watch_reload(base.get());
  common::tls::ServerTls* tls = pre.tls.get();
  common::config::Reloader reloader(base.get(), &cfg, "pop3d");
  Server srv(cfg, pre, base.get());
  reloader.on_reload([&srv, tls](const common::config::Config&) {
    if (tls) tls->reload_or_keep();  // the certificate
    srv.configure();
  });
  if (auto st = srv.start(pre.listeners); !st) {
    log::error("%s", st.message().c_str());
    return EX_OSERR;
  }
  log::info("started (pop_before_smtp=%s, plaintext_auth=%s)", cfg.pop_before_smtp ? "yes" : "no",
            cfg.pop3_plaintext_auth ? "yes" : "no");
  event_base_dispatch(base.get());
  log::info("stopped");
  return 0;
}

}  // namespace pop3d
