// Implementation of the remote agent's dispatcher (see dispatcher.hpp). Slots are never
// destroyed inside a callback of their own connection or route lookup: remove_slot()
// unlinks them and run_soon() frees them on the next loop turn.
#include "delivery/remote/dispatcher.hpp"

#include <algorithm>
#include <ctime>
#include <optional>

#include "common/dns/records.hpp"
#include "common/log/log.hpp"
#include "common/log/maillog.hpp"
#include "common/mail/ascii.hpp"
#include "common/mail/idna.hpp"
#include "common/smtp/data_encoder.hpp"
#include "common/spool/fault.hpp"
#include "common/spool/queue_file.hpp"
#include "delivery/headers.hpp"
#include "delivery/remote/fallback.hpp"
#include "delivery/remote/route_sts.hpp"

namespace delivery::remote {

namespace log = common::log;
using common::mail::lower;
using common::mail::Outcome;
using common::mail::Verdict;

namespace {

// Frees `p` on the next loop turn.
template <class T>
void destroy_later(event_base* base, std::unique_ptr<T> p) {
  if (!p) return;
  auto holder = std::make_shared<std::unique_ptr<T>>(std::move(p));
  common::io::run_soon(base, [holder] { holder->reset(); });
}

// RFC 8689: the REQUIRETLS flag from the queue file's envelope (read through the passed
// fd), else a "TLS-Required: No" header field; REQUIRETLS wins when both are there
// (RFC 8689 5: the header is then ignored).
TlsDemand tls_demand(const common::Result<common::spool::ParsedEnvelope>& env, const MessageRef& msg) {
  if (env && env->env.requiretls) return TlsDemand::kRequire;
  auto h = read_headers(msg);
  if (!h) return TlsDemand::kUsual;
  for (auto v : h->all("tls-required"))
    if (lower(v) == "no") return TlsDemand::kOptional;
  return TlsDemand::kUsual;
}

}  // namespace

// The DSN requests of the job's recipients, matched by address to the envelope's (the
// queue manager hands on some of them, in its own order).
void Dispatcher::take_dsn(const common::spool::Envelope& env, Job& j) {
  j.dsn_ret = env.dsn_ret;
  j.dsn_envid = env.dsn_envid;
  if (env.dsn.empty()) return;
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < env.recipients.size(); ++i) index.emplace(env.recipients[i], i);
  j.dsn.assign(j.msg.recipients.size(), common::mail::DsnRcpt{});
  for (std::size_t k = 0; k < j.msg.recipients.size(); ++k)
    if (auto it = index.find(j.msg.recipients[k]); it != index.end()) j.dsn[k] = env.dsn_of(it->second);
}

Dispatcher::Dispatcher(event_base* base, const Settings& settings, common::dns::Resolver& resolver,
                       TlsContexts tls, AgentLink& link, Signer* signer, StsResolver* sts,
                       TlsReporter* reporter)
    : base_(base),
      settings_(settings),
      resolver_(resolver),
      tls_(tls),
      link_(link),
      signer_(signer),
      sts_(sts),
      reporter_(reporter) {}

Dispatcher::~Dispatcher() { life_.end(); }

void Dispatcher::deliver(common::ipc::Deliver d, common::io::UniqueFd fd, std::uint64_t generation) {
  auto job = std::make_unique<Job>();
  job->id = next_job_++;
  job->generation = generation;
  job->fd = std::move(fd);
  job->msg = std::move(d);
  std::size_t n = job->msg.recipients.size();
  job->results.assign(n, Verdict{Outcome::kTemporary, "4.3.0", "not attempted"});
  Job& j = *job;
  std::uint64_t id = j.id;
  jobs_[id] = std::move(job);

  auto ref = check_message(j.fd.get(), j.msg);
  if (!ref) {
    log::error("%s: bad delivery request: %s", log::printable(j.msg.queue_id, 40).c_str(),
               ref.message().c_str());
    j.open_tasks = 1;
    for (std::size_t i = 0; i < n; ++i)
      record(j, i, Verdict{Outcome::kTemporary, "4.3.0", "cannot read the queued message: " + ref.message()},
             "none");
    task_done(id);
    return;
  }
  j.ref = *ref;
  j.dsn_passed.assign(n, 0);
  auto env = common::spool::read_envelope(j.fd.get());
  if (!env)
    log::warn("%s: cannot read the envelope for REQUIRETLS and DSN: %s",
              log::printable(j.msg.queue_id, 40).c_str(), env.message().c_str());
  else
    take_dsn(env->env, j);
  j.demand = tls_demand(env, j.ref);
  if (j.demand == TlsDemand::kRequire)
    log::info("%s: REQUIRETLS: only verified TLS to servers that offer REQUIRETLS",
              log::printable(j.msg.queue_id, 40).c_str());
  else if (j.demand == TlsDemand::kOptional)
    log::info("%s: TLS-Required: No: recipient domains' TLS policies (MTA-STS, DANE) not applied",
              log::printable(j.msg.queue_id, 40).c_str());
  if (signer_ && signer_->wanted()) {
    common::io::Guard alive = life_.guard();
    signer_->sign(j.msg.queue_id, j.fd.get(), [this, alive, id](common::Result<common::ipc::SignDone> r) {
      if (alive) signed_or_not(id, std::move(r));
    });
    return;
  }
  route_job(j);
}

// The signer's answer: the field to send on top, nothing, or a reason to wait. A message
// that should be signed is never sent unsigned (see signing.hpp).
void Dispatcher::signed_or_not(std::uint64_t job_id, common::Result<common::ipc::SignDone> r) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return;
  Job& j = *it->second;
  std::string qid = log::printable(j.msg.queue_id, 40);
  std::string why;
  if (!r)
    why = "DKIM signer: " + r.message();
  else if (r->result == common::ipc::SignResult::kTempFail)
    why = "DKIM signing: " + r->text;
  if (why.empty() && r->result == common::ipc::SignResult::kSigned) {
    j.signature = std::move(r->header);
    if (j.signature.empty() || j.signature.back() != '\n') why = "DKIM signer: malformed answer";
  }
  if (!why.empty()) {
    log::warn("%s: deferred: %s", qid.c_str(), log::printable(why).c_str());
    j.open_tasks = 1;
    for (std::size_t i = 0; i < j.msg.recipients.size(); ++i)
      record(j, i, Verdict{Outcome::kTemporary, "4.7.0", why}, "none");
    task_done(job_id);
    return;
  }
  route_job(j);
}

void Dispatcher::route_job(Job& j) {
  if (route_turn(j)) return;
  std::uint64_t id = j.id;
  std::size_t n = j.msg.recipients.size();
  // One task per destination; with a relayhost everything is one destination.
  std::map<std::string, std::vector<std::size_t>> groups;
  std::vector<std::string> order;
  std::vector<std::size_t> bad;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string& r = j.msg.recipients[i];
    auto at = r.rfind('@');
    if (at == std::string::npos || at + 1 >= r.size()) {
      bad.push_back(i);
      continue;
    }
    std::string key = settings_.relayhost ? std::string() : lower(r.substr(at + 1));
    if (!groups.count(key)) order.push_back(key);
    groups[key].push_back(i);
  }
  j.open_tasks = groups.size() + 1;  // +1 until everything is queued
  for (auto i : bad)
    record(j, i, Verdict{Outcome::kPermanent, "5.1.3", "recipient address without a domain"}, "none");
  for (const auto& key : order) {
    Destination& dest = destination_for(key, j.demand);
    dest.queue.push_back(Task{id, groups[key], -1, {}});
    kick(dest);
  }
  task_done(id);
}

Dispatcher::Destination& Dispatcher::destination_for(const std::string& domain, TlsDemand demand) {
  std::string key = settings_.relayhost ? "relay " + settings_.relayhost->str() : domain;
  if (demand == TlsDemand::kRequire) key += " (REQUIRETLS)";
  if (demand == TlsDemand::kOptional) key += " (TLS-Required: No)";
  auto& slot = dests_[key];
  if (!slot) {
    slot = std::make_unique<Destination>();
    slot->key = key;
    slot->demand = demand;
    slot->target = settings_.relayhost ? target_for_hop(*settings_.relayhost) : target_for_domain(domain);
    // RFC 7672 applies to every next hop found by name; a relayhost given our password
    // keeps its certificate check against the configured name instead (policy_for_relay).
    slot->target.dane = settings_.dane && resolver_.validating() && !slot->target.is_ip &&
                        !(slot->target.relay && settings_.relay_auth) && demand != TlsDemand::kOptional;
  }
  return *slot;
}

Dispatcher::Destination& Dispatcher::fallback_destination(int index) {
  const auto& hop = settings_.fallback_relays[static_cast<std::size_t>(index)];
  std::string key = "fallback " + hop.str();
  auto& slot = dests_[key];
  if (!slot) {
    slot = std::make_unique<Destination>();
    slot->key = key;
    slot->fallback = index;
    slot->target = target_for_hop(hop);
    // Not the relayhost: its credentials and its TLS rule stay with it.
    slot->target.relay = false;
    slot->target.dane = settings_.dane && resolver_.validating() && !slot->target.is_ip;
  }
  return *slot;
}

bool Dispatcher::hand_on(const Destination& from, const Task& t, const std::vector<std::size_t>& rcpts,
                         const Verdict& why) {
  if (from.turn) return false;  // ODMR mail waits for its site, never goes elsewhere
  auto next = next_fallback(settings_.fallback_relays, t.fallback, from.self_mx, why);
  auto it = jobs_.find(t.job);
  if (!next || rcpts.empty() || it == jobs_.end()) return false;
  Job& j = *it->second;
  // A REQUIRETLS message stays with its own destination's verified TLS (RFC 8689 4.2.1).
  if (j.demand == TlsDemand::kRequire) return false;
  Task moved{t.job, rcpts, *next, t.first_failure.empty() ? why.text : t.first_failure};
  const std::string hop = settings_.fallback_relays[static_cast<std::size_t>(*next)].str();
  for (auto i : rcpts)
    log::info("%s: to=<%s>, handed to fallback relay %s: %s", log::printable(j.msg.queue_id, 40).c_str(),
              log::printable(j.msg.recipients[i]).c_str(), hop.c_str(), log::printable(why.text).c_str());
  ++j.open_tasks;
  Destination& dest = fallback_destination(*next);
  dest.queue.push_back(std::move(moved));
  kick(dest);
  return true;
}

Verdict Dispatcher::for_demand(const Destination& d, const Verdict& v) const {
  if (d.demand != TlsDemand::kRequire || v.outcome != Outcome::kTemporary || v.status.rfind("4.7.", 0) != 0)
    return v;
  return Verdict{Outcome::kPermanent, "5.7.10", "REQUIRETLS: " + v.text};
}

common::smtp::SessionOptions Dispatcher::options_for(const Destination& d) const {
  common::smtp::SessionOptions o;
  o.helo_name = settings_.helo_name;
  o.tls = settings_.tls;
  // RFC 8689 4.2.1: a REQUIRETLS message goes only over verified TLS (the CA store,
  // unless DANE or MTA-STS decide for the host: connection.cpp).
  if (d.demand == TlsDemand::kRequire) o.tls = common::smtp::TlsPolicy::kVerify;
  if (d.target.relay) {
    o.tls = settings_.policy_for_relay();
    if (o.tls == common::smtp::TlsPolicy::kVerify) o.tls_name = settings_.relay_tls_name();
    if (settings_.relay_auth) {
      o.auth_user = settings_.relay_auth->user;
      o.auth_password = settings_.relay_auth->password;
    }
  }
  return o;
}

// Gives waiting tasks to idle connections, and opens connections while more tasks wait
// than connections are being opened, up to the concurrency limit.
void Dispatcher::kick(Destination& d) {
  if (d.turn) return kick_turn(d);
  for (auto& s : d.slots) {
    if (d.queue.empty()) break;
    if (s->dead || s->opening || s->has_task || !s->conn || !s->conn->ready()) continue;
    Task t = std::move(d.queue.front());
    d.queue.pop_front();
    assign(s.get(), std::move(t));
  }
  std::size_t opening = 0, live = 0;
  for (auto& s : d.slots) {
    if (s->dead) continue;
    ++live;
    if (s->opening) ++opening;
  }
  while (d.queue.size() > opening && live < static_cast<std::size_t>(settings_.concurrency)) {
    open_slot(d);
    ++opening;
    ++live;
  }
}

void Dispatcher::open_slot(Destination& d) {
  auto slot = std::make_unique<Slot>();
  Slot* s = slot.get();
  s->dest = &d;
  d.slots.push_back(std::move(slot));
  // RFC 8461: the recipient domain's MTA-STS policy first (mail to the relayhost or to an
  // address literal has none); the policy lookup never fails, at worst there is none.
  const Target& t = d.target;
  if (sts_ && !t.relay && !t.is_ip && t.mx_lookup && d.demand != TlsDemand::kOptional) {
    auto ascii = common::mail::domain_to_ascii(t.name);
    if (ascii && common::dns::is_host_name(*ascii)) {
      common::io::Guard alive = s->life.guard();
      sts_->lookup(lower(*ascii), [this, alive, s](const StsResult& r) {
        if (!alive || s->dead) return;
        s->sts = r.policy;
        s->sts_fetch_failed = r.fetch_failed && !r.policy;
        lookup_route(s);
      });
      return;
    }
  }
  lookup_route(s);
}

void Dispatcher::lookup_route(Slot* s) {
  Destination& d = *s->dest;
  common::io::Guard alive = life_.guard();
  s->lookup = std::make_unique<RouteLookup>(resolver_, settings_.self, d.target, [this, s, alive](Route r) {
    if (!alive) return;
    on_route(s, std::move(r));
  });
  s->lookup->start();
}

void Dispatcher::on_route(Slot* s, Route r) {
  destroy_later(base_, std::move(s->lookup));  // we are inside its callback
  if (s->dead) return;
  Destination& d = *s->dest;
  d.self_mx = r.self_mx;
  std::string qid;
  if (!d.queue.empty())
    if (auto it = jobs_.find(d.queue.front().job); it != jobs_.end())
      qid = log::printable(it->second->msg.queue_id, 40);
  if (r.ok() && s->sts) {
    for (const auto& note : apply_sts(d.target.name, *s->sts, &r))
      log::info("%s%smta-sts: %s: %s", qid.c_str(), qid.empty() ? "" : ": ", d.target.name.c_str(),
                note.c_str());
  }
  if (!r.ok()) {
    log::info("%s: %s", d.key.c_str(), r.failure.text.c_str());
    Verdict why = for_demand(d, r.failure);
    while (!d.queue.empty()) {
      Task t = std::move(d.queue.front());
      d.queue.pop_front();
      fail_task(d, t, why, "none");
    }
    remove_slot(s);
    return;
  }
  s->conn = std::make_unique<Connection>(base_, *this, settings_.timeout, settings_.connect_timeout(), tls_,
                                         std::move(r.endpoints), options_for(d));
  slot_of_[s->conn.get()] = s;
  s->conn->set_log_tag(qid);
  watch_tls(s, qid);
  s->conn->start();
}

void Dispatcher::watch_tls(Slot* s, const std::string& log_tag) {
  const Destination& d = *s->dest;
  // Only sessions to a recipient domain's own hosts are that domain's to hear about.
  if (!reporter_ || d.fallback >= 0 || d.target.relay || d.target.is_ip || !d.target.mx_lookup) return;
  auto ascii = common::mail::domain_to_ascii(d.target.name);
  if (!ascii || !common::dns::is_host_name(*ascii)) return;
  std::string domain = lower(*ascii);
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  s->conn->set_tls_report([this, domain, log_tag, sts = s->sts, fetch_failed = s->sts_fetch_failed](
                              const Endpoint& ep, const std::string& result) {
    common::tlsrpt::Session session;
    session.time = static_cast<std::int64_t>(std::time(nullptr));
    session.policy = policy_for(domain, ep, sts, fetch_failed);
    // A session that went as if there were no policy, because its fetch failed.
    session.result = result.empty() && fetch_failed &&
                             session.policy.type == common::tlsrpt::PolicyType::kSts &&
                             session.policy.strings.empty()
                         ? common::tlsrpt::kStsPolicyFetchError
                         : result;
    session.mx = lower(ep.host);
    session.ip = ep.ip;
    reporter_->record(session, log_tag);
  });
}

void Dispatcher::assign(Slot* s, Task t) {
  while (true) {
    auto it = jobs_.find(t.job);
    if (it != jobs_.end() && link_.current(it->second->generation)) break;
    // The queue manager that sent this has gone; its successor sends it again.
    if (it != jobs_.end()) task_done(t.job);
    Destination& d = *s->dest;
    if (d.queue.empty()) {
      go_idle(s);
      return;
    }
    t = std::move(d.queue.front());
    d.queue.pop_front();
  }
  Job& j = *jobs_[t.job];
  common::smtp::Transaction tx;
  tx.sender = j.msg.sender;
  for (auto i : t.rcpts) tx.recipients.push_back(j.msg.recipients[i]);
  tx.size = common::smtp::wire_size(j.msg.data_size + j.signature.size(),
                                    j.msg.data_lines + static_cast<std::uint64_t>(std::count(
                                                           j.signature.begin(), j.signature.end(), '\n')));
  tx.body_8bit = j.msg.body_8bit;
  tx.smtputf8 = j.msg.smtputf8;
  tx.requiretls = j.demand == TlsDemand::kRequire;
  tx.dsn_ret = j.dsn_ret;
  tx.dsn_envid = j.dsn_envid;
  if (!j.dsn.empty())
    for (auto i : t.rcpts) tx.dsn.push_back(j.dsn[i]);
  s->idle_timer.reset();
  s->has_task = true;
  s->task = std::move(t);
  s->conn->send(std::move(tx), j.ref, j.signature);
}

void Dispatcher::go_idle(Slot* s) {
  s->idle_timer.reset(evtimer_new(base_, on_idle_cb, s));
  timeval tv{Settings::kIdleSeconds, 0};
  evtimer_add(s->idle_timer.get(), &tv);
}

void Dispatcher::on_idle_cb(evutil_socket_t, short, void* slot) noexcept {
  auto* s = static_cast<Slot*>(slot);
  s->idle_timer.reset();
  if (s->conn && !s->dead) s->conn->quit();
}

Dispatcher::Slot* Dispatcher::slot_of(Connection& c) {
  auto it = slot_of_.find(&c);
  return it == slot_of_.end() ? nullptr : it->second;
}

void Dispatcher::connection_ready(Connection& c) {
  Slot* s = slot_of(c);
  if (!s || s->dead || s->has_task) return;
  s->opening = false;
  s->idle_timer.reset();
  Destination& d = *s->dest;
  if (d.turn && turn_ready(s)) return;
  if (c.transactions() >= Settings::kMaxMessagesPerConnection) {
    c.quit();
    return;
  }
  if (d.queue.empty()) {
    go_idle(s);
    return;
  }
  Task t = std::move(d.queue.front());
  d.queue.pop_front();
  assign(s, std::move(t));
}

void Dispatcher::connection_sent(Connection& c, std::vector<Verdict> verdicts) {
  Slot* s = slot_of(c);
  if (!s || !s->has_task) {
    log::error("%s: transaction result without a task", c.peer().c_str());
    return;
  }
  s->has_task = false;
  Task t = std::move(s->task);
  if (s->dest->turn && s->dest->turn_left > 0) --s->dest->turn_left;
  auto it = jobs_.find(t.job);
  if (it == jobs_.end()) return;
  Job& j = *it->second;
  // Recipients refused for now go on to a fallback relay together (one transaction).
  std::vector<std::size_t> later;
  std::optional<Verdict> why;
  for (std::size_t k = 0; k < t.rcpts.size() && k < verdicts.size(); ++k) {
    if (verdicts[k].outcome == Outcome::kTemporary && !s->dest->turn &&
        next_fallback(settings_.fallback_relays, t.fallback, s->dest->self_mx, verdicts[k])) {
      later.push_back(t.rcpts[k]);
      if (!why) why = verdicts[k];
      continue;
    }
    record(j, t.rcpts[k], t.fallback >= 0 ? after_fallbacks(t.first_failure, verdicts[k]) : verdicts[k],
           c.peer());
    if (k < c.dsn_passed().size()) j.dsn_passed[t.rcpts[k]] = c.dsn_passed()[k];
  }
  if (why) hand_on(*s->dest, t, later, Verdict{why->outcome, why->status, c.peer() + " said: " + why->text});
  task_done(t.job);
}

void Dispatcher::connection_etrn(Connection&, const common::smtp::Reply&) {}

void Dispatcher::connection_failed(Connection& c, const Verdict& failure) {
  Slot* s = slot_of(c);
  if (!s) return;
  Destination& d = *s->dest;
  Verdict why = for_demand(d, failure);
  // Every server of this destination failed: what waits for it now would fail the same,
  // unless another connection to it works (a server that limits connections per client
  // answers the extra ones 421): then the waiting mail stays for that one.
  bool working = false;
  for (const auto& o : d.slots) working = working || (o.get() != s && !o->dead && !o->opening);
  while (!working && !d.queue.empty()) {
    Task t = std::move(d.queue.front());
    d.queue.pop_front();
    fail_task(d, t, why, "none");
  }
  if (s->has_task) {
    s->has_task = false;
    fail_task(d, s->task, why, "none");
  }
  remove_slot(s);
}

void Dispatcher::connection_closed(Connection& c) {
  Slot* s = slot_of(c);
  if (!s) return;
  Destination& d = *s->dest;
  if (s->has_task) {
    s->has_task = false;
    fail_task(d, s->task, Verdict{Outcome::kTemporary, "4.4.2", "lost connection with " + c.peer()},
              c.peer());
  }
  remove_slot(s);
  kick(d);
}

void Dispatcher::remove_slot(Slot* s) {
  s->dead = true;
  s->idle_timer.reset();
  Destination& d = *s->dest;
  if (s->conn) slot_of_.erase(s->conn.get());
  for (auto it = d.slots.begin(); it != d.slots.end(); ++it) {
    if (it->get() != s) continue;
    std::unique_ptr<Slot> owned = std::move(*it);
    d.slots.erase(it);
    destroy_later(base_, std::move(owned->lookup));
    destroy_later(base_, std::move(owned->conn));
    destroy_later(base_, std::move(owned));
    break;
  }
  // A destination with nothing left goes, on the next turn (callers may still use it).
  std::string key = d.key;
  common::io::Guard alive = life_.guard();
  common::io::run_soon(base_, [this, alive, key] {
    if (!alive) return;
    auto it = dests_.find(key);
    if (it != dests_.end() && it->second->slots.empty() && it->second->queue.empty()) dests_.erase(it);
  });
}

void Dispatcher::fail_task(const Destination& from, const Task& t, const Verdict& v,
                           const std::string& relay) {
  auto it = jobs_.find(t.job);
  if (it == jobs_.end()) return;
  if (!hand_on(from, t, t.rcpts, v))
    for (auto i : t.rcpts)
      record(*it->second, i, t.fallback >= 0 ? after_fallbacks(t.first_failure, v) : v, relay);
  task_done(t.job);
}

void Dispatcher::record(Job& j, std::size_t rcpt, const Verdict& v, const std::string& relay) {
  j.results[rcpt] = v;
  double delay = static_cast<double>(std::time(nullptr) - j.msg.arrival);
  if (delay < 0) delay = 0;
  const std::string& who = j.msg.recipients[rcpt];
  switch (v.outcome) {
    case Outcome::kOk: common::maillog::delivered(j.msg.queue_id, who, relay, delay, v.text); break;
    case Outcome::kTemporary: common::maillog::deferred(j.msg.queue_id, who, relay, delay, v.text); break;
    case Outcome::kPermanent: common::maillog::bounced(j.msg.queue_id, who, relay, delay, v.text); break;
  }
}

void Dispatcher::task_done(std::uint64_t job_id) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return;
  Job& j = *it->second;
  if (--j.open_tasks > 0) return;
  common::ipc::DeliverDone done;
  done.delivery_id = j.msg.delivery_id;
  done.results = std::move(j.results);
  done.dsn_passed = std::move(j.dsn_passed);
  if (done.dsn_passed.size() != done.results.size()) done.dsn_passed.clear();
  if (common::spool::fault::hit("remote.before_reply")) {
    log::warn("fault injection: not answering delivery %llu",
              static_cast<unsigned long long>(done.delivery_id));
  } else if (!link_.send_done(done, j.generation)) {
    log::warn("%s: queue manager went away before the answer; it will retry",
              log::printable(j.msg.queue_id, 40).c_str());
  }
  jobs_.erase(it);
}

}  // namespace delivery::remote
