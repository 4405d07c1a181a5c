// Fetches one MTA-STS policy over HTTPS (RFC 8461 3.3): the policy host's addresses from
// the agent's resolver, a TCP connection to each in turn, TLS through OpenSSL with the
// certificate verified against the CA store (or smtp_tls_ca_file) and the policy host's
// name (SSL_set1_host, RFC 6125), one HTTP/1.0 GET, and the answer read until the server
// closes: at most 64 KB of policy, within one deadline for everything. The answer is
// handed back raw; http_response.cpp parses it.
#pragma once

#include <event2/event.h>
#include <openssl/ssl.h>

#include <functional>
#include <string>
#include <vector>

#include "common/io/event.hpp"
#include "common/io/lifetime.hpp"
#include "common/result.hpp"

namespace common::dns {
class Resolver;
}

namespace delivery::remote {

class HttpsFetch {
 public:
  // The raw response, or why there is none. Called once, from the loop; it may destroy
  // the fetch.
  using Callback = std::function<void(common::Result<std::string>)>;
  HttpsFetch(event_base* base, common::dns::Resolver& resolver, SSL_CTX* verify_ctx, std::string host,
             int timeout_seconds, Callback cb);
  ~HttpsFetch();
  HttpsFetch(const HttpsFetch&) = delete;
  HttpsFetch& operator=(const HttpsFetch&) = delete;
  void start();

 private:
  void try_next();
  void fail(std::string why);
  void done(common::Result<std::string> r);
  static void on_read_cb(bufferevent*, void* self) noexcept;
  static void on_event_cb(bufferevent*, short what, void* self) noexcept;
  static void on_deadline_cb(evutil_socket_t, short, void* self) noexcept;
  void on_event(short what);

  event_base* base_;
  common::dns::Resolver& resolver_;
  SSL_CTX* ctx_;
  std::string host_;
  int timeout_;
  Callback cb_;
  std::vector<std::string> addrs_;
  std::size_t next_ = 0;
  int answers_ = 0;
  std::string dns_error_;
  std::string last_error_;
  common::io::BufferEventPtr bev_;
  SSL* ssl_ = nullptr;  // owned by bev_
  bool connected_ = false;
  std::string raw_;
  common::io::EventPtr deadline_;
  bool finished_ = false;
  common::io::Lifetime life_;
};

}  // namespace delivery::remote
