// The queue manager's event-driven core. It owns the queue and is the only process that
// touches spool/queue. Three kinds of peers talk to it over private/ sockets:
//   submitters (smtpd, sendmail) hand in new messages (intake.cpp),
//   delivery agents (local, remote) take deliveries and report verdicts (dispatch.cpp),
// and at start it rebuilds the queue from disk (recovery.cpp).
// Group commit: every message taken in during one loop turn is made durable by one
// syncfs(2) of the spool file system at the end of the turn, and only then answered.
#pragma once

#include <event2/event.h>
#include <event2/listener.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/accounts/accounts.hpp"
#include "common/config/config.hpp"
#include "common/io/event.hpp"
#include "common/io/unique_fd.hpp"
#include "common/ipc/channel.hpp"
#include "common/spool/layout.hpp"
#include "queue-manager/queue.hpp"
#include "queue-manager/remover.hpp"
#include "queue-manager/retry.hpp"
#include "queue-manager/state_db.hpp"
#include "queue-manager/syncer.hpp"

namespace qmgr {

enum class Transport : std::uint8_t { kLocal = 0, kRemote = 1 };
inline constexpr int kTransports = 2;
inline const char* transport_name(Transport t) { return t == Transport::kLocal ? "local" : "remote"; }

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

class Manager {
 public:
  Manager(event_base* base, const common::config::Config& cfg, PreJail pre);
  ~Manager();
  // Opens the databases (after the drop), rebuilds the queue, starts listening.
  common::Status start();

  // Largest recipients list per Deliver request (keeps frames far below kMaxFrame).
  static constexpr std::size_t kMaxRcptsPerDelivery = 50;
  // Deliveries outstanding per agent connection.
  static constexpr int kMaxInflightPerAgent = 64;

 private:
  struct SubmitConn {
    std::uint64_t id = 0;
    std::unique_ptr<common::ipc::Channel> ch;
  };
  static constexpr std::uint64_t kInternal = 0;  // conn_id of notices the manager writes
  struct PendingIntake {
    std::uint64_t conn_id = 0;
    std::uint64_t request_id = 0;
    std::unique_ptr<Message> msg;
  };
  struct Agent {
    std::uint64_t id = 0;
    Transport transport = Transport::kLocal;
    std::unique_ptr<common::ipc::Channel> ch;
    int inflight = 0;
  };
  struct Inflight {
    std::string msg_id;
    std::vector<std::size_t> rcpts;
    std::uint64_t agent_id = 0;
  };

  // intake.cpp
  static void on_submit_accept_cb(evconnlistener*, evutil_socket_t, sockaddr*, int, void*) noexcept;
  void on_submit_accept(int fd);
  void on_submit_frame(std::uint64_t conn_id, const common::ipc::FrameView& f, common::io::UniqueFd fd);
  void reply_submit(std::uint64_t conn_id, std::uint64_t request_id, const common::mail::Verdict& v,
                    const std::string& queue_id);
  void take_in(std::uint64_t conn_id, std::uint64_t request_id, common::io::UniqueFd fd);
  void schedule_commit();
  static void on_commit_cb(evutil_socket_t, short, void*) noexcept;
  void commit();
  void on_synced(int err);

  // dispatch.cpp
  static void on_agent_accept_cb(evconnlistener*, evutil_socket_t, sockaddr*, int, void*) noexcept;
  void on_agent_accept(Transport t, int fd);
  void on_agent_frame(std::uint64_t agent_id, const common::ipc::FrameView& f);
  void on_agent_closed(std::uint64_t agent_id, const common::Status& why);
  void schedule_dispatch();
  static void on_dispatch_cb(evutil_socket_t, short, void*) noexcept;
  void dispatch();
  bool dispatch_one(Message* m);
  Agent* agent_with_room(Transport t);
  common::Result<Transport> classify(const std::string& address);
  void end_round(Message* m);
  void complete(Message* m);
  void arm_wakeup();
  // bounce/notices (notices.cpp)
  void notify_failures(Message* m);
  void maybe_warn_delay(Message* m);
  void queue_notice(const Message& m, int kind, const std::vector<const Rcpt*>& rcpts, const std::string& to,
                    const std::string& protocol);
  static void on_wakeup_cb(evutil_socket_t, short, void*) noexcept;

  // control.cpp: mailctl queue commands, and ETRN from smtpd
  static void on_control_accept_cb(evconnlistener*, evutil_socket_t, sockaddr*, int, void*) noexcept;
  void on_control_accept(int fd);
  void on_control_frame(std::uint64_t conn_id, const common::ipc::FrameView& f);
  common::ipc::QueueCommandReply run_command(const common::ipc::QueueCommand& c);
  std::uint32_t flush_domain(std::string domain, bool subdomains);
  void on_etrn(std::uint64_t conn_id, const common::ipc::Etrn& e);

  // recovery.cpp
  common::Status recover();
  void move_aside(const std::string& name, const std::string& why);

  std::int64_t now() const;

  event_base* base_;
  const common::config::Config& cfg_;
  common::spool::Layout layout_;
  PreJail pre_;
  RetryPolicy policy_;
  std::unique_ptr<common::accounts::Accounts> accounts_;
  std::unique_ptr<StateDb> state_;
  Queue queue_;
  std::unique_ptr<Remover> remover_;

  common::io::ListenerPtr submit_listener_;
  common::io::ListenerPtr control_listener_;
  std::map<std::uint64_t, std::unique_ptr<common::ipc::Channel>> control_conns_;
  common::io::ListenerPtr agent_listener_[kTransports];
  struct ListenerCtx {
    Manager* self;
    Transport t;
  } agent_ctx_[kTransports];

  std::uint64_t next_conn_id_ = 1;
  std::map<std::uint64_t, std::unique_ptr<SubmitConn>> submit_conns_;
  std::vector<PendingIntake> pending_;  // linked, waiting for the next sync
  std::vector<PendingIntake> syncing_;  // the batch the syncer is making durable
  std::unique_ptr<Syncer> syncer_;
  bool removals_dirty_ = false;
  common::io::EventPtr commit_ev_;
  bool commit_scheduled_ = false;
  common::io::EventPtr state_retry_ev_;  // retries a failed state commit after a second

  std::map<std::uint64_t, std::unique_ptr<Agent>> agents_;
  std::unordered_map<std::uint64_t, Inflight> inflight_;
  std::uint64_t next_delivery_id_ = 1;
  std::deque<std::string> waiting_[kTransports];  // ready, but no agent had room
  common::io::EventPtr dispatch_ev_;
  bool dispatch_scheduled_ = false;
  common::io::EventPtr wakeup_ev_;
  std::int64_t wakeup_at_ = 0;
};

}  // namespace qmgr
