// The server TLS context with its reload (see server_tls.hpp).
#include "common/tls/server_tls.hpp"

#include <csignal>

#include "common/log/log.hpp"
#include "common/spool/layout.hpp"
#include "common/tls/key_protocol.hpp"
#include "common/tls/remote_key.hpp"

namespace common::tls {

namespace log = common::log;

namespace {
// After a SIGHUP the key daemon may re-read its key a moment after this process re-reads
// the certificate (both are signalled at once): a mismatch is retried once a second.
constexpr int kMismatchRetries = 5;
}  // namespace

Result<std::unique_ptr<ServerTls>> ServerTls::open(const config::Config& cfg, const std::string& role) {
  if (cfg.tls_cert_file.empty()) return std::unique_ptr<ServerTls>();
  std::unique_ptr<ServerTls> t(new ServerTls());
  t->cert_file_ = cfg.tls_cert_file;
  t->key_file_ = cfg.tls_key_file;
  t->role_ = role;
  if (cfg.tls_key_daemon)
    t->keys_ = std::make_shared<KeyClient>(spool::Layout(cfg).tlskey_socket(), role, kKeyTimeoutMs);
  else if (t->key_file_.empty())
    return Status::error("tls_key_file is not set (and tls_key_daemon = no)");
  auto c = t->build();
  if (!c) return c.status();
  if (t->keys_) {
    // Not fatal: the key daemon may start after this process. Handshakes fail (and say
    // why) until it holds the certificate's key.
    if (Status st = t->check_key(c->get()); !st)
      log::warn("TLS: %s (handshakes fail until it does)", st.message().c_str());
  }
  t->ctx_ = std::move(*c);
  return t;
}

Result<SslCtxPtr> ServerTls::build() const {
  if (!keys_) return server_context(cert_file_, key_file_);
  auto c = server_context_chain(cert_file_);
  if (!c) return c;
  auto key = remote_key(SSL_CTX_get0_certificate(c->get()), keys_);
  if (!key) return Status::error(cert_file_ + ": " + key.message());
  if (SSL_CTX_use_PrivateKey(c->get(), key->get()) != 1 || SSL_CTX_check_private_key(c->get()) != 1)
    return Status::error(cert_file_ + ": installing the key daemon's key: " + last_error());
  return c;
}

Status ServerTls::check_key(SSL_CTX* c) const {
  std::string want = key_id(X509_get0_pubkey(SSL_CTX_get0_certificate(c)));
  auto r = keys_->call(ipc::KeyOpKind::kKeyId, "", "");
  if (!r) return Status::error("the key daemon is not reachable: " + r.message());
  if (r->result != ipc::KeyOpResult::kOk) return Status::error("the key daemon has no key: " + r->text);
  if (r->key_id != want)
    return Status::error("the key daemon holds key " + short_id(r->key_id) + ", the certificate " +
                         cert_file_ + " is for key " + short_id(want));
  return Status::ok();
}

void ServerTls::watch_reload(event_base* base) {
  retry_.reset(evtimer_new(base, on_retry, this));
  MB_CHECK(retry_, "evtimer_new");
}

void ServerTls::reload_or_keep() {
  if (Status st = reload(); !st)
    log::error("TLS reload: %s; keeping the certificate in use", st.message().c_str());
}

void ServerTls::on_retry(evutil_socket_t, short, void* self) noexcept {
  static_cast<ServerTls*>(self)->try_install();
}

Status ServerTls::reload() {
  log::info("TLS reload: reading %s", cert_file_.c_str());
  auto c = build();
  if (!c) return c.status();
  pending_ = std::move(*c);
  retries_left_ = kMismatchRetries;
  if (retry_) evtimer_del(retry_.get());
  try_install();
  return Status::ok();
}

void ServerTls::try_install() {
  if (!pending_) return;
  Status st = keys_ ? check_key(pending_.get()) : Status::ok();
  if (!st && retries_left_-- > 0 && retry_) {
    timeval second{1, 0};
    evtimer_add(retry_.get(), &second);
    return;
  }
  if (!st) {
    log::error("TLS reload refused: %s; keeping the certificate in use", st.message().c_str());
    pending_.reset();
    return;
  }
  ctx_ = std::move(pending_);
  X509* cert = SSL_CTX_get0_certificate(ctx_.get());
  char subject[256] = "?";
  if (cert) X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
  log::info("TLS reload: new connections get %s (%s, key %s)", cert_file_.c_str(), subject,
            short_id(key_id(X509_get0_pubkey(cert))).c_str());
}

}  // namespace common::tls
