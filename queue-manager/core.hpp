// The queue manager's decisions, without I/O: what to do with a new message, when to
// answer its submitter, which agent gets which recipients, what a verdict or a lost agent
// means, when to retry, bounce, warn or give up, and what hold, release, delete, flush and
// ETRN do. It is driven like smtpd's Session: the daemon (manager.hpp) feeds it events
// with the time, and it asks for file-system and socket work through Host, which the
// daemon implements over the spool and its channels and the scenario tests record.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/io/unique_fd.hpp"
#include "common/ipc/messages.hpp"
#include "common/mail/outcome.hpp"
#include "common/result.hpp"
#include "queue-manager/bounce.hpp"
#include "queue-manager/etrn_limit.hpp"
#include "queue-manager/queue.hpp"
#include "queue-manager/retry.hpp"

namespace qmgr {

enum class Transport : std::uint8_t { kLocal = 0, kRemote = 1 };
inline constexpr int kTransports = 2;
inline const char* transport_name(Transport t) { return t == Transport::kLocal ? "local" : "remote"; }

// What a queue file looked like when a delivery was about to read it.
enum class FileState : std::uint8_t { kOk, kMissing, kDamaged };

// The I/O the core asks for. Calls are synchronous and must not call back into the core.
class Host {
 public:
  virtual ~Host() = default;
  // Which transport delivers to `address` (local domain or not).
  virtual common::Result<Transport> classify(const std::string& address) = 0;
  // Sends `d` with a read-only fd of its queue file to agent `agent_id`. With
  // `check_size`, a file whose size is not `size` is reported damaged and not sent.
  virtual FileState send_delivery(std::uint64_t agent_id, const common::ipc::Deliver& d, bool check_size,
                                  std::uint64_t size) = 0;
  // ODMR: sends `t` with the connection `conn` to remote agent `agent_id`, ahead of the
  // deliveries it names.
  virtual void send_turn(std::uint64_t agent_id, const common::ipc::Turn& t, common::io::UniqueFd conn) = 0;
  virtual void answer_submit(std::uint64_t conn_id, std::uint64_t request_id, const common::mail::Verdict& v,
                             const std::string& queue_id) = 0;
  // The submitter's role ("smtpd", "sendmail") while its connection is open.
  virtual std::optional<std::string> submitter(std::uint64_t conn_id) = 0;
  // The queue file goes now (on the loop), or later on the remover's thread.
  virtual common::Status unlink(const std::string& id) = 0;
  virtual void unlink_later(const std::string& id) = 0;
  virtual void move_aside(const std::string& id, const std::string& why) = 0;  // to spool/corrupt
  // At start: the size of queue file `name` if it is a regular file (a symlink is not
  // followed), and its envelope read and validated (the error says why not).
  virtual std::optional<std::uint64_t> file_size(const std::string& name) = 0;
  virtual common::Result<std::unique_ptr<Message>> read_queue_file(const std::string& name) = 0;
  // Writes and links a notice about `m` to `to` into the queue (not yet durable); returns
  // it as a fresh message, or nullptr (logged) if it could not be written.
  virtual std::unique_ptr<Message> write_notice(const Message& m, NoticeKind kind,
                                                const std::vector<const Rcpt*>& rcpts, const std::string& to,
                                                const std::string& protocol, std::int64_t now,
                                                std::int64_t expires) = 0;
  // The NOTIFY bits of each recipient of `m` (RFC 3461 4.1; 0: not given), read from its
  // queue file; empty when the file asks for nothing or cannot be read.
  virtual std::vector<std::uint8_t> dsn_notify(const Message& m) = 0;
  // Staged state records (queue.mdb), written by the next commit.
  virtual void state_put(const Message& m) = 0;
  virtual void state_erase(const std::string& id) = 0;
  // Makes everything linked or removed so far durable; answers with Core::synced().
  virtual void start_sync() = 0;
  // Wants Core::commit() / Core::dispatch() called at the end of this loop turn (or a
  // commit a second later), or
  // Core::wake() at UNIX time `at`.
  virtual void request_commit() = 0;
  virtual void request_commit_later() = 0;  // in a second (after a failure)
  virtual void request_dispatch() = 0;
  virtual void wake_at(std::int64_t at) = 0;
};

struct CoreSettings {
  RetryPolicy retry;
  std::uint64_t max_data_size = 0;      // message_size_limit plus the header slack
  std::int64_t delay_warning_time = 0;  // 0: no delay warnings
  std::string postmaster;               // where a failed bounce goes
  EtrnLimits etrn;
  // relay_domain_settings max_queued=: bytes of mail the queue may hold for each of these
  // (lower-case) relay domains; a message that would pass it is refused (4.3.1, temporary).
  std::map<std::string, std::uint64_t> domain_max_queued;
  // relay_wakeup_address (lower case): smtpd released the queues it asked for when it
  // took the message; the recipient is then done without a delivery.
  std::string wakeup_address;
};

class Core {
 public:
  Core(Host& host, CoreSettings s) : host_(host), s_(std::move(s)), etrn_limiter_(s_.etrn) {}
  // New settings after a reload: they apply to every decision from now on (retries,
  // lifetimes and warnings of the messages already queued too).
  void set_settings(CoreSettings s) {
    s_ = std::move(s);
    etrn_limiter_.set_limits(s_.etrn);
  }

  // Largest recipients list per Deliver request (keeps frames far below kMaxFrame).
  static constexpr std::size_t kMaxRcptsPerDelivery = 50;
  // Deliveries outstanding per agent connection: local writes to disk, where 64 keep
  // it busy; remote waits on other servers (a transaction takes from a millisecond to
  // seconds) and limits itself per destination (remote_destination_concurrency), so it
  // gets more: with 64 it spent its time waiting with idle connections.
  static constexpr int kMaxInflightPerAgent[kTransports] = {64, 256};
  static constexpr std::uint64_t kInternal = 0;  // conn_id of notices the core writes

  // --- intake (core_intake.cpp)
  // Whether a validated envelope may be linked: nullopt, or the refusal and its reason.
  struct Refusal {
    common::mail::Verdict verdict;
    const char* why;
  };
  std::optional<Refusal> admit(const std::string& queue_id, std::uint64_t data_size,
                               const std::vector<std::string>& recipients = {}) const;
  // Bytes queued (and being taken in) for `domain`, counted for limited domains only.
  std::uint64_t queued_bytes(const std::string& domain) const;
  // The message's file is linked into the queue: it is answered after the next sync.
  void linked(std::uint64_t conn_id, std::uint64_t request_id, std::unique_ptr<Message> m);
  // End of a loop turn: starts a sync if one is due and none runs.
  void commit();
  // The sync started by commit() ended (0 or an errno).
  void synced(int err);
  // --- start-up (core_recovery.cpp): rebuilds the queue from the names in spool/queue
  // and the state records (`bad_records`: ids whose record does not decode).
  struct Recovered {
    std::size_t from_records = 0, from_files = 0, damaged = 0, stale_records = 0;
  };
  Recovered recover(std::vector<std::string> names, std::vector<std::unique_ptr<Message>> records,
                    const std::vector<std::string>& bad_records, std::int64_t now);
  // One message rebuilt from the spool: in flight before means pending and maybe
  // delivered; then ready, deferred or held as its state says.
  void adopt(std::unique_ptr<Message> m, std::int64_t now);
  std::size_t pending_intake() const { return pending_.size() + syncing_.size(); }

  // --- delivery (core_dispatch.cpp)
  void agent_ready(std::uint64_t agent_id, Transport t);
  void agent_lost(std::uint64_t agent_id, std::int64_t now);
  // A verdict from an agent; an error is a protocol violation (the caller drops the agent).
  common::Status delivered(std::uint64_t agent_id, const common::ipc::DeliverDone& done, std::int64_t now);
  void dispatch(std::int64_t now);
  // Moves due deferred messages to the ready list and asks to be woken for the next.
  void wake(std::int64_t now);

  // --- administration and ETRN (core_admin.cpp)
  common::ipc::QueueCommandReply command(const common::ipc::QueueCommand& c, std::int64_t now);
  common::ipc::QueueListReply list(const common::ipc::QueueList& req) const;
  // RFC 1985 from smtpd: nullopt when `client` is over its limit.
  std::optional<std::uint32_t> etrn(const std::string& client, const std::string& domain, bool subdomains,
                                    std::int64_t now);
  // RFC 2645 from smtpd (core_turn.cpp): hands the waiting recipients of `domains` (at
  // most kMaxTurnMessages messages) with the ODMR connection `conn` to a remote agent.
  // Returns how many messages go (0: none waits, `conn` is dropped), or nullopt when no
  // remote agent is connected.
  static constexpr std::size_t kMaxTurnMessages = 200;
  std::optional<std::uint32_t> turn(const std::vector<std::string>& domains, const std::string& peer,
                                    common::io::UniqueFd conn);

  const Queue& queue() const { return queue_; }
  Message* find(const std::string& id) { return queue_.find(id); }

 private:
  struct PendingIntake {
    std::uint64_t conn_id = 0;
    std::uint64_t request_id = 0;
    std::unique_ptr<Message> msg;
  };
  struct Agent {
    Transport transport = Transport::kLocal;
    int inflight = 0;
  };
  struct Inflight {
    std::string msg_id;
    std::vector<std::size_t> rcpts;
    std::uint64_t agent_id = 0;
  };

  // core_intake.cpp: the queue and its domain index change together.
  Message* enqueue(std::unique_ptr<Message> m);
  // core_dispatch.cpp: a Deliver request for `m` with a new id and no recipients yet
  // (the normal dispatch and an ATRN turn fill those).
  common::ipc::Deliver new_delivery(const Message& m);
  // core_dispatch.cpp: the queue file of `m` is gone or no longer matches its envelope
  // (found when a delivery was handed out): set aside, and the message dropped once no
  // delivery of it is in flight.
  void unusable_file(Message* m, FileState fs);
  void drop(Message* m);
  // core_rounds.cpp
  void end_round(Message* m, std::int64_t now);
  void complete(Message* m, std::int64_t now);
  void notify_failures(Message* m, std::int64_t now);
  void notify_success(Message* m, std::int64_t now);
  std::vector<std::uint8_t> notify_bits(Message* m);
  void maybe_warn_delay(Message* m, std::int64_t now);
  void notice(const Message& m, NoticeKind kind, const std::vector<const Rcpt*>& rcpts, const std::string& to,
              const std::string& protocol, std::int64_t now);
  void remove_deleted(Message* m);
  // core_dispatch.cpp
  bool dispatch_one(Message* m, std::int64_t now);
  Agent* agent_with_room(Transport t, std::uint64_t* id);
  // core_admin.cpp
  std::uint32_t flush_domain(const std::string& domain, bool subdomains, bool limited, std::int64_t now);

  Host& host_;
  CoreSettings s_;
  Queue queue_;
  DomainIndex index_;
  EtrnLimiter etrn_limiter_;
  std::map<std::string, std::uint64_t> queued_bytes_;  // domain_max_queued domains only

  std::vector<PendingIntake> pending_;  // linked, waiting for the next sync
  std::vector<PendingIntake> syncing_;  // the batch being made durable
  bool sync_running_ = false;
  bool removals_dirty_ = false;

  std::map<std::uint64_t, Agent> agents_;
  std::unordered_map<std::uint64_t, Inflight> inflight_;
  std::uint64_t next_delivery_id_ = 1;
  std::uint64_t next_turn_id_ = 1;
  std::deque<std::string> waiting_[kTransports];  // ready, but no agent had room
};

}  // namespace qmgr
