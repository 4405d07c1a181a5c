// The ETRN client of a server on a link that comes and goes (a dial-up site):
// when remote starts, and every wakeup_every after that, it asks each of etrn_hosts (the
// backup MX servers holding our mail) to send it now: "ETRN domain" for each of
// etrn_domains (RFC 1985), or, for backup servers that want the older method, a short
// wake-up message to wakeup_email through that host. Results are logged, and after
// wakeup_failure_notice failures in a row at one host the postmaster gets one notice
// (wakeup_notice.hpp), sent through our own smtpd; the mail itself arrives through smtpd.
#pragma once

#include <event2/event.h>

#include <ctime>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/dns/resolver.hpp"
#include "common/io/event.hpp"
#include "common/io/lifetime.hpp"
#include "common/io/unique_fd.hpp"
#include "delivery/remote/connection.hpp"
#include "delivery/remote/settings.hpp"
#include "delivery/remote/wakeup_notice.hpp"

namespace delivery::remote {

class EtrnClient : public Connection::Backend {
 public:
  // Seconds after start before the first round (smtpd may be starting at the same time).
  static constexpr int kStartDelay = 1;

  EtrnClient(event_base* base, const Settings& settings, common::dns::Resolver& resolver, TlsContexts tls);
  ~EtrnClient() override;
  // Arms the timer; does nothing if etrn_hosts is empty.
  void start();
  // After a reload of the settings: the hosts are taken anew at the next round that
  // starts with none busy; the timer runs at the new wakeup_every from now.
  void reconfigure();

  void connection_ready(Connection& c) override;
  void connection_sent(Connection& c, std::vector<common::mail::Verdict> verdicts) override;
  void connection_etrn(Connection& c, const common::smtp::Reply& reply) override;
  void connection_failed(Connection& c, const common::mail::Verdict& why) override;
  void connection_closed(Connection& c) override;

 private:
  struct Peer {
    common::smtp::NextHop hop;
    std::unique_ptr<RouteLookup> lookup;
    std::unique_ptr<Connection> conn;
    std::size_t next_domain = 0;
    bool wakeup_sent = false;
    bool busy = false;
    bool completed = false;  // every ETRN asked, or the wake-up message sent
    bool ok = true;          // nothing failed in this attempt
    std::string problem;     // the first failure, as logged
  };
  struct Notice {
    common::io::UniqueFd fd;  // the message (memfd)
    MessageRef ref;
    std::unique_ptr<RouteLookup> lookup;
    std::unique_ptr<Connection> conn;
    bool sent = false;
  };
  static void on_timer_cb(evutil_socket_t, short, void* self) noexcept;
  void round();
  void make_peers();
  void begin(Peer& p);
  Peer* peer_of(Connection& c);
  void done(Peer& p);
  void failed(Peer& p, const std::string& problem);
  common::Status make_wakeup();
  // The notice machinery: one at a time, to the first of our own smtp_listen endpoints.
  void queue_notice(const Peer& p, WakeupHealth::Notice kind);
  void send_next_notice();
  void notice_done();

  event_base* base_;
  const Settings& settings_;
  common::dns::Resolver& resolver_;
  TlsContexts tls_;
  Self nobody_;  // ETRN to ourselves is harmless: no loop check
  std::vector<std::unique_ptr<Peer>> peers_;
  bool hosts_changed_ = false;
  std::map<std::string, WakeupHealth> health_;  // per etrn_hosts entry, across reloads
  std::deque<std::string> notices_;             // waiting to be sent
  std::unique_ptr<Notice> notice_;              // being sent
  common::io::EventPtr timer_;
  common::io::UniqueFd wakeup_fd_;
  MessageRef wakeup_ref_;
  common::io::Lifetime life_;
};

// The wake-up message (LF line ends) sent to `to` by `hostname` for `domains`.
std::string wakeup_message(const std::string& hostname, const std::string& to,
                           const std::vector<std::string>& domains, std::time_t now);

}  // namespace delivery::remote
