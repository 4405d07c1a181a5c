// Writing the notices the Core decides on (core_rounds.cpp: bounces, the delay warning,
// the double bounce to postmaster) into the queue: composed by bounce.cpp with the
// original's header block, written as a queue file with the null sender and linked under
// a new id. The Core makes it durable with the next group commit.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/io/fdio.hpp"
#include "common/log/log.hpp"
#include "common/mail/address.hpp"
#include "common/spool/queue_file.hpp"
#include "common/spool/queue_id.hpp"
#include "queue-manager/bounce.hpp"
#include "queue-manager/manager.hpp"

namespace qmgr {

namespace log = common::log;

namespace {
constexpr std::size_t kMaxHeaders = 64 * 1024;
// RET=FULL returns messages up to this size whole; larger ones get their headers (RFC
// 3461 4.3 leaves the MTA free to return less than the whole message).
constexpr std::uint64_t kMaxReturnedMessage = 2 << 20;
}  // namespace

std::vector<std::uint8_t> Manager::dsn_notify(const Message& m) {
  common::io::UniqueFd fd(::openat(pre_.queue_dir.get(), m.id.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  auto pe = common::spool::read_envelope(fd.get());
  if (!pe || pe->env.dsn.empty()) return {};
  std::vector<std::uint8_t> bits;
  for (const auto& d : pe->env.dsn) bits.push_back(d.notify);
  return bits;
}

std::unique_ptr<Message> Manager::write_notice(const Message& m, NoticeKind kind,
                                               const std::vector<const Rcpt*>& rcpts, const std::string& to,
                                               const std::string& protocol, std::int64_t now,
                                               std::int64_t expires) {
  auto addr = common::mail::parse_mailbox(to, true);
  if (!addr) {
    log::error("%s: cannot send a notice to <%s>: %s", m.id.c_str(), log::printable(to).c_str(),
               addr.message().c_str());
    return nullptr;
  }
  // The original headers, read through the queue file (still there: the caller removes
  // it after this returns).
  std::string headers;
  NoticeInput in;
  bool requiretls = false;
  common::io::UniqueFd fd(::openat(pre_.queue_dir.get(), m.id.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd) {
    std::string head;
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(m.data_size, kMaxHeaders));
    if (common::io::pread_upto(fd.get(), &head, want, static_cast<off_t>(m.data_offset)))
      headers = header_block(head, kMaxHeaders);
    // The DSN requests (RFC 3461): ENVID, ORCPT, RET=FULL; and REQUIRETLS (RFC 8689 5),
    // which the in-memory message does not keep.
    if (auto pe = common::spool::read_envelope(fd.get())) {
      requiretls = pe->env.requiretls;
      if (m.dsn != Message::Dsn::kNone) {
        in.envid = pe->env.dsn_envid;
        for (const Rcpt* r : rcpts) {
          auto i = static_cast<std::size_t>(r - m.rcpts.data());
          in.orcpts.push_back(pe->env.dsn_of(i).orcpt);
        }
        // RFC 8689 5: a notice about a REQUIRETLS message returns its headers only, as if
        // RET=HDRS, whatever RET said: the notice may have to travel less safely.
        if (pe->env.dsn_ret == common::mail::DsnRet::kFull && m.data_size <= kMaxReturnedMessage &&
            kind != NoticeKind::kDelayed && !pe->env.requiretls)
          in.full = static_cast<bool>(common::io::pread_upto(fd.get(), &in.original,
                                                             static_cast<std::size_t>(m.data_size),
                                                             static_cast<off_t>(m.data_offset)));
      }
    }
  }
  if (kind == NoticeKind::kDelivered)
    for (const Rcpt* r : rcpts) {
      auto t = classify(r->address);
      in.relayed.push_back(t && *t == Transport::kRemote);
    }

  in.kind = kind;
  in.msg = &m;
  in.rcpts = rcpts;
  in.hostname = cfg_.hostname;
  in.to = addr->str();
  in.new_id = common::spool::new_queue_id();
  in.original_headers = std::move(headers);
  in.now = now;
  in.expires = expires;
  std::string text = compose_notice(in);

  common::spool::Envelope env;
  env.queue_id = in.new_id;
  env.arrival = in.now;
  env.protocol = protocol;
  env.client = "queue-manager";
  env.body_8bit = true;
  env.smtputf8 = addr->utf8;
  env.sender = "";
  env.recipients = {addr->str()};
  // RFC 8689 5: the notice of a REQUIRETLS message travels with REQUIRETLS too.
  env.requiretls = requiretls;
  auto w = common::spool::QueueFileWriter::create(pre_.queue_dir.get(), env);
  common::Status st = w ? w->append(text) : w.status();
  if (st) st = w->finish();
  if (!st) {
    log::error("%s: cannot write notice: %s", m.id.c_str(), st.message().c_str());
    return nullptr;
  }
  auto pe = common::spool::read_envelope(w->fd());
  if (!pe) {
    log::error("%s: notice failed validation: %s", m.id.c_str(), pe.message().c_str());
    return nullptr;
  }
  std::string proc = "/proc/self/fd/" + std::to_string(w->fd());
  if (::linkat(AT_FDCWD, proc.c_str(), pre_.queue_dir.get(), in.new_id.c_str(), AT_SYMLINK_FOLLOW) < 0) {
    log::error("%s: cannot link notice into the queue: %s", m.id.c_str(), std::strerror(errno));
    return nullptr;
  }
  const char* what = kind == NoticeKind::kFailed    ? "non-delivery"
                     : kind == NoticeKind::kDelayed ? "delay"
                                                    : "success";
  log::info("%s: %s notice %s to <%s>%s", m.id.c_str(), what, in.new_id.c_str(),
            log::printable(in.to).c_str(), requiretls ? " (REQUIRETLS, headers only)" : "");
  return from_envelope(*pe);
}

}  // namespace qmgr
