// The remote agent's core: takes Deliver requests from the queue manager, splits their
// recipients by destination (the recipient domain, or the relayhost), and runs them over
// a pool of SMTP connections per destination: at most remote_destination_concurrency at
// once, an idle connection reused for the next message to the same destination (for a
// few seconds, up to a number of messages), one transaction for all recipients of one
// destination. Answers one verdict per recipient, in order, and logs each.
// When every server of a destination fails before a transaction, the requests waiting
// for that destination are deferred at once with the same reason (Postfix's "dead
// destination"), instead of each trying again; unless another connection to the same
// destination is working, which then takes them. Recipients that fail temporarily go
// on to the fallback_relay servers, if any (fallback.hpp).
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/dns/resolver.hpp"
#include "common/io/event.hpp"
#include "common/io/lifetime.hpp"
#include "common/io/unique_fd.hpp"
#include "common/ipc/messages.hpp"
#include "common/mail/dsn.hpp"
#include "delivery/agent.hpp"
#include "delivery/message.hpp"
#include "delivery/remote/connection.hpp"
#include "delivery/remote/mta_sts.hpp"
#include "delivery/remote/route.hpp"
#include "delivery/remote/settings.hpp"
#include "delivery/remote/signing.hpp"
#include "delivery/remote/tls_report.hpp"

namespace common::spool {
struct Envelope;
}

namespace delivery::remote {

// What a message asks of the TLS to its destinations (RFC 8689): the usual policies,
// verified TLS to a REQUIRETLS server (the REQUIRETLS MAIL parameter, the queue file's Q
// record), or none of the recipient domains' policies (a "TLS-Required: No" header).
// Messages of each kind travel on connections of their own.
enum class TlsDemand : std::uint8_t { kUsual, kRequire, kOptional };

class Dispatcher : public Connection::Backend {
 public:
  // `signer`: the DKIM signer's client (nullptr: never sign); `sts`: the MTA-STS policy
  // lookup (nullptr: no MTA-STS); `reporter`: where TLS sessions are recorded (nullptr:
  // nowhere).
  Dispatcher(event_base* base, const Settings& settings, common::dns::Resolver& resolver, TlsContexts tls,
             AgentLink& link, Signer* signer = nullptr, StsResolver* sts = nullptr,
             TlsReporter* reporter = nullptr);
  ~Dispatcher() override;

  // A request from the queue manager (AgentLink's handler).
  void deliver(common::ipc::Deliver d, common::io::UniqueFd fd, std::uint64_t generation);
  // An ODMR connection and the deliveries that go over it (dispatcher_turn.cpp).
  void turn(common::ipc::Turn t, common::io::UniqueFd fd, std::uint64_t generation);

  std::size_t jobs() const { return jobs_.size(); }

  // Connection::Backend
  void connection_ready(Connection& c) override;
  void connection_sent(Connection& c, std::vector<common::mail::Verdict> verdicts) override;
  void connection_etrn(Connection& c, const common::smtp::Reply& reply) override;
  void connection_failed(Connection& c, const common::mail::Verdict& why) override;
  void connection_closed(Connection& c) override;

 private:
  struct Job {
    std::uint64_t id = 0;
    common::ipc::Deliver msg;
    common::io::UniqueFd fd;
    MessageRef ref;
    std::uint64_t generation = 0;
    std::vector<common::mail::Verdict> results;
    std::size_t open_tasks = 0;
    std::string signature;  // the DKIM-Signature field sent on top of the message, if any
    TlsDemand demand = TlsDemand::kUsual;
    // The DSN requests (RFC 3461) from the queue file, `dsn` one per recipient of `msg`
    // (or empty), passed on to servers that offer DSN; `dsn_passed` per recipient: such
    // a server accepted it (DeliverDone::dsn_passed).
    common::mail::DsnRet dsn_ret = common::mail::DsnRet::kUnspecified;
    std::string dsn_envid;
    std::vector<common::mail::DsnRcpt> dsn;
    std::vector<std::uint8_t> dsn_passed;
  };
  struct Task {
    std::uint64_t job = 0;
    std::vector<std::size_t> rcpts;  // indexes into the job's recipients
    int fallback = -1;               // the fallback_relay carrying it (-1: direct)
    std::string first_failure;       // why the direct attempt failed, for a fallback
  };
  struct Destination;
  struct Slot {
    Destination* dest = nullptr;
    std::unique_ptr<RouteLookup> lookup;
    std::unique_ptr<Connection> conn;
    bool has_task = false;
    Task task;
    common::io::EventPtr idle_timer;
    bool opening = true;            // no transaction carried yet
    bool dead = false;              // removed; waits for deferred destruction
    std::optional<StsPolicy> sts;   // the destination's MTA-STS policy (testing, enforce)
    bool sts_fetch_failed = false;  // a policy fetch failed and none was cached (RFC 8460)
    common::io::Lifetime life;      // for the MTA-STS lookup's callback
  };
  struct Destination {
    std::string key;
    Target target;
    TlsDemand demand = TlsDemand::kUsual;
    std::deque<Task> queue;
    std::vector<std::unique_ptr<Slot>> slots;
    int fallback = -1;     // index into Settings::fallback_relays, or -1
    bool self_mx = false;  // the last route lookup found us among its MX hosts
    // ODMR (RFC 2645): one adopted connection, never another; ends when the deliveries
    // named by its Turn are done.
    bool turn = false;
    std::size_t turn_left = 0;
  };

  static void take_dsn(const common::spool::Envelope& env, Job& j);
  void signed_or_not(std::uint64_t job_id, common::Result<common::ipc::SignDone> r);
  void route_job(Job& j);
  // dispatcher_turn.cpp: a job of an ODMR turn goes to its connection (true), the turn's
  // destinations keep their one connection, and end it when done.
  bool route_turn(Job& j);
  void kick_turn(Destination& d);
  bool turn_ready(Slot* s);
  Destination& destination_for(const std::string& domain, TlsDemand demand);
  // A REQUIRETLS message's TLS failures (4.7.x) bounce (RFC 8689 5), never wait.
  common::mail::Verdict for_demand(const Destination& d, const common::mail::Verdict& v) const;
  Destination& fallback_destination(int index);
  // Hands the temporarily failed recipients `rcpts` of `t` to the next fallback relay;
  // false when there is none for them (see fallback.hpp).
  bool hand_on(const Destination& from, const Task& t, const std::vector<std::size_t>& rcpts,
               const common::mail::Verdict& why);
  void kick(Destination& d);
  void open_slot(Destination& d);
  void lookup_route(Slot* s);
  void on_route(Slot* s, Route r);
  void assign(Slot* s, Task t);
  void go_idle(Slot* s);
  static void on_idle_cb(evutil_socket_t, short, void* slot) noexcept;
  void remove_slot(Slot* s);
  void fail_task(const Destination& from, const Task& t, const common::mail::Verdict& v,
                 const std::string& relay);
  void record(Job& j, std::size_t rcpt, const common::mail::Verdict& v, const std::string& relay);
  void task_done(std::uint64_t job_id);
  Slot* slot_of(Connection& c);
  common::smtp::SessionOptions options_for(const Destination& d) const;
  // RFC 8460: has the connection of `s` report its TLS sessions, for a recipient domain.
  void watch_tls(Slot* s, const std::string& log_tag);

  event_base* base_;
  const Settings& settings_;
  common::dns::Resolver& resolver_;
  TlsContexts tls_;
  AgentLink& link_;
  Signer* signer_;
  StsResolver* sts_;
  TlsReporter* reporter_;
  std::uint64_t next_job_ = 1;
  std::map<std::uint64_t, std::unique_ptr<Job>> jobs_;
  std::map<std::string, std::unique_ptr<Destination>> dests_;
  std::map<Connection*, Slot*> slot_of_;
  std::map<std::uint64_t, std::string> turn_of_;  // ODMR: delivery id -> its destination's key
  common::io::Lifetime life_;
};

}  // namespace delivery::remote
