// The pop3d event loop (see server.hpp): listeners, one Conn per client connecting the
// socket to a Session, the verifier threads' results, the disk workers' (maildrop open,
// UPDATE), the failure delay, and streaming RETR/TOP as the socket drains (the output
// buffer never holds more than about kStreamHigh bytes of a message). A plain connection
// uses its socket directly: a read event that stays armed, one read(2) per readable
// event, and the replies of each turn written at once with one writev(2) (a write event
// only when the socket is full). TLS (pop3s, or after STLS) goes through a
// bufferevent_openssl.
#include "pop3d/server.hpp"

#include <event2/bufferevent_ssl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <unordered_map>

#include "common/io/event.hpp"
#include "common/io/fdio.hpp"
#include "common/log/log.hpp"
#include "common/spool/layout.hpp"
#include "pop3d/auth.hpp"
#include "pop3d/session.hpp"
#include "pop3d/workers.hpp"

namespace pop3d {
namespace {

using common::Status;
namespace io = common::io;
namespace log = common::log;

constexpr std::size_t kReadHigh = 64 * 1024;     // input buffered while a command runs
constexpr std::size_t kStreamLow = 64 * 1024;    // refill when output drops to this
constexpr std::size_t kStreamHigh = 256 * 1024;  // ... and fill up to this
constexpr std::size_t kChunk = 64 * 1024;

[[noreturn]] void die(int code, const std::string& msg) {
  log::error("%s", msg.c_str());
  std::exit(code);
}

common::Result<io::UniqueFd> bind_listener(const std::string& spec) {
  auto hp = common::config::parse_host_port(spec);
  if (!hp) return hp.status();
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(hp->port);
  int rc = ::getaddrinfo(hp->host.empty() ? nullptr : hp->host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return Status::error(spec + ": " + gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  io::UniqueFd fd(::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Status::sys("socket for " + spec);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (res->ai_family == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd.get(), res->ai_addr, res->ai_addrlen) != 0) return Status::sys("bind " + spec);
  if (::listen(fd.get(), 128) != 0) return Status::sys("listen " + spec);
  return fd;
}

double monotonic_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class Server;

// One client connection: the socket side of a Session.
class Conn final : public SessionHost {
 public:
  Conn(Server& srv, std::uint64_t id, io::UniqueFd fd, std::string addr, bool implicit_tls);
  ~Conn() override;
  bool start();
  void auth_done(const AuthResult& r);

  // SessionHost
  void send(std::string_view text) override;
  void verify(const std::string& user, const std::string& password) override;
  void start_tls() override;
  void open_maildrop(const std::string& path) override;
  void stream(io::UniqueFd fd, WireEncoder enc) override;
  void update(std::unique_ptr<Maildrop> drop) override;
  void logged_in(const std::string& address) override;
  void close(const SessionStats& stats) override;

  // From the disk workers.
  void maildrop_opened(common::Result<std::unique_ptr<Maildrop>> drop, Maildrop::OpenError why);
  void update_done(const common::Result<std::size_t>& removed);

 private:
  enum class AfterFlush { kNothing, kStartTls, kClose };
  // TLS: the bufferevent's callbacks.
  static void read_cb(bufferevent*, void* arg) noexcept { static_cast<Conn*>(arg)->on_read(); }
  static void write_cb(bufferevent*, void* arg) noexcept { static_cast<Conn*>(arg)->on_write(); }
  static void event_cb(bufferevent*, short what, void* arg) noexcept {
    static_cast<Conn*>(arg)->on_event(what);
  }
  // Plain: the socket's own events.
  static void readable_cb(evutil_socket_t, short what, void* arg) noexcept;
  static void writable_cb(evutil_socket_t, short what, void* arg) noexcept;
  static void delay_cb(evutil_socket_t, short, void* arg) noexcept { static_cast<Conn*>(arg)->on_delay(); }
  evbuffer* in() { return bev_ ? bufferevent_get_input(bev_.get()) : in_.get(); }
  evbuffer* out() { return bev_ ? bufferevent_get_output(bev_.get()) : out_.get(); }
  void setup_bev();
  void on_read();
  void on_write();
  void on_event(short what);
  void on_readable();
  void on_timeout();
  void on_delay();
  void lost();
  void settle();
  void process_input();
  void fill_stream();
  void switch_to_tls();
  void destroy();

  Server& srv_;
  std::uint64_t id_;
  io::UniqueFd fd_;  // owned here until a TLS bufferevent takes it over
  std::string addr_;
  bool tls_ = false;
  // Plain: events on fd_ and the two buffers.
  io::EventPtr rev_, wev_;
  io::EvBufferPtr in_, out_;
  bool reading_ = false, write_armed_ = false;
  bool switching_ = false;  // to TLS on the next loop turn
  // TLS
  io::BufferEventPtr bev_;
  std::unique_ptr<Session> session_;
  AfterFlush after_ = AfterFlush::kNothing;
  bool discarding_ = false;    // inside an over-long line
  bool stls_pending_ = false;  // STLS accepted, handshake not finished
  bool dead_ = false;
  // RETR/TOP in progress
  io::UniqueFd msg_fd_;
  std::optional<WireEncoder> enc_;
  bool stream_eof_ = false;
  // failed login reply held back by the delay
  io::EventPtr delay_ev_;
  std::optional<AuthResult> delayed_;
};

class Server {
 public:
  // Maildrop openings and UPDATEs at once: they mostly wait for the disk (renames,
  // unlinks, fsync), so more of them than cores.
  static constexpr std::size_t kDiskThreads = 8;

  Server(const common::config::Config& cfg, PreJail& pre, event_base* base)
      : cfg_(cfg),
        base_(base),
        tls_(std::move(pre.tls)),
        relay_(std::move(pre.relay)),
        verifier_(std::move(pre.accounts), std::move(pre.passwords), cfg.mail_directory),
        disk_(kDiskThreads) {}

  Status start(std::vector<Listener>& ls);
  void accept(io::UniqueFd fd, const sockaddr* sa, bool implicit_tls);
  void remove(std::uint64_t id) { conns_.erase(id); }
  Conn* find(std::uint64_t id) {
    auto it = conns_.find(id);
    return it == conns_.end() ? nullptr : it->second.get();
  }
  TaskPool& disk() { return disk_; }
  // Buffers every connection shares (they all run on this thread): socket reads, and a
  // message's file reads and their wire form.
  std::string& read_buffer() { return read_buf_; }
  std::string& wire_buffer() { return wire_buf_; }

  const common::config::Config& cfg() const { return cfg_; }
  event_base* base() const { return base_; }
  SSL_CTX* tls() const { return tls_.get(); }
  Verifier& verifier() { return verifier_; }
  LoginThrottle& throttle() { return throttle_; }
  void stamp_relay(const std::string& addr);
  log::RateLimiter& warn_limit() { return warn_limit_; }
  void on_verified();

 private:
  struct ListenerCtx {
    Server* srv;
    bool implicit_tls;
  };
  static void accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr* sa, int, void* arg) noexcept {
    auto* ctx = static_cast<ListenerCtx*>(arg);
    ctx->srv->accept(io::UniqueFd(fd), sa, ctx->implicit_tls);
  }
  static void verified_cb(evutil_socket_t, short, void* arg) noexcept {
    static_cast<Server*>(arg)->on_verified();
  }

  const common::config::Config& cfg_;
  event_base* base_;
  common::tls::SslCtxPtr tls_;
  std::unique_ptr<common::relaydb::RelayDb> relay_;
  Verifier verifier_;
  TaskPool disk_;
  LoginThrottle throttle_;
  log::RateLimiter warn_limit_{std::chrono::seconds(60)};
  std::vector<std::unique_ptr<ListenerCtx>> ctxs_;
  std::vector<io::ListenerPtr> listeners_;
  io::EventPtr verified_ev_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Conn>> conns_;
  std::uint64_t next_id_ = 1;
  std::string read_buf_ = std::string(kChunk, '\0');
  std::string wire_buf_;
  friend class Conn;
};

// ---------------------------------------------------------------------------------------

Conn::Conn(Server& srv, std::uint64_t id, io::UniqueFd fd, std::string addr, bool implicit_tls)
    : srv_(srv), id_(id), fd_(std::move(fd)), addr_(std::move(addr)), tls_(implicit_tls) {}

Conn::~Conn() = default;

void Conn::setup_bev() {
  bufferevent_setcb(bev_.get(), read_cb, write_cb, event_cb, this);
  bufferevent_setwatermark(bev_.get(), EV_READ, 0, kReadHigh);
  timeval tv = io::to_timeval(static_cast<double>(srv_.cfg().pop3d_timeout));
  bufferevent_set_timeouts(bev_.get(), &tv, &tv);
  bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
}

bool Conn::start() {
  if (tls_) {
    SSL* ssl = SSL_new(srv_.tls());
    if (!ssl) return false;
    bev_.reset(bufferevent_openssl_socket_new(srv_.base(), fd_.release(), ssl, BUFFEREVENT_SSL_ACCEPTING,
                                              BEV_OPT_CLOSE_ON_FREE));
    if (!bev_) return false;
    setup_bev();
  } else {
    rev_.reset(event_new(srv_.base(), fd_.get(), EV_READ | EV_PERSIST, readable_cb, this));
    wev_.reset(event_new(srv_.base(), fd_.get(), EV_WRITE | EV_PERSIST, writable_cb, this));
    in_.reset(evbuffer_new());
    out_.reset(evbuffer_new());
    if (!rev_ || !wev_ || !in_ || !out_) return false;
  }
  SessionOptions opt;
  opt.hostname = srv_.cfg().hostname;
  opt.tls_available = srv_.tls() != nullptr;
  opt.tls_active = tls_;
  opt.plaintext_auth = srv_.cfg().pop3_plaintext_auth;
  session_ = std::make_unique<Session>(opt, *this);
  session_->start();
  settle();
  return true;
}

// Plain: written at the end of the turn (settle), with whatever else the turn produced.
void Conn::send(std::string_view text) { evbuffer_add(out(), text.data(), text.size()); }

void Conn::on_read() {
  if (!dead_) process_input();
}

void Conn::readable_cb(evutil_socket_t, short what, void* arg) noexcept {
  auto* c = static_cast<Conn*>(arg);
  if (what & EV_READ)
    c->on_readable();
  else if (what & EV_TIMEOUT)
    c->on_timeout();
}

void Conn::writable_cb(evutil_socket_t, short what, void* arg) noexcept {
  auto* c = static_cast<Conn*>(arg);
  if (c->dead_) return;
  if (what & EV_WRITE) return c->settle();
  // RFC 1939 3: the autologout timer, for a client that stopped taking our replies.
  log::info("timeout (not reading): client=%s user=%s", c->addr_.c_str(),
            c->session_->user().empty() ? "-" : c->session_->user().c_str());
  c->destroy();
}

// Plain: one read per readable event (level-triggered: more fires again).
void Conn::on_readable() {
  if (dead_) return;
  if (after_ != AfterFlush::kNothing || stls_pending_ || evbuffer_get_length(in_.get()) >= kReadHigh)
    return settle();  // not reading now: settle() removes the read event
  std::string& buf = srv_.read_buffer();
  ssize_t n = ::read(fd_.get(), buf.data(), buf.size());
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    return lost();
  }
  if (n == 0) return lost();
  evbuffer_add(in_.get(), buf.data(), static_cast<std::size_t>(n));  // UNTRUSTED
  process_input();
  settle();
}

// Plain: no command for pop3d_timeout.
void Conn::on_timeout() {
  if (dead_ || enc_ || write_armed_) return;  // a long RETR: the client is busy reading
  // RFC 1939 3: the autologout timer; no UPDATE state, so nothing is deleted.
  log::info("timeout: client=%s user=%s", addr_.c_str(),
            session_->user().empty() ? "-" : session_->user().c_str());
  destroy();
}

// Plain: writes what this turn produced, keeps a RETR going while the socket takes it,
// acts on a close or STLS once everything is out, and arms the read and write events
// for what is left (no system call when nothing changes, the usual case).
void Conn::settle() {
  if (dead_ || bev_ || switching_) return;
  evbuffer* out = out_.get();
  for (;;) {
    while (evbuffer_get_length(out) > 0) {
      int n = evbuffer_write(out, fd_.get());
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return lost();
    }
    std::size_t pending = evbuffer_get_length(out);
    if (!enc_ || pending >= kStreamLow) break;
    fill_stream();  // may also finish the message and answer pipelined commands
    if (dead_) return;
    if (evbuffer_get_length(out) == pending) break;
  }
  std::size_t pending = evbuffer_get_length(out);
  timeval tv = io::to_timeval(static_cast<double>(srv_.cfg().pop3d_timeout));
  if ((pending > 0) != write_armed_) {
    write_armed_ = pending > 0;
    if (write_armed_)
      event_add(wev_.get(), &tv);
    else
      event_del(wev_.get());
  }
  if (pending == 0 && after_ == AfterFlush::kClose) return destroy();
  if (pending == 0 && after_ == AfterFlush::kStartTls) {
    after_ = AfterFlush::kNothing;
    switching_ = true;
    std::uint64_t id = id_;
    Server* srv = &srv_;
    io::run_soon(srv_.base(), [srv, id] {
      if (Conn* c = srv->find(id)) c->switch_to_tls();
    });
  }
  bool want_read =
      after_ == AfterFlush::kNothing && !stls_pending_ && evbuffer_get_length(in_.get()) < kReadHigh;
  if (want_read != reading_) {
    reading_ = want_read;
    if (reading_)
      event_add(rev_.get(), &tv);
    else
      event_del(rev_.get());
  }
}

// Hands complete lines to the session while it is not busy; leaves the rest buffered
// (RFC 2449 6.6 PIPELINING: commands are answered in order).
void Conn::process_input() {
  evbuffer* in = this->in();
  while (!dead_ && session_ && !session_->busy()) {
    evbuffer_ptr eol = evbuffer_search_eol(in, nullptr, nullptr, EVBUFFER_EOL_LF);
    if (eol.pos < 0) {
      if (evbuffer_get_length(in) > kMaxLine) {  // no line end in sight: drop what we have
        evbuffer_drain(in, evbuffer_get_length(in));
        discarding_ = true;
      }
      return;
    }
    std::size_t len = static_cast<std::size_t>(eol.pos);
    if (discarding_ || len + 1 > kMaxLine) {
      evbuffer_drain(in, len + 1);
      discarding_ = false;
      session_->on_line_too_long();
      continue;
    }
    std::string line(len + 1, '\0');
    evbuffer_remove(in, line.data(), len + 1);
    line.pop_back();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    session_->on_line(line);                    // UNTRUSTED
    OPENSSL_cleanse(line.data(), line.size());  // it may have been a password
  }
}

void Conn::verify(const std::string& user, const std::string& password) {
  double now = monotonic_now();
  if (srv_.throttle().blocked(addr_, now)) {
    if (srv_.warn_limit().allow("throttle " + addr_))
      log::warn("login refused: too many failures from %s", addr_.c_str());
    AuthResult r;
    r.outcome = AuthResult::Outcome::kThrottled;
    std::uint64_t id = id_;
    Server* srv = &srv_;
    io::run_soon(srv_.base(), [srv, id, r] {
      auto it = srv->conns_.find(id);
      if (it != srv->conns_.end()) it->second->auth_done(r);
    });
    return;
  }
  srv_.verifier().submit(Verifier::Job{id_, user, password});
}

void Conn::auth_done(const AuthResult& r) {
  if (dead_) return;
  if (r.outcome == AuthResult::Outcome::kBadCredentials) {
    double now = monotonic_now();
    srv_.throttle().record_failure(addr_, now);
    if (srv_.warn_limit().allow("authfail " + addr_))
      log::warn("authentication failed from %s", addr_.c_str());
    // RFC 1939 13 suggests a pause after a failed PASS, against guessing.
    delayed_ = r;
    delay_ev_.reset(evtimer_new(srv_.base(), delay_cb, this));
    timeval tv = io::to_timeval(srv_.throttle().delay(addr_, now));
    evtimer_add(delay_ev_.get(), &tv);
    return;
  }
  session_->auth_result(r);
  process_input();
  settle();
}

void Conn::on_delay() {
  if (dead_ || !delayed_) return;
  AuthResult r = *delayed_;
  delayed_.reset();
  session_->auth_result(r);
  process_input();
  settle();
}

void Conn::logged_in(const std::string& address) {
  log::info("login: user=%s client=%s tls=%s", address.c_str(), addr_.c_str(),
            session_->tls_active() ? "yes" : "no");
  srv_.stamp_relay(addr_);
}

// Only on a plain connection (the session refuses STLS under TLS). The switch happens
// once "+OK Begin TLS" is out (settle).
void Conn::start_tls() {
  // RFC 2595 4: nothing the client sent before the handshake may count after it.
  evbuffer_drain(in(), evbuffer_get_length(in()));
  after_ = AfterFlush::kStartTls;
  stls_pending_ = true;
}

void Conn::switch_to_tls() {
  switching_ = false;
  if (dead_) return;
  // The plain events stop (freed with the Conn); the socket goes to the TLS bufferevent.
  event_del(rev_.get());
  event_del(wev_.get());
  reading_ = write_armed_ = false;
  evbuffer_drain(in_.get(), evbuffer_get_length(in_.get()));
  SSL* ssl = SSL_new(srv_.tls());
  if (!ssl) return destroy();
  bev_.reset(bufferevent_openssl_socket_new(srv_.base(), fd_.release(), ssl, BUFFEREVENT_SSL_ACCEPTING,
                                            BEV_OPT_CLOSE_ON_FREE));
  if (!bev_) return destroy();
  tls_ = true;
  setup_bev();
}

// Maildrop::open on a disk worker; the result goes to the session if it is still there
// (if not, the maildrop and its lock go with the task).
void Conn::open_maildrop(const std::string& path) {
  struct Opened {
    std::optional<common::Result<std::unique_ptr<Maildrop>>> drop;
    Maildrop::OpenError why = Maildrop::OpenError::kFailed;
  };
  auto r = std::make_shared<Opened>();
  Server* srv = &srv_;
  std::uint64_t id = id_;
  srv_.disk().submit(make_task([r, path] { r->drop.emplace(Maildrop::open(path, &r->why)); },
                               [r, srv, id] {
                                 if (Conn* c = srv->find(id)) c->maildrop_opened(std::move(*r->drop), r->why);
                               }));
}

void Conn::maildrop_opened(common::Result<std::unique_ptr<Maildrop>> drop, Maildrop::OpenError why) {
  if (dead_) return;
  session_->maildrop_opened(std::move(drop), why);
  process_input();
  settle();
}

// RFC 1939 6: the deletions run on a disk worker, and complete even if the client has
// gone meanwhile; the session answers QUIT once they are done.
void Conn::update(std::unique_ptr<Maildrop> drop) {
  struct Update {
    std::unique_ptr<Maildrop> drop;
    std::optional<common::Result<std::size_t>> removed;
  };
  auto u = std::make_shared<Update>();
  u->drop = std::move(drop);
  Server* srv = &srv_;
  std::uint64_t id = id_;
  srv_.disk().submit(make_task(
      [u] {
        u->removed.emplace(u->drop->commit());
        u->drop.reset();  // releases the lock before the client hears +OK
      },
      [u, srv, id] {
        if (Conn* c = srv->find(id)) c->update_done(*u->removed);
      }));
}

void Conn::update_done(const common::Result<std::size_t>& removed) {
  if (dead_) return;
  session_->update_done(removed);
  settle();
}

void Conn::stream(io::UniqueFd fd, WireEncoder enc) {
  msg_fd_ = std::move(fd);
  enc_.emplace(std::move(enc));
  stream_eof_ = false;
  if (bev_) bufferevent_setwatermark(bev_.get(), EV_WRITE, kStreamLow, 0);
  fill_stream();
}

// Reads the message in kChunk pieces while the output buffer is below kStreamHigh.
void Conn::fill_stream() {
  evbuffer* out = this->out();
  std::string& buf = srv_.read_buffer();
  std::string& wire = srv_.wire_buffer();
  while (enc_ && evbuffer_get_length(out) < kStreamHigh) {
    if (!stream_eof_ && !enc_->done()) {
      ssize_t n = ::read(msg_fd_.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        Status st = Status::sys("read message");
        enc_.reset();
        msg_fd_.reset();
        if (bev_) bufferevent_setwatermark(bev_.get(), EV_WRITE, 0, 0);
        session_->stream_done(st);
        return;
      }
      if (n == 0) stream_eof_ = true;
      wire.clear();
      enc_->feed(std::string_view(buf.data(), static_cast<std::size_t>(n)), wire);
      evbuffer_add(out, wire.data(), wire.size());
      continue;
    }
    wire.clear();
    enc_->finish(wire);
    evbuffer_add(out, wire.data(), wire.size());
    enc_.reset();
    msg_fd_.reset();
    if (bev_) bufferevent_setwatermark(bev_.get(), EV_WRITE, 0, 0);
    session_->stream_done(Status::ok());
    process_input();
    return;
  }
}

// TLS: the output drained (to kStreamLow while a message streams).
void Conn::on_write() {
  if (dead_) return;
  if (enc_) return fill_stream();
  if (after_ == AfterFlush::kClose && evbuffer_get_length(out()) == 0) destroy();
}

void Conn::on_event(short what) {
  if (dead_) return;
  if (what & BEV_EVENT_CONNECTED) {
    // The TLS handshake is complete (implicit TLS or after STLS).
    if (stls_pending_) {  // not for implicit TLS, where the session began with TLS
      stls_pending_ = false;
      session_->tls_started();
      bufferevent_enable(bev_.get(), EV_READ);
      process_input();
    }
    return;
  }
  if (what & BEV_EVENT_TIMEOUT) {
    if (enc_ && (what & BEV_EVENT_READING)) {  // a long RETR: the client is silent because it is reading
      bufferevent_enable(bev_.get(), EV_READ);
      return;
    }
    // RFC 1939 3: the autologout timer; no UPDATE state, so nothing is deleted.
    log::info("timeout: client=%s user=%s", addr_.c_str(),
              session_->user().empty() ? "-" : session_->user().c_str());
    return destroy();
  }
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    if (what & BEV_EVENT_ERROR && tls_) {
      unsigned long e = bufferevent_get_openssl_error(bev_.get());
      if (e && srv_.warn_limit().allow("tls " + addr_)) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        log::warn("TLS error from %s: %s", addr_.c_str(), buf);
      }
    }
    return lost();
  }
}

// The client closed the connection or it broke.
void Conn::lost() {
  if (!session_->user().empty() && session_->state() == Session::State::kTransaction && !session_->updating())
    log::info("disconnected: user=%s client=%s (nothing deleted)", session_->user().c_str(), addr_.c_str());
  destroy();
}

void Conn::close(const SessionStats& stats) {
  if (!session_->user().empty())
    log::info("logout: user=%s client=%s retrieved=%zu bytes=%llu deleted=%zu", session_->user().c_str(),
              addr_.c_str(), stats.retrieved, static_cast<unsigned long long>(stats.bytes), stats.deleted);
  after_ = AfterFlush::kClose;
  if (!bev_) return;  // plain: settle() closes once the output is out
  bufferevent_disable(bev_.get(), EV_READ);
  if (evbuffer_get_length(bufferevent_get_output(bev_.get())) == 0) {
    std::uint64_t id = id_;
    Server* srv = &srv_;
    io::run_soon(srv_.base(), [srv, id] {
      if (Conn* c = srv->find(id)) c->destroy();
    });
  }
}

// The Conn is deleted on the next loop turn, never inside its own callback.
void Conn::destroy() {
  if (dead_) return;
  dead_ = true;
  if (bev_) bufferevent_disable(bev_.get(), EV_READ | EV_WRITE);
  if (rev_) event_del(rev_.get());
  if (wev_) event_del(wev_.get());
  delay_ev_.reset();
  std::uint64_t id = id_;
  Server* srv = &srv_;
  io::run_soon(srv_.base(), [srv, id] { srv->remove(id); });
}

// ---------------------------------------------------------------------------------------

Status Server::start(std::vector<Listener>& ls) {
  MB_TRY(verifier_.start());
  MB_TRY(disk_.start(base_));
  verified_ev_.reset(event_new(base_, verifier_.notify_fd(), EV_READ | EV_PERSIST, verified_cb, this));
  event_add(verified_ev_.get(), nullptr);
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
  if (conns_.size() >= static_cast<std::size_t>(cfg_.pop3d_max_sessions)) {
    if (warn_limit_.allow("max_sessions"))
      log::warn("too many sessions (%zu), refusing %s", conns_.size(), addr.c_str());
    if (!implicit_tls) {
      static const char kBusy[] = "-ERR [SYS/TEMP] Too many sessions, try again later\r\n";
      (void)!::send(fd.get(), kBusy, sizeof kBusy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    return;
  }
  if (!io::set_nonblocking(fd.get())) return;
  // A reply often goes out in two writes (RETR's +OK line, then the message read off the
  // disk thread); with Nagle the second waits for the client's delayed ACK, 40 ms per
  // message for a client that sends one command at a time.
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::uint64_t id = next_id_++;
  auto conn = std::make_unique<Conn>(*this, id, std::move(fd), addr, implicit_tls);
  Conn* c = conn.get();
  conns_.emplace(id, std::move(conn));
  if (!c->start()) {
    log::error("cannot set up a session for %s", addr.c_str());
    conns_.erase(id);
  }
}

void Server::on_verified() {
  for (auto& d : verifier_.take_results()) {
    auto it = conns_.find(d.conn_id);
    if (it != conns_.end()) it->second->auth_done(d.result);
  }
}

void Server::stamp_relay(const std::string& addr) {
  if (!relay_ || addr.empty()) return;
  Status st = relay_->stamp(addr, std::time(nullptr));
  if (!st) log::error("relay database: cannot record %s: %s", addr.c_str(), st.message().c_str());
}

}  // namespace

PreJail pre_jail(const common::config::Config& cfg) {
  PreJail pre;
  if (!cfg.tls_cert_file.empty()) {
    auto ctx = common::tls::server_context(cfg.tls_cert_file, cfg.tls_key_file);
    if (!ctx) die(EX_CONFIG, "TLS: " + ctx.message());
    pre.tls = std::move(*ctx);
  }
  for (const auto& spec : cfg.pop3_listen) {
    auto fd = bind_listener(spec);
    if (!fd) die(EX_OSERR, fd.message());
    pre.listeners.push_back(Listener{std::move(*fd), false, spec});
  }
  if (!cfg.pop3s_listen.empty() && !pre.tls)
    log::warn("pop3s_listen ignored: no tls_cert_file, so no implicit TLS");
  if (!pre.tls && !cfg.pop3_plaintext_auth)
    log::warn("no tls_cert_file and pop3_plaintext_auth = no: nobody can log in");
  for (const auto& spec : pre.tls ? cfg.pop3s_listen : std::vector<std::string>()) {
    auto fd = bind_listener(spec);
    if (!fd) die(EX_OSERR, fd.message());
    pre.listeners.push_back(Listener{std::move(*fd), true, spec});
  }
  if (pre.listeners.empty()) die(EX_CONFIG, "nothing to listen on (pop3_listen and pop3s_listen are empty)");
  return pre;
}

void open_databases(const common::config::Config& cfg, PreJail* pre) {
  common::spool::Layout layout(cfg);
  auto accounts = common::accounts::Accounts::open(layout.accounts_db(), false);
  if (!accounts) die(EX_UNAVAILABLE, "accounts database: " + accounts.message());
  pre->accounts = std::move(*accounts);
  auto passwords = common::accounts::Passwords::open(layout.passwd_db(), false);
  if (!passwords) die(EX_UNAVAILABLE, "password database: " + passwords.message());
  pre->passwords = std::move(*passwords);
  if (cfg.pop_before_smtp) {
    auto relay = common::relaydb::RelayDb::open(layout.relay_db(), common::relaydb::RelayDb::Mode::kWrite);
    if (!relay) die(EX_UNAVAILABLE, "relay database: " + relay.message());
    if (auto st = common::relaydb::fix_ownership(layout.relay_db()); !st) die(EX_UNAVAILABLE, st.message());
    pre->relay = std::move(*relay);
  }
}

int run(const common::config::Config& cfg, PreJail pre) {
  auto base = io::new_event_base();
  auto signals = io::install_termination_handlers(base.get());
  Server srv(cfg, pre, base.get());
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
