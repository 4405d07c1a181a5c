// The queue manager's daemon: the sockets, the event loop and the spool around the
// I/O-free Core (core.hpp), which makes every decision. It owns spool/queue; three kinds
// of peers talk to it over private/ sockets:
//   submitters (smtpd, sendmail) hand in new messages and ETRN requests (intake.cpp),
//   delivery agents (local, remote) take deliveries and report verdicts (dispatch.cpp),
//   mailctl lists and administers the queue (control.cpp),
// notices are written into the queue by notices.cpp, and at start recovery.cpp rebuilds
// the queue from disk. Manager implements the Core's Host over all of that.
#pragma once

#include <event2/event.h>
#include <event2/listener.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "common/accounts/accounts.hpp"
#include "common/config/config.hpp"
#include "common/io/event.hpp"
#include "common/io/unique_fd.hpp"
#include "common/ipc/channel.hpp"
#include "common/spool/layout.hpp"
#include "queue-manager/core.hpp"
#include "queue-manager/local_domains.hpp"
#include "queue-manager/remover.hpp"
#include "queue-manager/state_db.hpp"
#include "queue-manager/syncer.hpp"

namespace qmgr {

// Everything opened before the privilege drop.
struct PreJail {
  common::io::UniqueFd queue_dir;
  common::io::UniqueFd corrupt_dir;
  common::io::UniqueFd submit_listener;
  common::io::UniqueFd agent_listener[kTransports];
  common::io::UniqueFd control_listener;
  // uid each agent socket's peer must have; -1: not checked (not started as root).
  long agent_uid[kTransports] = {-1, -1};
};

PreJail pre_jail(const common::config::Config& cfg);

class Manager final : public Host {
 public:
  Manager(event_base* base, const common::config::Config& cfg, PreJail pre);
  ~Manager() override;
  // Opens the databases (after the drop), rebuilds the queue, starts listening.
  common::Status start();
  // After a reload: the core's settings from the configuration as it is now, and a
  // dispatch round so that shorter retry delays count at once.
  void configure();

  // Host (the Core's view of the spool and the sockets)
  common::Result<Transport> classify(const std::string& address) override;
  FileState send_delivery(std::uint64_t agent_id, const common::ipc::Deliver& d, bool check_size,
                          std::uint64_t size) override;
  void send_turn(std::uint64_t agent_id, const common::ipc::Turn& t, common::io::UniqueFd conn) override;
  void answer_submit(std::uint64_t conn_id, std::uint64_t request_id, const common::mail::Verdict& v,
                     const std::string& queue_id) override;
  std::optional<std::string> submitter(std::uint64_t conn_id) override;
  common::Status unlink(const std::string& id) override;
  void unlink_later(const std::string& id) override;
  void move_aside(const std::string& id, const std::string& why) override;
  std::optional<std::uint64_t> file_size(const std::string& name) override;
  common::Result<std::unique_ptr<Message>> read_queue_file(const std::string& name) override;
  std::vector<std::uint8_t> dsn_notify(const Message& m) override;
  std::unique_ptr<Message> write_notice(const Message& m, NoticeKind kind,
                                        const std::vector<const Rcpt*>& rcpts, const std::string& to,
                                        const std::string& protocol, std::int64_t now,
                                        std::int64_t expires) override;
  void state_put(const Message& m) override { state_->stage_put(m); }
  void state_erase(const std::string& id) override { state_->stage_erase(id); }
  void start_sync() override;
  void request_commit() override;
  void request_commit_later() override;
  void request_dispatch() override;
  void wake_at(std::int64_t at) override;

 private:
  struct Agent {
    Transport transport = Transport::kLocal;
    std::unique_ptr<common::ipc::Channel> ch;
  };

  // intake.cpp
  static void on_submit_accept_cb(evconnlistener*, evutil_socket_t, sockaddr*, int, void*) noexcept;
  void on_submit_accept(int fd);
  void on_submit_frame(std::uint64_t conn_id, const common::ipc::FrameView& f, common::io::UniqueFd fd);
  void take_in(std::uint64_t conn_id, std::uint64_t request_id, common::io::UniqueFd fd);
  // The writer a submit connection may speak for: the local agent or any submitter.
  common::spool::Origin submitter_origin(std::uint64_t conn_id);
  void on_etrn(std::uint64_t conn_id, const common::ipc::Etrn& e);
  void on_atrn(std::uint64_t conn_id, const common::ipc::Atrn& a, common::io::UniqueFd conn);
  static void on_commit_cb(evutil_socket_t, short, void*) noexcept;
  void commit();

  // dispatch.cpp
  static void on_agent_accept_cb(evconnlistener*, evutil_socket_t, sockaddr*, int, void*) noexcept;
  void on_agent_accept(Transport t, int fd);
  void on_agent_frame(std::uint64_t agent_id, const common::ipc::FrameView& f);
  void on_agent_closed(std::uint64_t agent_id, const common::Status& why);
  static void on_dispatch_cb(evutil_socket_t, short, void*) noexcept;
  static void on_wakeup_cb(evutil_socket_t, short, void*) noexcept;

  // control.cpp: mailctl's queue commands
  static void on_control_accept_cb(evconnlistener*, evutil_socket_t, sockaddr*, int, void*) noexcept;
  void on_control_accept(int fd);
  void on_control_frame(std::uint64_t conn_id, const common::ipc::FrameView& f);

  // recovery.cpp
  common::Status recover();

  std::int64_t now() const;

  event_base* base_;
  const common::config::Config& cfg_;
  common::spool::Layout layout_;
  PreJail pre_;
  Core core_;
  std::unique_ptr<common::accounts::Store> accounts_;
  std::unique_ptr<LocalDomains> local_domains_;  // classify(): uses accounts_
  std::unique_ptr<StateDb> state_;
  std::unique_ptr<Remover> remover_;
  std::unique_ptr<Syncer> syncer_;

  common::io::ListenerPtr submit_listener_;
  common::io::ListenerPtr control_listener_;
  common::io::ListenerPtr agent_listener_[kTransports];
  struct ListenerCtx {
    Manager* self;
    Transport t;
  } agent_ctx_[kTransports];

  std::uint64_t next_conn_id_ = 1;  // 0 is Core::kInternal
  std::map<std::uint64_t, std::unique_ptr<common::ipc::Channel>> submit_conns_;
  // Submit connections from the local agent, known by the peer's uid when it connected.
  std::set<std::uint64_t> local_agent_conns_;
  std::map<std::uint64_t, std::unique_ptr<common::ipc::Channel>> control_conns_;
  std::map<std::uint64_t, Agent> agents_;

  common::io::EventPtr commit_ev_;
  bool commit_scheduled_ = false;
  common::io::EventPtr state_retry_ev_;  // retries a failed commit after a second
  common::io::EventPtr dispatch_ev_;
  bool dispatch_scheduled_ = false;
  common::io::EventPtr wakeup_ev_;
  std::int64_t wakeup_at_ = 0;
};

}  // namespace qmgr
