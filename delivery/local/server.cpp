// The local agent's event loop (see server.hpp): requests that arrive in one loop turn
// are collected and delivered together in a run_soon callback, so one fsync of each
// new/ directory covers them all. Fault point (local(8)): local.before_reply.
#include "delivery/local/server.hpp"

#include <sys/stat.h>

#include <vector>

#include "common/log/log.hpp"
#include "common/spool/fault.hpp"
#include "common/spool/layout.hpp"
#include "delivery/agent.hpp"
#include "delivery/local/batch.hpp"

namespace delivery::local {
namespace {

namespace log = common::log;

// Requests per group commit; more wait for the next loop turn.
constexpr std::size_t kMaxBatch = 128;

class Server {
 public:
  Server(event_base* base, const PreJail& pre)
      : base_(base),
        resolver_(pre.accounts_db, pre.mail_directory),
        names_(pre.hostname),
        deliverer_(resolver_, names_),
        link_(base, pre.local_socket, "local",
              [this](common::ipc::Deliver d, common::io::UniqueFd fd, std::uint64_t gen) {
                on_deliver(std::move(d), std::move(fd), gen);
              }) {}

  void start() { link_.start(); }

 private:
  struct Pending {
    Request req;
    std::uint64_t generation;
  };

  void on_deliver(common::ipc::Deliver d, common::io::UniqueFd fd, std::uint64_t gen) {
    pending_.push_back(Pending{Request{std::move(d), std::move(fd)}, gen});
    if (!scheduled_) {
      scheduled_ = true;
      common::io::run_soon(base_, [this] { process(); });
    }
  }

  void process() {
    scheduled_ = false;
    std::vector<Request> batch;
    std::vector<std::uint64_t> gens;
    std::size_t taken = 0;
    for (; taken < pending_.size() && batch.size() < kMaxBatch; ++taken) {
      Pending& p = pending_[taken];
      // A request from a connection that has gone is not delivered: the queue manager
      // has already put it back and will send it again.
      if (!link_.current(p.generation)) continue;
      batch.push_back(std::move(p.req));
      gens.push_back(p.generation);
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(taken));
    if (!pending_.empty()) {
      scheduled_ = true;
      common::io::run_soon(base_, [this] { process(); });
    }
    if (batch.empty()) return;
    auto answers = deliverer_.deliver(batch);
    if (common::spool::fault::hit("local.before_reply")) {
      log::warn("fault injection: not answering %zu delivery requests", answers.size());
      return;
    }
    for (std::size_t i = 0; i < answers.size(); ++i)
      if (!link_.send_done(answers[i], gens[i]))
        log::warn("%s: queue manager went away before the answer; it will retry",
                  log::printable(batch[i].msg.queue_id, 40).c_str());
  }

  event_base* base_;
  Resolver resolver_;
  NameGenerator names_;
  BatchDeliverer deliverer_;
  AgentLink link_;
  std::vector<Pending> pending_;
  bool scheduled_ = false;
};

}  // namespace

PreJail pre_jail(const common::config::Config& cfg) {
  common::spool::fault::init_from_env();
  // Maildir files 0660 and directories 0770 (mb-vmail:mb-mail), whatever umask we inherit.
  ::umask(007);
  common::spool::Layout layout(cfg);
  return PreJail{layout.local_socket(), layout.accounts_db(), layout.mail, cfg.hostname};
}

int run(const common::config::Config&, PreJail pre) {
  auto base = common::io::new_event_base();
  auto signals = common::io::install_termination_handlers(base.get());
  Server server(base.get(), pre);
  server.start();
  event_base_dispatch(base.get());
  return 0;
}

}  // namespace delivery::local
