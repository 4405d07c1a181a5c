// Intake: new messages from smtpd and sendmail, and smtpd's ETRN requests. Each message
// arrives as an unlinked O_TMPFILE passed over private/submit; the daemon validates the
// envelope, asks the Core whether to take it, links the file into spool/queue under its
// id and hands it to the Core, which answers after the group commit (core_intake.cpp).
// UNTRUSTED: files and frames come from less-privileged processes.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/ipc/socket.hpp"
#include "common/log/log.hpp"
#include "common/spool/fault.hpp"
#include "common/spool/origin.hpp"
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

}  // namespace

void Manager::on_submit_accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self) noexcept {
  static_cast<Manager*>(self)->on_submit_accept(fd);
}

void Manager::on_submit_accept(int fd) {
  std::uint64_t id = next_conn_id_++;
  // Who the peer is, from the kernel: its Hello's role is only a claim. Without root
  // every process runs as one user and there is no boundary; the role decides then.
  long local_uid = pre_.agent_uid[static_cast<int>(Transport::kLocal)];
  if (local_uid >= 0) {
    auto cred = ipc::peer_cred(fd);
    if (cred && static_cast<long>(cred->uid) == local_uid) local_agent_conns_.insert(id);
  }
  submit_conns_[id] = std::make_unique<ipc::Channel>(
      base_, common::io::UniqueFd(fd), ipc::kProtoSubmit, "queue-manager",
      [this, id](const ipc::FrameView& f, common::io::UniqueFd pfd) {
        on_submit_frame(id, f, std::move(pfd));
      },
      [this, id](const Status& why) {
        auto it = submit_conns_.find(id);
        if (it == submit_conns_.end()) return;
        std::string role = it->second->peer_role();
        if (why.message() != "peer closed the connection")
          log::warn("submit connection from %s closed: %s", role.empty() ? "?" : role.c_str(),
                    why.message().c_str());
        // Destroy the channel outside its own callback.
        common::io::run_soon(base_, [this, id] {
          submit_conns_.erase(id);
          local_agent_conns_.erase(id);
        });
      });
}

void Manager::on_submit_frame(std::uint64_t conn_id, const ipc::FrameView& f, common::io::UniqueFd fd) {
  auto it = submit_conns_.find(conn_id);
  if (it == submit_conns_.end()) return;
  ipc::Channel& ch = *it->second;
  if (f.type == static_cast<std::uint16_t>(ipc::MsgType::kEtrn)) {
    auto e = ipc::decode<ipc::Etrn>(f);
    if (!e) {
      log::warn("malformed frame from submitter %s: %s", ch.peer_role().c_str(), e.message().c_str());
      return ch.close(e.status());
    }
    return on_etrn(conn_id, *e);
  }
  if (f.type == static_cast<std::uint16_t>(ipc::MsgType::kAtrn)) {
    auto a = ipc::decode<ipc::Atrn>(f);
    if (!a) {
      log::warn("malformed frame from submitter %s: %s", ch.peer_role().c_str(), a.message().c_str());
      return ch.close(a.status());
    }
    return on_atrn(conn_id, *a, std::move(fd));
  }
  auto msg = ipc::decode<ipc::Submit>(f);
  if (!msg) {
    log::warn("malformed frame from submitter %s: %s", ch.peer_role().c_str(), msg.message().c_str());
    return ch.close(msg.status());
  }
  take_in(conn_id, msg->request_id, std::move(fd));
}

std::optional<std::string> Manager::submitter(std::uint64_t conn_id) {
  auto it = submit_conns_.find(conn_id);
  if (it == submit_conns_.end() || !it->second->open()) return std::nullopt;
  return it->second->peer_role();
}

common::spool::Origin Manager::submitter_origin(std::uint64_t conn_id) {
  bool local = pre_.agent_uid[static_cast<int>(Transport::kLocal)] >= 0 ? local_agent_conns_.contains(conn_id)
                                                                        : submitter(conn_id) == "local";
  return local ? common::spool::Origin::kLocalAgent : common::spool::Origin::kSubmitter;
}

void Manager::answer_submit(std::uint64_t conn_id, std::uint64_t request_id, const Verdict& v,
                            const std::string& queue_id) {
  auto it = submit_conns_.find(conn_id);
  if (it == submit_conns_.end() || !it->second->open()) return;
  ipc::SubmitDone d;
  d.request_id = request_id;
  d.verdict = v;
  d.queue_id = queue_id;
  it->second->send(d);
}

void Manager::take_in(std::uint64_t conn_id, std::uint64_t request_id, common::io::UniqueFd fd) {
  auto reject = [&](const Verdict& v, const char* why) {
    auto role = submitter(conn_id);
    log::error("rejected queue file from %s: %s", role ? role->c_str() : "?", why);
    answer_submit(conn_id, request_id, v, "");
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
  // Labels that carry privileges only from the writer they name (origin.hpp): a
  // submitter claiming the local agent's quota warning or the queue manager's bounce.
  auto claimed = common::spool::claimed_origin(env.protocol, env.client);
  if (!common::spool::may_claim(submitter_origin(conn_id), claimed)) {
    std::string why = std::string("envelope labels reserved for the ") + common::spool::origin_name(claimed);
    return reject(Verdict{Outcome::kPermanent, "5.7.1", "envelope labels reserved for the mail system"},
                  why.c_str());
  }
  if (auto no = core_.admit(env.queue_id, env.data_size, env.recipients)) return reject(no->verdict, no->why);

  if (common::spool::fault::hit("qmgr.before_link"))
    return reject(temp("4.3.0", "cannot queue message"), "injected fault before link");
  std::string proc = "/proc/self/fd/" + std::to_string(fd.get());
  if (::linkat(AT_FDCWD, proc.c_str(), pre_.queue_dir.get(), env.queue_id.c_str(), AT_SYMLINK_FOLLOW) < 0) {
    int e = errno;
    if (e == EEXIST) return reject(temp("4.3.0", "queue id in use, try again"), "queue file exists");
    std::string why = std::string("linkat into queue: ") + std::strerror(e);
    bool full = e == ENOSPC || e == EDQUOT;
    return reject(
        temp(full ? "4.3.1" : "4.3.0", full ? "insufficient system storage" : "cannot queue message"),
        why.c_str());
  }
  common::spool::fault::hit("qmgr.after_link");
  core_.linked(conn_id, request_id, from_envelope(*pe));
}

// RFC 2645 from smtpd, which checked the login and its grants: the waiting mail of the
// domains goes to the remote agent with the passed connection (core_turn.cpp). Only
// smtpd may ask: the connection it passes is a client's.
void Manager::on_atrn(std::uint64_t conn_id, const ipc::Atrn& a, common::io::UniqueFd conn) {
  auto it = submit_conns_.find(conn_id);
  if (it == submit_conns_.end()) return;
  ipc::AtrnDone d;
  d.request_id = a.request_id;
  struct stat st;
  if (it->second->peer_role() != "smtpd" || !conn || ::fstat(conn.get(), &st) < 0 || !S_ISSOCK(st.st_mode)) {
    log::warn("ATRN from %s refused: not smtpd, or no connection passed", it->second->peer_role().c_str());
    return it->second->send(d);
  }
  std::string peer = log::printable(a.login, 100) + " [" + log::printable(a.client, 60) + "]";
  auto n = core_.turn(a.domains, peer, std::move(conn));
  d.ok = n.has_value();
  d.messages = n.value_or(0);
  if (!n) log::warn("ATRN for %s: no remote delivery agent connected", peer.c_str());
  it->second->send(d);
}

// RFC 1985 from smtpd, whose policy allowed the client; the Core applies the limits.
void Manager::on_etrn(std::uint64_t conn_id, const ipc::Etrn& e) {
  auto it = submit_conns_.find(conn_id);
  if (it == submit_conns_.end()) return;
  auto n = core_.etrn(e.client, e.domain, e.subdomains, now());
  ipc::EtrnDone d;
  d.request_id = e.request_id;
  d.ok = n.has_value();
  d.messages = n.value_or(0);
  if (n)
    log::info("ETRN %s%s: %u messages waiting", e.subdomains ? "@" : "", log::printable(e.domain).c_str(),
              *n);
  it->second->send(d);
}

}  // namespace qmgr
