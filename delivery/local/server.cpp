// The local agent's event loop (see server.hpp): requests that arrive in one loop turn
// are collected and delivered together in a run_soon callback, so one fsync of each
// new/ directory covers them all. A batch that sends new messages (a forward) is
// answered when the queue manager has taken them; the loop goes on meanwhile. Fault
// point (local(8)): local.before_reply.
#include "delivery/local/server.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <set>
#include <string>
#include <vector>

#include "common/config/reload.hpp"
#include "common/log/log.hpp"
#include "common/mail/srs.hpp"
#include "common/pg/backend.hpp"
#include "common/spool/fault.hpp"
#include "common/spool/layout.hpp"
#include "delivery/agent.hpp"
#include "delivery/local/batch.hpp"

namespace delivery::local {
namespace {

namespace log = common::log;

// Requests per group commit; more wait for the next loop turn.
constexpr std::size_t kMaxBatch = 128;
// How often users flagged "mailbox full" are checked for room again.
constexpr int kFlagRecheckSeconds = 60;

RecipientsConfig recipients_config(const common::config::Config& cfg, const PreJail& pre) {
  RecipientsConfig rc;
  rc.accounts_path = pre.accounts_db;
  rc.mail_root = pre.mail_directory;
  rc.recipient_delimiter = cfg.recipient_delimiter;
  rc.postmaster_address = cfg.postmaster_address;
  rc.hostname = pre.hostname;
  rc.srs_secret = pre.srs_secret;
  if (common::pg::enabled(cfg))
    rc.open = [cfg]() -> common::Result<std::unique_ptr<common::accounts::Lookup>> {
      auto a = common::pg::open_accounts(cfg, false);
      if (!a) return a.status();
      return std::unique_ptr<common::accounts::Lookup>(std::move(*a));
    };
  return rc;
}

LocalPolicy local_policy(const common::config::Config& cfg, const PreJail& pre) {
  LocalPolicy p;
  p.hostname = pre.hostname;
  p.quota_bounce = cfg.quota_exceeded == common::config::QuotaExceeded::kBounce;
  p.warning_percent = cfg.quota_warning_percent;
  p.quota_flags_dir = pre.quota_flags;
  p.srs_secret = pre.srs_secret;
  p.delimiter = cfg.recipient_delimiter;
  return p;
}

class Server {
 public:
  Server(event_base* base, const common::config::Config& cfg, PreJail& pre)
      : base_(base),
        recipients_(recipients_config(cfg, pre)),
        names_(pre.hostname),
        submitter_(base, std::move(pre.incoming_fd), pre.incoming, pre.submit_socket),
        deliverer_(recipients_, names_, &submitter_, local_policy(cfg, pre)),
        link_(base, pre.local_socket, "local",
              [this](common::ipc::Deliver d, common::io::UniqueFd fd, std::uint64_t gen) {
                on_deliver(std::move(d), std::move(fd), gen);
              }) {}

  // After a reload: the keys local reads, for the next deliveries.
  void configure(const common::config::Config& cfg, const PreJail& pre) {
    recipients_.set_config(recipients_config(cfg, pre));
    deliverer_.set_policy(local_policy(cfg, pre));
  }

  void start() {
    link_.start();
    flag_timer_.reset(evtimer_new(base_, flag_cb, this));
    MB_CHECK(flag_timer_ != nullptr, "evtimer_new for the quota flag re-check");
    check_flags();
  }

 private:
  static void flag_cb(evutil_socket_t, short, void* self) noexcept {
    static_cast<Server*>(self)->check_flags();
  }
  void check_flags() {
    deliverer_.recheck_full_flags(::time(nullptr));
    timeval t{kFlagRecheckSeconds, 0};
    evtimer_add(flag_timer_.get(), &t);
  }

  struct Pending {
    Request req;
    std::uint64_t generation;
  };

  void on_deliver(common::ipc::Deliver d, common::io::UniqueFd fd, std::uint64_t gen) {
    pending_.push_back(Pending{Request{std::move(d), std::move(fd)}, gen});
    schedule();
  }

  void schedule() {
    if (scheduled_) return;
    scheduled_ = true;
    common::io::run_soon(base_, [this] { process(); });
  }

  void process() {
    scheduled_ = false;
    std::vector<Request> batch;
    std::vector<std::uint64_t> gens;
    std::vector<std::string> ids;
    std::vector<Pending> later;
    for (Pending& p : pending_) {
      // A request from a connection that has gone is not delivered: the queue manager
      // has already put it back and will send it again.
      if (!link_.current(p.generation)) continue;
      // A message whose earlier batch still waits for the queue manager waits too: its
      // files of that batch are not yet in new/, where check_duplicates would look.
      if (batch.size() >= kMaxBatch || in_flight_.count(p.req.msg.queue_id)) {
        later.push_back(std::move(p));
        continue;
      }
      ids.push_back(p.req.msg.queue_id);
      batch.push_back(std::move(p.req));
      gens.push_back(p.generation);
    }
    pending_ = std::move(later);
    if (batch.empty()) return;
    if (pending_.size() > 0 && batch.size() >= kMaxBatch) schedule();
    for (const auto& id : ids) in_flight_.insert(id);
    // The answers come now, or - when the batch sends new messages - once the queue
    // manager has answered them; the loop serves other requests meanwhile.
    deliverer_.deliver(std::move(batch), [this, gens = std::move(gens), ids = std::move(ids)](
                                             std::vector<common::ipc::DeliverDone> answers) {
      for (const auto& id : ids) in_flight_.erase(in_flight_.find(id));
      if (!pending_.empty()) schedule();
      reply(answers, gens, ids);
    });
  }

  void reply(const std::vector<common::ipc::DeliverDone>& answers, const std::vector<std::uint64_t>& gens,
             const std::vector<std::string>& ids) {
    if (common::spool::fault::hit("local.before_reply")) {
      log::warn("fault injection: not answering %zu delivery requests", answers.size());
      return;
    }
    for (std::size_t i = 0; i < answers.size(); ++i)
      if (!link_.send_done(answers[i], gens[i]))
        log::warn("%s: queue manager went away before the answer; it will retry",
                  log::printable(ids[i], 40).c_str());
  }

  event_base* base_;
  Recipients recipients_;
  NameGenerator names_;
  LoopSubmitter submitter_;
  BatchDeliverer deliverer_;
  AgentLink link_;
  std::vector<Pending> pending_;
  std::multiset<std::string> in_flight_;  // queue ids of batches still being delivered
  bool scheduled_ = false;
  common::io::EventPtr flag_timer_;
};

}  // namespace

PreJail pre_jail(const common::config::Config& cfg) {
  common::spool::fault::init_from_env();
  // Maildir files 0660 and directories 0770 (mb-vmail:mb-mail), whatever umask we inherit.
  ::umask(007);
  common::spool::Layout layout(cfg);
  PreJail pre;
  pre.local_socket = layout.local_socket();
  pre.submit_socket = layout.submit_socket();
  pre.incoming = layout.incoming();
  // O_PATH: mb-drop may create in the drop directory (mode 3730) but not read it.
  pre.incoming_fd.reset(::open(pre.incoming.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!pre.incoming_fd)
    log::warn("drop directory %s: %s (forwards and auto-replies wait until it exists)", pre.incoming.c_str(),
              std::strerror(errno));
  pre.accounts_db = layout.accounts_db();
  pre.quota_flags = layout.quota_flags();
  pre.mail_directory = layout.mail;
  pre.hostname = cfg.hostname;
  if (pre.hostname.empty()) {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) == 0) pre.hostname = buf;
  }
  auto secret = common::mail::srs::load_secret(layout.srs_secret());
  if (secret)
    pre.srs_secret = std::move(*secret);
  else
    log::warn("SRS secret: %s (mail forwarded to other domains keeps its sender; run mailctl init)",
              secret.message().c_str());
  return pre;
}

int run(common::config::Config& cfg, PreJail pre) {
  auto base = common::io::new_event_base();
  auto signals = common::io::install_termination_handlers(base.get());
  common::config::Reloader reloader(base.get(), &cfg, "local");
  Server server(base.get(), cfg, pre);
  reloader.on_reload([&](const common::config::Config&) { server.configure(cfg, pre); });
  server.start();
  event_base_dispatch(base.get());
  return 0;
}

}  // namespace delivery::local
