// Intake: new messages from smtpd and sendmail. Each arrives as an unlinked O_TMPFILE
// passed over private/submit; the queue manager validates the envelope, links the file
// into spool/queue under its id, and at the end of the loop turn makes the whole batch
// durable with one syncfs(2) before answering any of them (group commit).
// UNTRUSTED: files and frames come from less-privileged processes.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/ipc/socket.hpp"
#include "common/log/log.hpp"
#include "common/log/maillog.hpp"
#include "common/spool/fault.hpp"
#include "common/spool/queue_file.hpp"
#include "queue-manager/manager.hpp"

namespace qmgr {

using common::Status;
using common::mail::Outcome;
using common::mail::Verdict;
namespace log = common::log;
namespace ipc = common::ipc;

namespace {

Verdict temp(const std::string& status, const std::string& text) {
  return Verdict{Outcome::kTemporary, status, text};
}

// Small slack over message_size_limit for the Received header the submitter prepends.
constexpr std::uint64_t kHeaderSlack = 64 * 1024;

}  // namespace

void Manager::on_submit_accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self) noexcept {
  static_cast<Manager*>(self)->on_submit_accept(fd);
}

void Manager::on_submit_accept(int fd) {
  std::uint64_t id = next_conn_id_++;
  auto conn = std::make_unique<SubmitConn>();
  conn->id = id;
  conn->ch = std::make_unique<ipc::Channel>(
      base_, common::io::UniqueFd(fd), ipc::kProtoSubmit, "queue-manager",
      [this, id](const ipc::FrameView& f, common::io::UniqueFd pfd) {
        on_submit_frame(id, f, std::move(pfd));
      },
      [this, id](const Status& why) {
        auto it = submit_conns_.find(id);
        if (it == submit_conns_.end()) return;
        std::string role = it->second->ch->peer_role();
        if (why.message() != "peer closed the connection")
          log::warn("submit connection from %s closed: %s", role.empty() ? "?" : role.c_str(),
                    why.message().c_str());
        // Destroy the channel outside its own callback.
        common::io::run_soon(base_, [this, id] { submit_conns_.erase(id); });
      });
  submit_conns_[id] = std::move(conn);
}

void Manager::on_submit_frame(std::uint64_t conn_id, const ipc::FrameView& f, common::io::UniqueFd fd) {
  auto it = submit_conns_.find(conn_id);
  if (it == submit_conns_.end()) return;
  if (f.type == static_cast<std::uint16_t>(ipc::MsgType::kEtrn)) {
    auto e = ipc::decode<ipc::Etrn>(f);
    if (!e) {
      log::warn("malformed frame from submitter %s: %s", it->second->ch->peer_role().c_str(),
                e.message().c_str());
      it->second->ch->close(e.status());
      return;
    }
    on_etrn(conn_id, *e);
    return;
  }
  auto msg = ipc::decode<ipc::Submit>(f);
  if (!msg) {
    log::warn("malformed frame from submitter %s: %s", it->second->ch->peer_role().c_str(),
              msg.message().c_str());
    it->second->ch->close(msg.status());
    return;
  }
  take_in(conn_id, msg->request_id, std::move(fd));
}

void Manager::reply_submit(std::uint64_t conn_id, std::uint64_t request_id, const Verdict& v,
                           const std::string& queue_id) {
  auto it = submit_conns_.find(conn_id);
  if (it == submit_conns_.end() || !it->second->ch->open()) return;
  ipc::SubmitDone d;
  d.request_id = request_id;
  d.verdict = v;
  d.queue_id = queue_id;
  it->second->ch->send(d);
}

void Manager::take_in(std::uint64_t conn_id, std::uint64_t request_id, common::io::UniqueFd fd) {
  auto reject = [&](const Verdict& v, const char* why) {
    auto it = submit_conns_.find(conn_id);
    std::string role = it != submit_conns_.end() ? it->second->ch->peer_role() : "?";
    log::error("rejected queue file from %s: %s", role.c_str(), why);
    reply_submit(conn_id, request_id, v, "");
  };
  if (!fd) return reject(temp("4.3.0", "no message file passed"), "no file descriptor");
  struct stat st;
  if (::fstat(fd.get(), &st) < 0)
    return reject(temp("4.3.0", "cannot stat message file"), std::strerror(errno));
  // Only a fresh unlinked file will do: never take over a file that has a name
  // somewhere else.
  if (!S_ISREG(st.st_mode) || st.st_nlink != 0)
    return reject(temp("4.3.0", "message file refused"), "not an unlinked regular file");
  auto pe = common::spool::read_envelope(fd.get());
  if (!pe) return reject(temp("4.3.0", "message file refused"), pe.message().c_str());
  const auto& env = pe->env;
  if (env.recipients.empty()) return reject(temp("4.3.0", "message file refused"), "no recipients");
  if (env.data_size > static_cast<std::uint64_t>(cfg_.message_size_limit) + kHeaderSlack)
    return reject(Verdict{Outcome::kPermanent, "5.3.4", "message too big"}, "over message_size_limit");
  if (queue_.find(env.queue_id))
    return reject(temp("4.3.0", "queue id in use, try again"), "duplicate queue id");
  for (const auto* list : {&pending_, &syncing_})
    for (const auto& p : *list)
      if (p.msg->id == env.queue_id)
        return reject(temp("4.3.0", "queue id in use, try again"), "duplicate queue id");

  if (common::spool::fault::hit("qmgr.before_link"))
    return reject(temp("4.3.0", "cannot queue message"), "injected fault before link");
  std::string proc = "/proc/self/fd/" + std::to_string(fd.get());
  if (::linkat(AT_FDCWD, proc.c_str(), pre_.queue_dir.get(), env.queue_id.c_str(), AT_SYMLINK_FOLLOW) < 0) {
    int e = errno;
    if (e == EEXIST) return reject(temp("4.3.0", "queue id in use, try again"), "queue file exists");
    std::string why = std::string("linkat into queue: ") + std::strerror(e);
    return reject(temp(e == ENOSPC || e == EDQUOT ? "4.3.1" : "4.3.0",
                       e == ENOSPC || e == EDQUOT ? "insufficient system storage" : "cannot queue message"),
                  why.c_str());
  }
  common::spool::fault::hit("qmgr.after_link");

  pending_.push_back(PendingIntake{conn_id, request_id, from_envelope(*pe)});
  schedule_commit();
}

void Manager::schedule_commit() {
  if (commit_scheduled_) return;
  commit_scheduled_ = true;
  event_active(commit_ev_.get(), EV_TIMEOUT, 0);
}

void Manager::on_commit_cb(evutil_socket_t, short, void* self) noexcept {
  static_cast<Manager*>(self)->commit();
}

void Manager::commit() {
  commit_scheduled_ = false;
  // One syncfs covers every file linked since the last one, their directory entries and
  // the removals of finished messages: group commit. While it runs (on the syncer's
  // thread) the loop goes on taking in the next batch.
  if (syncer_ && !syncer_->busy() && (!pending_.empty() || removals_dirty_)) {
    common::spool::fault::hit("qmgr.before_sync");
    removals_dirty_ = false;
    syncing_.swap(pending_);
    syncer_->start(common::spool::fault::hit("qmgr.sync"));
  }
  if (state_ && state_->dirty()) {
    Status st = state_->commit();
    if (!st) {
      log::error("queue state database: %s (retrying in 1s)", st.message().c_str());
      timeval one{1, 0};
      event_add(state_retry_ev_.get(), &one);
    }
  }
}

void Manager::on_synced(int e) {
  std::vector<PendingIntake> batch;
  batch.swap(syncing_);
  if (e != 0) {
    log::error("syncfs of the spool failed: %s; %zu new messages refused", std::strerror(e), batch.size());
    for (auto& p : batch) {
      if (p.conn_id == kInternal) {
        // Our own notice: keep it, a later sync will cover it.
        pending_.push_back(std::move(p));
        continue;
      }
      ::unlinkat(pre_.queue_dir.get(), p.msg->id.c_str(), 0);
      reply_submit(p.conn_id, p.request_id,
                   temp(e == ENOSPC ? "4.3.1" : "4.3.0", "cannot make message durable, try again"), "");
    }
    if (!pending_.empty()) {
      timeval one{1, 0};
      event_add(state_retry_ev_.get(), &one);
    }
    return;
  }
  common::spool::fault::hit("qmgr.after_sync");
  for (auto& p : batch) {
    if (p.conn_id == kInternal) {
      Message* m = queue_.insert(std::move(p.msg));
      common::maillog::queued(m->id, m->sender, m->data_size, m->rcpts.size(), "queue-manager");
      queue_.make_ready(m);
      continue;
    }
    auto it = submit_conns_.find(p.conn_id);
    if (it == submit_conns_.end() || !it->second->ch->open()) {
      // The submitter is gone, so its client never saw a 250 and will send again:
      // keeping this copy would only make a duplicate.
      log::warn("%s: submitter went away before the commit; message discarded", p.msg->id.c_str());
      ::unlinkat(pre_.queue_dir.get(), p.msg->id.c_str(), 0);
      removals_dirty_ = true;
      continue;
    }
    Message* m = queue_.insert(std::move(p.msg));
    common::maillog::queued(m->id, m->sender, m->data_size, m->rcpts.size(), it->second->ch->peer_role());
    reply_submit(p.conn_id, p.request_id, Verdict{Outcome::kOk, "2.0.0", "queued"}, m->id);
    queue_.make_ready(m);
  }
  schedule_dispatch();
  // What arrived while this sync ran is the next batch.
  if (!pending_.empty() || removals_dirty_) schedule_commit();
}

}  // namespace qmgr
