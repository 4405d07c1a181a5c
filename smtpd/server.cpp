// The smtpd process: pre-jail opens, listeners, accept, connection ownership and the
// queue manager channel (see server.hpp). UNTRUSTED: frames from the queue manager are
// decoded by the codec, which refuses anything malformed.
#include "smtpd/server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>

#include "common/io/fdio.hpp"
#include "common/ipc/messages.hpp"
#include "common/ipc/socket.hpp"
#include "common/log/log.hpp"
#include "common/spool/queue_id.hpp"
#include "smtpd/connection.hpp"

namespace smtpd {
namespace {

namespace log = common::log;
namespace ipc = common::ipc;
using common::Result;
using common::Status;
using common::io::UniqueFd;

constexpr int kExOsErr = 71;     // sysexits EX_OSERR
constexpr int kExCantCreat = 73;  // EX_CANTCREAT
constexpr int kExConfig = 78;    // EX_CONFIG
constexpr int kBacklog = 511;

[[noreturn]] void die(int code, const std::string& msg) {
  log::error("%s", msg.c_str());
  std::exit(code);
}

// Binds every address `spec` ("host:port", "[v6]:port", ":port") resolves to.
Status bind_listen(const std::string& spec, std::vector<UniqueFd>* out) {
  auto hp = common::config::parse_host_port(spec);
  if (!hp) return hp.status();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  std::string port = std::to_string(hp->port);
  addrinfo* res = nullptr;
  int rc = getaddrinfo(hp->host.empty() ? nullptr : hp->host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return Status::error("smtp_listen " + spec + ": " + gai_strerror(rc));
  Status st;
  std::size_t bound = 0;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd) {
      st = Status::sys("socket for " + spec);
      break;
    }
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6) setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) < 0) {
      st = Status::sys("bind " + spec);
      break;
    }
    if (::listen(fd.get(), kBacklog) < 0) {
      st = Status::sys("listen " + spec);
      break;
    }
    out->push_back(std::move(fd));
    ++bound;
  }
  freeaddrinfo(res);
  if (st.is_ok() && bound == 0) return Status::error("smtp_listen " + spec + ": no address");
  return st;
}

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

PreJail pre_jail(const common::config::Config& cfg) {
  PreJail pre;
  common::spool::Layout layout(cfg);
  for (const auto& spec : cfg.smtp_listen) {
    Status st = bind_listen(spec, &pre.listeners);
    if (!st) die(kExOsErr, st.message());
  }
  if (pre.listeners.empty()) die(kExConfig, "smtp_listen is empty: nothing to serve");
  auto dir = common::io::open_dir(layout.incoming());
  if (!dir) die(kExCantCreat, "drop directory: " + dir.message());
  pre.incoming = std::move(*dir);
  if (!cfg.tls_cert_file.empty() || !cfg.tls_key_file.empty()) {
    if (cfg.tls_cert_file.empty() || cfg.tls_key_file.empty())
      die(kExConfig, "tls_cert_file and tls_key_file must be set together");
    auto ctx = common::tls::server_context(cfg.tls_cert_file, cfg.tls_key_file);
    if (!ctx) die(kExConfig, "TLS: " + ctx.message());
    pre.tls = std::move(*ctx);
  }
  auto acc = common::accounts::Accounts::open(layout.accounts_db(), false);
  if (acc) {
    pre.accounts = std::move(*acc);
  } else {
    // Not fatal: recipients get 451 until the database can be opened.
    log::warn("accounts database %s: %s (recipients are deferred until it opens)",
              layout.accounts_db().c_str(), acc.message().c_str());
  }
  return pre;
}

Server::Server(event_base* base, const common::config::Config& cfg, PreJail pre)
    : base_(base),
      cfg_(cfg),
      layout_(cfg),
      incoming_(std::move(pre.incoming)),
      tls_(std::move(pre.tls)),
      directory_(layout_.accounts_db(), std::move(pre.accounts)),
      listen_fds_(std::move(pre.listeners)) {
  session_cfg_.hostname = cfg.hostname;
  session_cfg_.message_size_limit = static_cast<std::uint64_t>(cfg.message_size_limit);
  session_cfg_.max_recipients = static_cast<std::size_t>(cfg.smtpd_max_recipients);
  session_cfg_.tls_available = tls_ != nullptr;
}

Server::~Server() {
  // Connections first: they call back into the server while they go.
  conns_.clear();
  qmgr_.reset();
}

void Server::start() {
  for (auto& fd : listen_fds_) {
    evconnlistener* l = evconnlistener_new(base_, accept_cb, this, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                                           -1, fd.get());
    MB_CHECK(l != nullptr, "evconnlistener_new");
    fd.release();  // the listener owns it now
    evconnlistener_set_error_cb(l, accept_error_cb);
    listeners_.emplace_back(l);
  }
  listen_fds_.clear();
  resume_accept_.reset(evtimer_new(base_, resume_accept_cb, this));
  reconnect_.reset(evtimer_new(base_, reconnect_cb, this));
  MB_CHECK(resume_accept_ && reconnect_, "evtimer_new");
  connect_qmgr();
  log::info("ready: %zu listening sockets, TLS %s", listeners_.size(), tls_ ? "available" : "off");
}

void Server::accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr* sa, int, void* self) noexcept {
  static_cast<Server*>(self)->on_accept(fd, sa);
}

void Server::accept_error_cb(evconnlistener*, void* self) noexcept {
  auto* s = static_cast<Server*>(self);
  int err = EVUTIL_SOCKET_ERROR();
  // EMFILE and friends: the listening socket stays readable, so pause accepting for a
  // second instead of spinning.
  log::warn("accept: %s; pausing for 1 s", evutil_socket_error_to_string(err));
  for (auto& l : s->listeners_) evconnlistener_disable(l.get());
  timeval tv{1, 0};
  evtimer_add(s->resume_accept_.get(), &tv);
}

void Server::resume_accept_cb(evutil_socket_t, short, void* self) noexcept {
  for (auto& l : static_cast<Server*>(self)->listeners_) evconnlistener_enable(l.get());
}

void Server::on_accept(int raw_fd, const sockaddr* sa) {
  UniqueFd fd(raw_fd);
  ClientInfo client = client_info(sa);
  if (conns_.size() >= static_cast<std::size_t>(cfg_.smtpd_max_sessions)) {
    // Instead of a greeting (RFC 5321 3.1 allows 421 there); best effort, never blocks.
    std::string msg = "421 4.3.2 " + cfg_.hostname + " Too many connections, try again later\r\n";
    ssize_t n = ::send(fd.get(), msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)n;
    static log::RateLimiter limit(std::chrono::seconds(10), 1);
    std::size_t dropped = 0;
    if (limit.allow("max", &dropped))
      log::warn("smtpd_max_sessions (%lld) reached: refused %s (%zu more refused before)",
                static_cast<long long>(cfg_.smtpd_max_sessions), client.literal.c_str(), dropped);
    return;
  }
  std::uint64_t id = next_conn_id_++;
  auto conn = std::make_unique<Connection>(*this, id, std::move(fd), std::move(client));
  Connection* c = conn.get();
  conns_[id] = std::move(conn);
  c->start();
}

void Server::release(std::uint64_t conn_id) {
  common::io::run_soon(base_, [this, conn_id] { conns_.erase(conn_id); });
}

common::Result<common::spool::QueueFileWriter> Server::create_queue_file(
    const common::spool::Envelope& env) {
  return common::spool::QueueFileWriter::create(incoming_.get(), env);
}

std::int64_t Server::now() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string Server::new_queue_id() { return common::spool::new_queue_id(); }

void Server::connect_qmgr() {
  std::string path = layout_.submit_socket();
  auto sock = ipc::connect_unix(path);
  if (!sock) {
    if (!qmgr_down_logged_) log::warn("queue manager not reachable (%s); retrying every second", sock.message().c_str());
    qmgr_down_logged_ = true;
    timeval tv{1, 0};
    evtimer_add(reconnect_.get(), &tv);
    return;
  }
  qmgr_down_logged_ = false;
  qmgr_ = std::make_unique<ipc::Channel>(
      base_, std::move(*sock), ipc::kProtoSubmit, "smtpd",
      [this](const ipc::FrameView& f, UniqueFd fd) {
        (void)fd;  // no descriptors come this way; the UniqueFd closes a stray one
        on_qmgr_frame(f);
      },
      [this](const Status& why) { on_qmgr_closed(why); });
  log::info("connected to the queue manager at %s", path.c_str());
}

void Server::reconnect_cb(evutil_socket_t, short, void* self) noexcept {
  static_cast<Server*>(self)->connect_qmgr();
}

std::uint64_t Server::submit(std::uint64_t conn_id, Submission s) {
  if (!qmgr_ || !qmgr_->open()) return 0;
  std::uint64_t req = next_request_id_++;
  pending_[req] = conn_id;
  qmgr_->send(ipc::Submit{req}, std::move(s.fd));
  return req;
}

void Server::forget_request(std::uint64_t request_id) { pending_.erase(request_id); }

void Server::on_qmgr_frame(const ipc::FrameView& f) {
  auto done = ipc::decode<ipc::SubmitDone>(f);
  if (!done) {
    log::error("bad frame from the queue manager: %s", done.message().c_str());
    qmgr_->close(done.status());
    return;
  }
  auto it = pending_.find(done->request_id);
  if (it == pending_.end()) return;  // the session is gone or gave up: drop the answer
  std::uint64_t conn_id = it->second;
  pending_.erase(it);
  auto c = conns_.find(conn_id);
  if (c != conns_.end()) c->second->submit_done(done->verdict);
}

void Server::on_qmgr_closed(const Status& why) {
  log::warn("queue manager connection closed: %s", why.message().c_str());
  // Every waiting session gets 451 now; the client will retry.
  auto waiting = std::move(pending_);
  pending_.clear();
  for (const auto& [req, conn_id] : waiting) {
    auto c = conns_.find(conn_id);
    if (c != conns_.end())
      c->second->submit_done(common::mail::Verdict{common::mail::Outcome::kTemporary, "4.3.0",
                                                   "Queue manager unavailable, try again later"});
  }
  // The channel is destroyed outside its own callback, then we reconnect.
  common::io::run_soon(base_, [this] {
    qmgr_.reset();
    timeval tv{1, 0};
    evtimer_add(reconnect_.get(), &tv);
  });
}

int run(const common::config::Config& cfg, PreJail pre) {
  auto base = common::io::new_event_base();
  auto signals = common::io::install_termination_handlers(base.get());
  int rc = 0;
  {
    Server server(base.get(), cfg, std::move(pre));
    server.start();
    if (event_base_dispatch(base.get()) < 0) rc = kExOsErr;
  }
  log::info("stopped");
  return rc;
}

}  // namespace smtpd
