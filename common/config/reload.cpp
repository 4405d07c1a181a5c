// SIGHUP reload of mailbag.conf (see reload.hpp): which keys need a restart, the pure
// merge of the running and the re-read configuration, and the signal watcher.
#include "common/config/reload.hpp"

#include <csignal>
#include <utility>
#include <variant>

#include "common/check.hpp"
#include "common/log/log.hpp"

namespace common::config {
namespace {

// A running process cannot take these: sockets bound and files opened as root before
// the privilege drop, paths every process and tool must agree on, the identity in
// greetings, and objects built once at start (resolver, TLS client contexts, database
// connections, the password check pool).
constexpr std::string_view kRestartKeys[] = {
    "hostname",
    "log_target",
    "spool_directory",
    "data_directory",
    "mail_directory",
    "tls_cert_file",
    "tls_key_file",
    "tls_key_daemon",
    "smtp_listen",
    "submission_listen",
    "submissions_listen",
    "odmr_listen",
    "pop3_listen",
    "pop3s_listen",
    "pop_before_smtp",
    "dns_resolver",
    "relayhost",
    "relayhost_auth_file",
    "smtp_tls_policy",
    "smtp_tls_ca_file",
    "dns_trust_anchor",
    "smtp_dane",
    "smtp_mta_sts",
    "tls_report",
    "auth_max_checks",
    "auth_max_waiting",
    "accounts_backend",
    "postgresql_conninfo",
    "postgresql_password_file",
    "postgresql_cache_ttl",
    "client_ipv6_prefix_length",
    "postgresql_timeout",
};

void copy_member(const Config& from, Config* to, const KeyDef& k) {
  std::visit([&](auto m) { to->*m = from.*m; }, k.member);
}

}  // namespace

std::span<const std::string_view> restart_keys() { return kRestartKeys; }

bool needs_restart(std::string_view key) {
  for (auto k : kRestartKeys)
    if (k == key) return true;
  return false;
}

ReloadDiff merge_reload(const Config& old, Config* fresh, std::string_view program) {
  ReloadDiff d;
  for (const auto& k : keys()) {
    if (value_text(old, k) == value_text(*fresh, k)) continue;
    bool restart = needs_restart(k.name);
    if (restart) copy_member(old, fresh, k);  // every program: paths must stay agreed
    if (!owned_by(k, program)) continue;
    (restart ? d.kept : d.applied).emplace_back(k.name);
  }
  fresh->path = old.path;
  return d;
}

void ignore_sighup_until_watched() { std::signal(SIGHUP, SIG_IGN); }

Reloader::Reloader(event_base* base, Config* live, std::string program)
    : live_(live), program_(std::move(program)) {
  hup_.reset(evsignal_new(base, SIGHUP, on_sighup, this));
  MB_CHECK(hup_ && evsignal_add(hup_.get(), nullptr) == 0, "evsignal_new(SIGHUP)");
}

void Reloader::on_sighup(evutil_socket_t, short, void* self) noexcept {
  static_cast<Reloader*>(self)->reload();
}

void Reloader::reload() {
  const Config before = *live_;
  auto fresh = load(live_->path);
  if (!fresh) {
    log::error("reload: %s; the running configuration stays", fresh.message().c_str());
  } else {
    ReloadDiff d = merge_reload(before, &*fresh, program_);
    for (const auto& k : d.kept)
      log::warn("reload: %s changed but needs a restart; the old value stays until then", k.c_str());
    for (const auto& k : d.applied)
      log::info("reload: %s = %s", k.c_str(), log::printable(value_text(*fresh, *find_key(k)), 200).c_str());
    // Key by key, only what changed: a member nobody changed is never written, so a
    // daemon's database thread may go on reading the keys that need a restart.
    for (const auto& k : keys())
      if (value_text(*live_, k) != value_text(*fresh, k)) copy_member(*fresh, live_, k);
    log::info("reload: %s read, %zu changed keys applied, %zu need a restart", live_->path.c_str(),
              d.applied.size(), d.kept.size());
  }
  for (auto& h : hooks_) h(before);
}

}  // namespace common::config
