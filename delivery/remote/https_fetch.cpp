// Implementation of the MTA-STS policy fetch (see https_fetch.hpp).
// UNTRUSTED: the bytes read are only collected (bounded) for the HTTP parser.
#include "delivery/remote/https_fetch.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cstring>

#include "common/dns/resolver.hpp"
#include "common/net/sockaddr.hpp"
#include "common/tls/tls.hpp"
#include "delivery/remote/http_response.hpp"
#include "delivery/remote/mta_sts_policy.hpp"

namespace delivery::remote {

namespace {

constexpr std::size_t kMaxRaw = kHttpMaxHeader + kStsMaxPolicy;

}  // namespace

HttpsFetch::HttpsFetch(event_base* base, common::dns::Resolver& resolver, SSL_CTX* verify_ctx,
                       std::string host, int timeout_seconds, Callback cb)
    : base_(base),
      resolver_(resolver),
      ctx_(verify_ctx),
      host_(std::move(host)),
      timeout_(timeout_seconds),
      cb_(std::move(cb)) {}

HttpsFetch::~HttpsFetch() {
  life_.end();
  bev_.reset();
}

void HttpsFetch::start() {
  deadline_.reset(evtimer_new(base_, on_deadline_cb, this));
  timeval tv{timeout_, 0};
  evtimer_add(deadline_.get(), &tv);
  if (!ctx_) {
    common::io::Guard alive = life_.guard();
    common::io::run_soon(base_, [this, alive] {
      if (alive) fail("no TLS context that verifies certificates");
    });
    return;
  }
  common::io::Guard alive = life_.guard();
  for (bool v6 : {false, true}) {
    resolver_.lookup_addr(host_, v6, [this, alive, v6](common::dns::AddrAnswer a) {
      if (!alive || finished_) return;
      // IPv4 first, as for SMTP (route.cpp).
      if (v6)
        addrs_.insert(addrs_.end(), a.addrs.begin(), a.addrs.end());
      else
        addrs_.insert(addrs_.begin(), a.addrs.begin(), a.addrs.end());
      if (a.status == common::dns::Lookup::kTempFail) dns_error_ = a.error;
      if (++answers_ < 2) return;
      if (addrs_.empty()) {
        fail(dns_error_.empty() ? "no address for " + host_ : dns_error_);
        return;
      }
      try_next();
    });
  }
}

void HttpsFetch::try_next() {
  bev_.reset();
  ssl_ = nullptr;
  connected_ = false;
  raw_.clear();
  if (next_ >= addrs_.size()) {
    fail(last_error_.empty() ? "no server to connect to" : last_error_);
    return;
  }
  const std::string ip = addrs_[next_++];
  auto addr = common::net::sockaddr_of(ip, 443);
  if (!addr) {
    last_error_ = "bad address " + ip;
    try_next();
    return;
  }
  SSL* ssl = SSL_new(ctx_);
  if (!ssl) {
    fail("SSL_new: " + common::tls::last_error());
    return;
  }
  // RFC 8461 3.3: the certificate must be valid for the policy host (RFC 6125), from a
  // CA the sender trusts; SNI names that host.
  SSL_set_tlsext_host_name(ssl, host_.c_str());
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (SSL_set1_host(ssl, host_.c_str()) != 1) {
    SSL_free(ssl);
    fail("cannot check certificates for " + host_);
    return;
  }
  SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  // Many web servers close without close_notify; the answer's Content-Length (checked
  // by parse_http_response) then tells a whole answer from a cut one.
  SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
  bufferevent* b =
      bufferevent_openssl_socket_new(base_, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
  if (!b) {
    SSL_free(ssl);
    fail("bufferevent_openssl_socket_new failed");
    return;
  }
  bev_.reset(b);
  ssl_ = ssl;
  bufferevent_openssl_set_allow_dirty_shutdown(b, 1);
  bufferevent_setcb(b, on_read_cb, nullptr, on_event_cb, this);
  bufferevent_enable(b, EV_READ | EV_WRITE);
  last_error_ = host_ + "[" + ip + "]:443: ";
  if (bufferevent_socket_connect(b, addr->get(), static_cast<int>(addr->len)) != 0) {
    last_error_ += std::string("connect: ") + std::strerror(errno);
    common::io::Guard alive = life_.guard();
    common::io::run_soon(base_, [this, alive] {
      if (alive && !finished_) try_next();
    });
  }
}

void HttpsFetch::on_read_cb(bufferevent* b, void* self) noexcept {
  auto* f = static_cast<HttpsFetch*>(self);
  evbuffer* in = bufferevent_get_input(b);
  std::size_t n = evbuffer_get_length(in);
  if (f->raw_.size() + n > kMaxRaw) {
    f->fail(f->last_error_ + "answer larger than 64 KB (RFC 8461 3.3 limit), not read further");
    return;
  }
  std::size_t at = f->raw_.size();
  f->raw_.resize(at + n);
  evbuffer_remove(in, f->raw_.data() + at, n);
}

void HttpsFetch::on_event_cb(bufferevent*, short what, void* self) noexcept {
  static_cast<HttpsFetch*>(self)->on_event(what);
}

void HttpsFetch::on_event(short what) {
  if (what & BEV_EVENT_CONNECTED) {
    connected_ = true;
    std::string req = sts_policy_request(host_);
    bufferevent_write(bev_.get(), req.data(), req.size());
    return;
  }
  if ((what & BEV_EVENT_EOF) && connected_) {
    // Whatever is still buffered comes first.
    on_read_cb(bev_.get(), this);
    if (finished_) return;
    done(std::move(raw_));
    return;
  }
  std::string why = connected_ ? "connection lost" : "connection failed";
  unsigned long e = bufferevent_get_openssl_error(bev_.get());
  if (e) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    why = buf;
    long v = ssl_ ? SSL_get_verify_result(ssl_) : X509_V_OK;
    if (v != X509_V_OK) why = std::string("certificate not verified: ") + X509_verify_cert_error_string(v);
  } else if (int err = EVUTIL_SOCKET_ERROR(); err != 0 && !connected_) {
    why = std::string("connect: ") + evutil_socket_error_to_string(err);
  }
  last_error_ += why;
  if (connected_) {
    fail(last_error_);
    return;
  }
  // Next address, from the loop (we are inside the bufferevent's callback).
  common::io::Guard alive = life_.guard();
  common::io::run_soon(base_, [this, alive] {
    if (alive && !finished_) try_next();
  });
  bufferevent_disable(bev_.get(), EV_READ | EV_WRITE);
}

void HttpsFetch::on_deadline_cb(evutil_socket_t, short, void* self) noexcept {
  auto* f = static_cast<HttpsFetch*>(self);
  f->fail((f->last_error_.empty() ? f->host_ + ": " : f->last_error_) + "timed out after " +
          std::to_string(f->timeout_) + "s");
}

void HttpsFetch::fail(std::string why) { done(common::Status::error(std::move(why))); }

void HttpsFetch::done(common::Result<std::string> r) {
  if (finished_) return;
  finished_ = true;
  deadline_.reset();
  if (bev_) {
    bufferevent_setcb(bev_.get(), nullptr, nullptr, nullptr, nullptr);
    bufferevent_disable(bev_.get(), EV_READ | EV_WRITE);
  }
  // The bufferevent is freed with us or on the next turn, never inside its callback.
  auto holder = std::make_shared<common::io::BufferEventPtr>(std::move(bev_));
  common::io::run_soon(base_, [holder] { holder->reset(); });
  ssl_ = nullptr;
  auto cb = std::move(cb_);
  cb(std::move(r));  // may destroy us
}

}  // namespace delivery::remote
