// The local domains (see local_domains.hpp).
#include "queue-manager/local_domains.hpp"

#include "common/log/log.hpp"

namespace qmgr {

namespace log = common::log;
using common::accounts::AddressBook;
using common::accounts::MemoryLookup;

namespace {

common::Result<std::unique_ptr<MemoryLookup>> read_domains(common::accounts::Lookup& accounts) {
  auto all = accounts.domains();
  if (!all) return all.status();
  auto m = std::make_unique<MemoryLookup>();
  for (auto& d : *all) m->domain_map.emplace(d.name, std::move(d));
  return m;
}

}  // namespace

LocalDomains::LocalDomains(event_base* base, const common::config::Config& cfg,
                           common::accounts::Lookup& accounts)
    : base_(base), accounts_(accounts), db_(cfg) {
  rules_.hostname = cfg.hostname;
}

common::Status LocalDomains::start() {
  if (!db_.offloaded()) return common::Status::ok();
  MB_TRY(db_.start(base_));
  // Before the loop runs, so the messages found at start are classified at once; if the
  // database cannot be read now, they wait (4.3.0) for the first refresh that can.
  if (auto d = read_domains(accounts_))
    domains_ = std::move(*d);
  else
    log::warn("local domains: %s (read again every second)", d.message().c_str());
  tick_.reset(event_new(base_, -1, EV_PERSIST, tick_cb, this));
  if (!tick_) return common::Status::error("event_new (local domains)");
  timeval second{1, 0};
  evtimer_add(tick_.get(), &second);
  return common::Status::ok();
}

void LocalDomains::tick_cb(evutil_socket_t, short, void* self) noexcept {
  static_cast<LocalDomains*>(self)->refresh();
}

void LocalDomains::refresh() {
  if (refreshing_) return;  // the last one has not come back yet
  auto read = std::make_shared<common::Result<std::unique_ptr<MemoryLookup>>>(common::Status::error(""));
  refreshing_ = db_.submit([this, read] { *read = read_domains(accounts_); },
                           [this, read] {
                             refreshing_ = false;
                             if (*read) domains_ = std::move(**read);  // else the last list serves
                           });
}

common::Result<common::accounts::Transport> LocalDomains::transport(const std::string& address) {
  if (!db_.offloaded()) return AddressBook(accounts_, rules_).transport(address);
  if (!domains_) return common::Status::error("the list of local domains could not be read yet");
  return AddressBook(*domains_, rules_).transport(address);
}

}  // namespace qmgr
