// Implementation of the outgoing SMTP connection (see connection.hpp).
// UNTRUSTED: bytes read from the socket go only to the reply parser.
#include "delivery/remote/connection.hpp"

#include <arpa/inet.h>
#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log/log.hpp"
#include "common/net/sockaddr.hpp"
#include "common/tls/tls.hpp"
#include "common/tlsrpt/record.hpp"
#include "delivery/remote/tls_report.hpp"
#include "delivery/remote/verdicts.hpp"

namespace delivery::remote {

namespace log = common::log;
namespace smtp = common::smtp;
using common::mail::Outcome;
using common::mail::Verdict;

namespace {

constexpr std::size_t kBodyLowWater = 64 * 1024;  // refill the message data below this
constexpr std::size_t kMaxUnread = 64 * 1024;     // input we hold before parsing must stop

timeval secs(int s) { return timeval{s, 0}; }

// Frees a bufferevent and then closes a socket on the next loop turn. Called from
// inside the bufferevent's own callbacks, where libevent only finishes freeing it when
// the callback returns: closing the socket before that would let libevent touch a
// closed (or already reused) descriptor. Callbacks are cut off at once.
void retire(event_base* base, common::io::BufferEventPtr bev, common::io::UniqueFd fd) {
  if (bev) {
    bufferevent_setcb(bev.get(), nullptr, nullptr, nullptr, nullptr);
    bufferevent_disable(bev.get(), EV_READ | EV_WRITE);
  }
  auto holder = std::make_shared<std::pair<common::io::BufferEventPtr, common::io::UniqueFd>>(std::move(bev),
                                                                                              std::move(fd));
  common::io::run_soon(base, [holder] {
    holder->first.reset();
    holder->second.reset();
  });
}

bool is_ip(const std::string& s) {
  unsigned char b[16];
  return inet_pton(AF_INET, s.c_str(), b) == 1 || inet_pton(AF_INET6, s.c_str(), b) == 1;
}

}  // namespace

Connection::Connection(event_base* base, Backend& backend, int timeout_base, int connect_timeout,
                       TlsContexts tls, std::vector<Endpoint> endpoints, smtp::SessionOptions options)
    : base_(base),
      backend_(backend),
      timeout_(timeout_base),
      connect_timeout_(connect_timeout),
      tls_ctx_(tls),
      endpoints_(std::move(endpoints)),
      options_(std::move(options)) {
  policy_ = endpoint_policy();
  deadline_.reset(evtimer_new(base_, on_deadline_cb, this));
  MB_CHECK(deadline_ != nullptr, "evtimer_new");
}

Connection::~Connection() {
  life_.end();
  bev_.reset();
}

void Connection::start() { try_endpoint(); }

void Connection::adopt(common::io::UniqueFd fd, std::string peer) {
  peer_ = std::move(peer);
  policy_ = smtp::TlsPolicy::kNone;
  fd_ = std::move(fd);
  if (evutil_make_socket_nonblocking(fd_.get()) != 0) return endpoint_failed(connect_failure(peer_, "fcntl"));
  connected();
}

void Connection::try_endpoint() {
  if (index_ >= endpoints_.size()) {
    reported_ = true;
    io_ = Io::kDone;
    Verdict why =
        last_failure_ ? *last_failure_ : Verdict{Outcome::kTemporary, "4.4.1", "no server to connect to"};
    backend_.connection_failed(*this, why);  // may destroy us: nothing after this
    return;
  }
  const Endpoint& ep = endpoints_[index_];
  peer_ = ep.str();
  session_.reset();
  parser_ = smtp::ReplyParser();
  if (!ep.dane.why.empty() && policy_ != smtp::TlsPolicy::kNone) log_dane(ep.dane.why);
  if (ep.dane.mode == DaneMode::kSkip) {
    // RFC 7672 2.2: neither TLS nor clear text to a host whose TLSA records are unknown.
    Verdict why{Outcome::kTemporary, "4.7.5", "DANE: " + ep.dane.why + " (host " + peer_ + ")"};
    report_tls(common::tlsrpt::kDnssecInvalid);
    common::io::Guard alive = life_.guard();
    common::io::run_soon(base_, [this, alive, why] {
      if (alive) endpoint_failed(why);
    });
    return;
  }
  auto addr = common::net::sockaddr_of(ep.ip, ep.port);
  if (!addr) return endpoint_failed(connect_failure(peer_, "bad address"));
  fd_.reset(::socket(addr->family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd_) return endpoint_failed(connect_failure(peer_, std::strerror(errno)));
  io_ = Io::kConnecting;
  if (::connect(fd_.get(), addr->get(), addr->len) == 0) {
    connected();
    return;
  }
  if (errno != EINPROGRESS) {
    // Reported from the loop, so that a fast failure cannot recurse through every endpoint.
    std::string why = std::strerror(errno);
    common::io::Guard alive = life_.guard();
    common::io::run_soon(base_, [this, alive, why] {
      if (alive) endpoint_failed(connect_failure(peer_, why));
    });
    return;
  }
  connect_ev_.reset(event_new(base_, fd_.get(), EV_WRITE, on_connect_cb, this));
  timeval tv = secs(connect_timeout_);
  event_add(connect_ev_.get(), &tv);
}

void Connection::on_connect_cb(evutil_socket_t, short what, void* self) noexcept {
  auto* c = static_cast<Connection*>(self);
  c->connect_ev_.reset();
  if (what & EV_TIMEOUT) return c->endpoint_failed(connect_failure(c->peer_, "Connection timed out"));
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(c->fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err != 0) return c->endpoint_failed(connect_failure(c->peer_, std::strerror(err)));
  c->connected();
}

void Connection::connected() {
  io_ = Io::kPlain;
  smtp::SessionOptions o = options_;
  o.tls = policy_;
  session_.emplace(std::move(o));
  install(bufferevent_socket_new(base_, fd_.get(), 0));
  if (!bev_) return endpoint_failed(connect_failure(peer_, "bufferevent_socket_new failed"));
  update_timeouts();  // the greeting (RFC 5321 4.5.3.2.1)
}

void Connection::install(bufferevent* b) {
  bev_.reset(b);
  if (!b) return;
  bufferevent_setcb(b, on_read_cb, on_write_cb, on_event_cb, this);
  bufferevent_setwatermark(b, EV_WRITE, kBodyLowWater, 0);
  bufferevent_enable(b, EV_READ | EV_WRITE);
}

// This endpoint cannot be used: try the same one in clear after a failed opportunistic
// handshake, else the next one.
void Connection::endpoint_failed(const Verdict& why) {
  bool tls_failed = io_ == Io::kHandshake;
  connect_ev_.reset();
  evtimer_del(deadline_.get());
  retire(base_, std::move(bev_), std::move(fd_));
  ssl_ = nullptr;
  sending_body_ = false;
  if (ever_ready_) {
    // The connection had been in use: it is simply gone.
    io_ = Io::kDone;
    finish();
    return;
  }
  log::info("%s", why.text.c_str());  // the text names the server
  if (index_ < endpoints_.size() && endpoints_[index_].sts == StsMode::kEnforce)
    log_sts("host not used under the enforce policy: " + why.text);
  last_failure_ = why;
  // Opportunistic TLS (RFC 7435): a failed handshake means one more try without it, as
  // Postfix does at security level "may" (never on the same connection).
  if (tls_failed && policy_ == smtp::TlsPolicy::kMay) {
    policy_ = smtp::TlsPolicy::kNone;
    try_endpoint();
    return;
  }
  ++index_;
  policy_ = endpoint_policy();
  try_endpoint();
}

void Connection::begin_tls() {
  // RFC 3207 4.2 / CVE-2011-0411: nothing may follow the 220 in clear; a server that
  // sends more is trying to inject replies into the TLS session.
  if (evbuffer_get_length(bufferevent_get_input(bev_.get())) > 0 || parser_.in_reply()) {
    apply(session_->on_protocol_error("data after the STARTTLS reply"));
    return;
  }
  const Endpoint& ep = endpoints_[index_];
  bool dane = ep.dane.mode == DaneMode::kAuthenticate;
  bool verify = !dane && policy_ == smtp::TlsPolicy::kVerify;
  // MTA-STS testing mode checks the certificate against the CA store without requiring it.
  bool sts_testing = !dane && !verify && ep.sts == StsMode::kTesting && tls_ctx_.verify;
  SSL_CTX* ctx = dane ? tls_ctx_.dane : (verify || sts_testing) ? tls_ctx_.verify : tls_ctx_.opportunistic;
  SSL* ssl = ctx ? SSL_new(ctx) : nullptr;
  if (!ssl) {
    apply(session_->on_tls_failed("no TLS context: " + common::tls::last_error()));
    return;
  }
  const std::string& host = ep.host;
  if (!host.empty() && !is_ip(host)) SSL_set_tlsext_host_name(ssl, host.c_str());  // SNI
  if (dane) {
    std::string err = setup_dane(ssl, ep);
    if (!err.empty()) {
      SSL_free(ssl);
      apply(session_->on_tls_failed("DANE: " + err));
      return;
    }
  } else if (sts_testing) {
    setup_sts_testing(ssl, ep);
  } else if (verify) {
    // The certificate must name the MX (or relay) host we looked up, or the name the
    // options pin (a relayhost with credentials: its configured name, never DNS's).
    const std::string& name = options_.tls_name.empty() ? host : options_.tls_name;
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    bool named =
        !name.empty() && (is_ip(name) ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str())
                                      : SSL_set1_host(ssl, name.c_str())) == 1;
    if (!named) {
      SSL_free(ssl);
      apply(session_->on_tls_failed("cannot verify a server without a host name"));
      return;
    }
    SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  }
  retire(base_, std::move(bev_), common::io::UniqueFd());  // the socket stays: fd_ owns it
  io_ = Io::kHandshake;
  bufferevent* b = bufferevent_openssl_socket_new(base_, fd_.get(), ssl, BUFFEREVENT_SSL_CONNECTING,
                                                  BEV_OPT_CLOSE_ON_FREE);
  if (!b) {
    SSL_free(ssl);
    apply(session_->on_tls_failed("bufferevent_openssl_socket_new failed"));
    return;
  }
  fd_.release();  // the TLS bufferevent closes the socket and frees the SSL
  ssl_ = ssl;
  bufferevent_openssl_set_allow_dirty_shutdown(b, 1);
  install(b);
  timeval tv = secs(timeout_);
  bufferevent_set_timeouts(b, &tv, &tv);
  evtimer_add(deadline_.get(), &tv);  // the whole handshake, however slowly it trickles
}

void Connection::apply(smtp::Output out) {
  common::io::Guard alive = life_.guard();
  if (!out.write.empty() && bev_) bufferevent_write(bev_.get(), out.write.data(), out.write.size());
  if (!out.results.empty()) {
    ++transactions_;
    sending_body_ = false;
    std::vector<Verdict> v;
    v.reserve(out.results.size());
    dsn_passed_.clear();
    for (const auto& r : out.results) {
      v.push_back(verdict_for(r, peer_));
      dsn_passed_.push_back(r.dsn_passed && r.outcome == Outcome::kOk ? 1 : 0);
    }
    backend_.connection_sent(*this, std::move(v));
    if (!alive) return;
  }
  if (out.etrn) backend_.connection_etrn(*this, *out.etrn);
  if (out.error) {
    // The session ended outside a transaction: before ready, the endpoint failed.
    Verdict why = verdict_for(*out.error, peer_);
    if (!ever_ready_ && !session_->tls_active() && out.error->status == "4.7.4" &&
        (out.error->stage == smtp::Stage::kEhlo || out.error->stage == smtp::Stage::kHelo))
      report_tls(common::tlsrpt::kStartTlsNotSupported);  // TLS required, not offered
    if (!ever_ready_) {
      // Best effort for the QUIT of a refused session (RFC 5321 3.1), written directly:
      // the socket goes right after, and the bufferevent would not get to send it.
      if (!out.write.empty() && io_ == Io::kPlain && fd_) {
        ssize_t n = ::write(fd_.get(), out.write.data(), out.write.size());
        (void)n;
      }
      endpoint_failed(why);
      return;
    }
    log::info("%s", why.text.c_str());
  }
  if (out.close) {
    close_now();
    return;
  }
  if (out.start_tls) {
    begin_tls();
    return;
  }
  if (out.send_body) {
    sending_body_ = true;
    bdat_ = out.bdat;
    body_sent_ = 0;
    encoder_ = smtp::DataEncoder(!bdat_);
    pump_body();
  }
  update_timeouts();
  if (out.ready) {
    if (!ever_ready_ && !session_->tls_active() && endpoints_[index_].sts == StsMode::kTesting)
      log_sts("testing: no TLS (STARTTLS not offered or failed); delivering, since the mode is testing");
    // In clear because the server did not offer STARTTLS (not after a failed handshake,
    // which was counted then, nor where no TLS was wanted).
    if (!ever_ready_ && !session_->tls_active() && policy_ != smtp::TlsPolicy::kNone &&
        !session_->capabilities().starttls)
      report_tls(common::tlsrpt::kStartTlsNotSupported);
    ever_ready_ = true;
    notify_ready();
  }
}

// Tells the backend on the next loop turn, so that a chain of immediate answers (a queue
// of messages too large for the server) cannot recurse.
void Connection::notify_ready() {
  common::io::Guard alive = life_.guard();
  common::io::run_soon(base_, [this, alive] {
    if (!alive) return;
    if (reported_ || !ready()) return;
    backend_.connection_ready(*this);
  });
}

void Connection::update_timeouts() {
  if (!bev_ || !session_) return;
  smtp::Stage st = session_->waiting();
  timeval w = secs(sending_body_ ? smtp::data_block_timeout(timeout_) : timeout_);
  if (st == smtp::Stage::kIdle || sending_body_) {
    bufferevent_set_timeouts(bev_.get(), nullptr, &w);
    evtimer_del(deadline_.get());
  } else {
    timeval r = secs(smtp::reply_timeout(st, timeout_));
    bufferevent_set_timeouts(bev_.get(), &r, &w);
    // Called when a command goes out or a complete reply came in, never for a part of
    // one: the next reply gets its full time, and no more.
    evtimer_add(deadline_.get(), &r);
  }
}

void Connection::on_read_cb(bufferevent*, void* self) noexcept {
  static_cast<Connection*>(self)->drain_input();
}

void Connection::drain_input() {
  common::io::Guard alive = life_.guard();
  while (bev_ && session_ && !closing_ && (io_ == Io::kPlain || io_ == Io::kTls)) {
    evbuffer* in = bufferevent_get_input(bev_.get());
    std::size_t len = evbuffer_get_length(in);
    if (len == 0) return;
    std::size_t n = std::min(len, kMaxUnread);
    auto* p = reinterpret_cast<const char*>(evbuffer_pullup(in, static_cast<ev_ssize_t>(n)));
    std::size_t used = parser_.feed(std::string_view(p, n));
    evbuffer_drain(in, used);
    if (parser_.state() == smtp::ReplyParser::State::kError) {
      log::warn("%s: malformed reply: %s", peer_.c_str(), parser_.error().c_str());
      apply(session_->on_protocol_error(parser_.error()));
      return;
    }
    if (parser_.state() != smtp::ReplyParser::State::kReply) {
      if (used == 0) return;
      continue;
    }
    smtp::Reply r = parser_.take();
    if (bdat_ && sending_body_) {
      // Replies to the chunks already sent come while later ones go (RFC 3030 4.2); a
      // refused one stops the rest, and the session reads the replies still due.
      smtp::Output out = session_->on_reply(r);
      if (out.stop_body || !out.results.empty() || out.close) sending_body_ = false;
      apply(std::move(out));
      if (!alive) return;
      continue;
    }
    bool mid_data = sending_body_;
    sending_body_ = false;
    smtp::Output out = session_->on_reply(r);
    if (mid_data) {
      // A reply before we finished the data: the server gave up on the message (552,
      // 421). Its reply decides, and the connection cannot be trusted any more.
      out.write.clear();
      out.ready = false;
      out.close = true;
    }
    apply(std::move(out));
    if (!alive) return;
  }
}

void Connection::on_write_cb(bufferevent*, void* self) noexcept {
  auto* c = static_cast<Connection*>(self);
  if (c->sending_body_) {
    c->pump_body();
    return;
  }
  if (c->closing_ && evbuffer_get_length(bufferevent_get_output(c->bev_.get())) == 0) c->finish();
}

void Connection::on_event_cb(bufferevent*, short what, void* self) noexcept {
  static_cast<Connection*>(self)->on_event(what);
}

void Connection::on_event(short what) {
  if (!session_) return;
  if (what & BEV_EVENT_CONNECTED) {  // TLS handshake complete
    io_ = Io::kTls;
    log::info("%s: TLS established: %s", peer_.c_str(), common::tls::describe(ssl_).c_str());
    if (endpoints_[index_].dane.mode == DaneMode::kAuthenticate) {
      std::uint8_t usage = 0;
      int depth = SSL_get0_dane_tlsa(ssl_, &usage, nullptr, nullptr, nullptr, nullptr);
      log_dane("verified (" + common::dns::usage_name(usage) + ", matched at depth " + std::to_string(depth) +
               ")");
    }
    sts_tls_done();
    apply(session_->on_tls_established());
    return;
  }
  if (closing_) {
    finish();
    return;
  }
  if (io_ == Io::kHandshake) {
    std::string why = "connection closed";
    if (what & BEV_EVENT_TIMEOUT) why = "timed out";
    unsigned long e = bufferevent_get_openssl_error(bev_.get());
    long verify = ssl_ ? SSL_get_verify_result(ssl_) : X509_V_OK;
    report_tls(verify != X509_V_OK ? result_for_verify(verify) : common::tlsrpt::kValidationFailure);
    if (e) {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof buf);
      why = buf;
      long v = ssl_ ? SSL_get_verify_result(ssl_) : X509_V_OK;
      if (v != X509_V_OK) why += std::string(" (") + X509_verify_cert_error_string(v) + ")";
    }
    if (endpoints_[index_].dane.mode == DaneMode::kAuthenticate) {
      // RFC 7672 2.2: no fallback to clear text or another kind of TLS for this host.
      why = "DANE: TLSA records not matched, host not used: " + why;
      log_dane(why);
    } else if (endpoints_[index_].sts == StsMode::kEnforce) {
      why = "MTA-STS: certificate not verified, host not used: " + why;  // RFC 8461 5
    }
    apply(session_->on_tls_failed(why));
    return;
  }
  if (what & BEV_EVENT_TIMEOUT) {
    evtimer_del(deadline_.get());
    log::info("%s: timeout waiting for the reply to %s", peer_.c_str(),
              smtp::stage_name(session_->waiting()));
    apply(session_->on_timeout());
    return;
  }
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    // Replies still in the buffer come first (a 421 before the close).
    drain_input();
    if (closing_ || !session_ || io_ == Io::kDone) return;
    apply(session_->on_closed());
  }
}

void Connection::on_deadline_cb(evutil_socket_t, short, void* self) noexcept {
  static_cast<Connection*>(self)->on_deadline();
}

void Connection::on_deadline() {
  if (!session_ || closing_ || reported_) return;
  if (io_ == Io::kHandshake) {
    log::info("%s: TLS handshake timed out", peer_.c_str());
    apply(session_->on_tls_failed("timed out"));
    return;
  }
  if ((io_ != Io::kPlain && io_ != Io::kTls) || sending_body_ || session_->waiting() == smtp::Stage::kIdle)
    return;
  log::info("%s: timeout waiting for the reply to %s (partial input does not count)", peer_.c_str(),
            smtp::stage_name(session_->waiting()));
  apply(session_->on_timeout());
}

// The session is over: send what is queued (QUIT), then go.
void Connection::close_now() {
  sending_body_ = false;
  evtimer_del(deadline_.get());
  if (!ever_ready_) {
    // Before ready, a close means this endpoint failed (already reported by apply()).
    endpoint_failed(last_failure_ ? *last_failure_ : connect_failure(peer_, "connection closed"));
    return;
  }
  closing_ = true;
  if (!bev_ || evbuffer_get_length(bufferevent_get_output(bev_.get())) == 0) {
    finish();
    return;
  }
  bufferevent_disable(bev_.get(), EV_READ);
  timeval tv = secs(5);
  bufferevent_set_timeouts(bev_.get(), nullptr, &tv);
}

void Connection::finish() {
  if (reported_) return;
  reported_ = true;
  io_ = Io::kDone;
  evtimer_del(deadline_.get());
  retire(base_, std::move(bev_), std::move(fd_));
  ssl_ = nullptr;
  backend_.connection_closed(*this);  // may destroy us: nothing after this
}

void Connection::send(smtp::Transaction tx, MessageRef msg, std::string_view prefix) {
  msg_ = msg;
  prefix_ = prefix;
  apply(session_->send(std::move(tx)));
}

void Connection::etrn(const std::string& domain) { apply(session_->etrn(domain)); }

void Connection::quit() {
  if (reported_) return;
  if (!session_ || !session_->ready() || closing_) {
    close_now();
    return;
  }
  apply(session_->quit());
}

}  // namespace delivery::remote
