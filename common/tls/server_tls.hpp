// The server side's TLS context, shared by smtpd and pop3d: built from tls_cert_file
// with the private key either in the key daemon (tls_key_daemon = yes: an EVP_PKEY whose
// operations go to mailbag-tlskey, remote_key.hpp) or read from tls_key_file at start.
// On a reload (SIGHUP, common/config/reload.hpp) it re-reads the certificate chain and builds a new context
// for new connections; sessions already running keep theirs (an SSL holds a reference to its context). A
// certificate that does not match the key daemon's key is not installed: the old pair keeps serving and the
// log says why.
#pragma once

#include <event2/event.h>

#include <memory>
#include <string>

#include "common/config/config.hpp"
#include "common/io/event.hpp"
#include "common/result.hpp"
#include "common/tls/key_client.hpp"
#include "common/tls/tls.hpp"

namespace common::tls {

class ServerTls {
 public:
  // How long a handshake waits for the key daemon's signature.
  static constexpr int kKeyTimeoutMs = 2000;

  // Null when no certificate is configured. Call as root, before the privilege drop
  // (the key file may be readable by root only). `role`: "smtpd" or "pop3d".
  static Result<std::unique_ptr<ServerTls>> open(const config::Config& cfg, const std::string& role);

  // The context for a new connection. Valid until the next reload; a connection that
  // keeps it for later (STARTTLS) takes a reference of its own.
  SSL_CTX* ctx() const { return ctx_.get(); }

  // Makes reloads possible from now on (the loop must outlive this object).
  void watch_reload(event_base* base);
  // One reload now; an error says why the old context stays.
  Status reload();
  // reload(), with an error logged (the old context stays): the daemon's reload hook.
  void reload_or_keep();

 private:
  ServerTls() = default;
  Result<SslCtxPtr> build() const;
  // The key daemon's key id matches the certificate of `c`?
  Status check_key(SSL_CTX* c) const;
  static void on_retry(evutil_socket_t, short, void* self) noexcept;
  void try_install();

  std::string cert_file_, key_file_, role_;
  std::shared_ptr<KeyClient> keys_;  // null: the key is in this process
  SslCtxPtr ctx_;
  SslCtxPtr pending_;  // a new context waiting for the key daemon to hold its key
  int retries_left_ = 0;
  io::EventPtr retry_;
};

}  // namespace common::tls
