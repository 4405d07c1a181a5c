// One outgoing SMTP connection: the socket, TLS and timer side of the pure client
// session (common/smtp/client.hpp). It walks a route's endpoints in order until one
// greets and gets through EHLO (next MX on connection failure, 4xx/5xx greeting, refused
// EHLO, missing required TLS, or DANE: a host whose TLSA lookup failed is skipped, and
// one with usable TLSA records is used only over TLS that matches them), then carries transactions and ETRN
// commands for its owner until it is told to quit or the server goes away. Message data is read from the
// queue file's fd in bounded chunks and sent dot-stuffed with CRLF line ends, or, to a
// server with CHUNKING, as one BDAT chunk per piece read (RFC 3030 2; connection_body.cpp).
// UNTRUSTED: everything read from the socket goes through the reply parser.
#pragma once

#include <event2/event.h>
#include <openssl/ssl.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/io/event.hpp"
#include "common/io/lifetime.hpp"
#include "common/io/unique_fd.hpp"
#include "common/mail/outcome.hpp"
#include "common/smtp/client.hpp"
#include "common/smtp/data_encoder.hpp"
#include "common/smtp/reply.hpp"
#include "delivery/message.hpp"
#include "delivery/remote/route.hpp"

namespace delivery::remote {

struct TlsContexts {
  SSL_CTX* opportunistic = nullptr;  // no certificate check (may, encrypt)
  SSL_CTX* verify = nullptr;         // system CA store (verify)
  SSL_CTX* dane = nullptr;           // DANE verifier, no CA store (RFC 7672)
};

class Connection {
 public:
  // Callbacks; after connection_failed() or connection_closed() the connection is dead
  // and calls nothing more; its owner destroys it (not from inside the callback: use
  // run_soon). Work (send, etrn, quit) is given only from connection_ready().
  class Backend {
   public:
    virtual ~Backend() = default;
    virtual void connection_ready(Connection& c) = 0;
    // A transaction ended: one verdict per recipient, in order (and, while this runs,
    // dsn_passed() says which of them the server took DSN duties for).
    virtual void connection_sent(Connection& c, std::vector<common::mail::Verdict> verdicts) = 0;
    virtual void connection_etrn(Connection& c, const common::smtp::Reply& reply) = 0;
    // No endpoint could be used; `why` is the last endpoint's failure (temporary).
    virtual void connection_failed(Connection& c, const common::mail::Verdict& why) = 0;
    virtual void connection_closed(Connection& c) = 0;
  };

  Connection(event_base* base, Backend& backend, int timeout_base, int connect_timeout, TlsContexts tls,
             std::vector<Endpoint> endpoints, common::smtp::SessionOptions options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // A queue id for the "dane:" log lines (the message this connection was opened for).
  void set_log_tag(std::string tag) { log_tag_ = std::move(tag); }
  // TLS reporting (tls_report.hpp): told the outcome of each TLS session with an
  // endpoint, "" for success or an RFC 8460 4.3.2 result type.
  using TlsOutcome = std::function<void(const Endpoint& ep, const std::string& result)>;
  void set_tls_report(TlsOutcome f) { tls_report_ = std::move(f); }
  void start();
  // Instead of start(): the session runs on `fd`, already connected (an ODMR connection
  // whose roles have turned, RFC 2645 5.3: the client greets next). `endpoints` holds one
  // entry, its policy no TLS. `peer` names it in logs and verdicts.
  void adopt(common::io::UniqueFd fd, std::string peer);
  // REQUIRES: ready. `msg` must stay valid until connection_sent (the fd stays open).
  // `prefix` (whole lines, LF ends: a DKIM-Signature field) is sent before the message
  // and must stay valid as long.
  void send(common::smtp::Transaction tx, MessageRef msg, std::string_view prefix = {});
  void etrn(const std::string& domain);
  // Polite end: QUIT, then connection_closed().
  void quit();

  bool ready() const { return session_ && session_->ready() && !closing_; }
  bool tls() const { return session_ && session_->tls_active(); }
  const std::string& peer() const { return peer_; }
  int transactions() const { return transactions_; }
  // During connection_sent: per recipient, 1 when the server accepted it and offers DSN
  // (RFC 3461 5.2.1: it passes the notices on from there).
  const std::vector<std::uint8_t>& dsn_passed() const { return dsn_passed_; }

 private:
  enum class Io { kIdle, kConnecting, kPlain, kHandshake, kTls, kDone };

  void try_endpoint();
  void endpoint_failed(const common::mail::Verdict& why);
  void connected();
  void install(bufferevent* b);
  void begin_tls();
  // The TLS policy for endpoint index_: the configured one, raised by its DANE decision.
  common::smtp::TlsPolicy endpoint_policy() const;
  // Sets up DANE verification on `ssl` (RFC 7672 3); "" or why it cannot be done.
  std::string setup_dane(SSL* ssl, const Endpoint& ep);
  void log_dane(const std::string& what) const;
  // MTA-STS (RFC 8461): testing mode's certificate check that only reports, and the
  // report after the handshake.
  void setup_sts_testing(SSL* ssl, const Endpoint& ep);
  void sts_tls_done();
  void log_sts(const std::string& what) const;
  void report_tls(const std::string& result);
  void apply(common::smtp::Output out);
  void drain_input();
  void pump_body();
  // Queues one piece of the wire form: as it is after DATA, or as a BDAT chunk.
  void emit(const std::string& wire, bool last);
  void update_timeouts();
  void close_now();
  void finish();
  void notify_ready();

  static void on_connect_cb(evutil_socket_t, short what, void* self) noexcept;
  static void on_read_cb(bufferevent*, void* self) noexcept;
  static void on_write_cb(bufferevent*, void* self) noexcept;
  static void on_event_cb(bufferevent*, short what, void* self) noexcept;
  void on_event(short what);
  static void on_deadline_cb(evutil_socket_t, short, void* self) noexcept;
  void on_deadline();

  event_base* base_;
  Backend& backend_;
  int timeout_;
  int connect_timeout_;
  TlsContexts tls_ctx_;
  std::vector<Endpoint> endpoints_;
  std::size_t index_ = 0;
  common::smtp::SessionOptions options_;
  common::smtp::TlsPolicy policy_;  // for the current endpoint (may drop to kNone)
  std::string peer_;
  std::string log_tag_;
  TlsOutcome tls_report_;

  Io io_ = Io::kIdle;
  common::io::UniqueFd fd_;
  common::io::EventPtr connect_ev_;
  // RFC 5321 4.5.3.2: a whole reply (or the TLS handshake) must arrive within its
  // timeout. The bufferevent's read timeout restarts with every byte, so a server
  // dripping one byte a second would never time out; this timer is armed once per
  // awaited reply and restarts only when a complete reply has arrived.
  common::io::EventPtr deadline_;
  common::io::BufferEventPtr bev_;
  SSL* ssl_ = nullptr;  // owned by the TLS bufferevent
  std::optional<common::smtp::ClientSession> session_;
  common::smtp::ReplyParser parser_;
  bool ever_ready_ = false;
  bool closing_ = false;
  bool reported_ = false;  // connection_failed/closed has been called
  int transactions_ = 0;
  std::vector<std::uint8_t> dsn_passed_;
  std::optional<common::mail::Verdict> last_failure_;

  // Message data being sent.
  bool sending_body_ = false;
  bool bdat_ = false;  // the message being sent goes in BDAT chunks
  MessageRef msg_;
  std::string_view prefix_;
  std::uint64_t body_sent_ = 0;
  common::smtp::DataEncoder encoder_;

  common::io::Lifetime life_;
};

}  // namespace delivery::remote
