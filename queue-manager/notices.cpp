// Notices the queue manager writes itself: bounces for failed recipients, the optional
// delay warning, and the one copy of an undeliverable bounce that goes to postmaster.
// RFC 5321 6.2/3.6.3: never a notice about a message with the null sender, except our
// own bounce failing, which goes to postmaster once and then is dropped.
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
}

void Manager::notify_failures(Message* m) {
  std::vector<const Rcpt*> failed;
  for (const auto& r : m->rcpts)
    if (r.state == RcptState::kFailed) failed.push_back(&r);
  if (failed.empty()) return;
  if (!m->sender.empty()) {
    queue_notice(*m, static_cast<int>(NoticeKind::kFailed), failed, m->sender, "bounce");
    return;
  }
  if (m->protocol == "bounce") {
    std::string pm =
        cfg_.postmaster_address.empty() ? "postmaster@" + cfg_.hostname : cfg_.postmaster_address;
    log::warn("%s: undeliverable bounce; a copy goes to %s", m->id.c_str(), pm.c_str());
    queue_notice(*m, static_cast<int>(NoticeKind::kFailed), failed, pm, "double-bounce");
    return;
  }
  log::info("%s: no notice for a message with the null sender", m->id.c_str());
}

void Manager::maybe_warn_delay(Message* m) {
  if (cfg_.delay_warning_time <= 0 || m->warned || m->sender.empty()) return;
  if (now() - m->arrival < cfg_.delay_warning_time) return;
  std::vector<const Rcpt*> pending;
  for (const auto& r : m->rcpts)
    if (r.state == RcptState::kPending) pending.push_back(&r);
  if (pending.empty()) return;
  m->warned = true;
  queue_notice(*m, static_cast<int>(NoticeKind::kDelayed), pending, m->sender, "bounce");
}

void Manager::queue_notice(const Message& m, int kind, const std::vector<const Rcpt*>& rcpts,
                           const std::string& to, const std::string& protocol) {
  auto addr = common::mail::parse_mailbox(to, true);
  if (!addr) {
    log::error("%s: cannot send a notice to <%s>: %s", m.id.c_str(), log::printable(to).c_str(),
               addr.message().c_str());
    return;
  }
  // The original headers, read through the queue file (still there: the caller removes
  // it after this returns).
  std::string headers;
  common::io::UniqueFd fd(::openat(pre_.queue_dir.get(), m.id.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd) {
    std::string head;
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(m.data_size, kMaxHeaders));
    if (common::io::pread_upto(fd.get(), &head, want, static_cast<off_t>(m.data_offset)))
      headers = header_block(head, kMaxHeaders);
  }

  NoticeInput in;
  in.kind = static_cast<NoticeKind>(kind);
  in.msg = &m;
  in.rcpts = rcpts;
  in.hostname = cfg_.hostname;
  in.to = addr->str();
  in.new_id = common::spool::new_queue_id();
  in.original_headers = std::move(headers);
  in.now = now();
  in.expires = m.arrival + policy_.lifetime;
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
  auto w = common::spool::QueueFileWriter::create(pre_.queue_dir.get(), env);
  common::Status st = w ? w->append(text) : w.status();
  if (st) st = w->finish();
  if (!st) {
    log::error("%s: cannot write notice: %s", m.id.c_str(), st.message().c_str());
    return;
  }
  auto pe = common::spool::read_envelope(w->fd());
  if (!pe) {
    log::error("%s: notice failed validation: %s", m.id.c_str(), pe.message().c_str());
    return;
  }
  std::string proc = "/proc/self/fd/" + std::to_string(w->fd());
  if (::linkat(AT_FDCWD, proc.c_str(), pre_.queue_dir.get(), in.new_id.c_str(), AT_SYMLINK_FOLLOW) < 0) {
    log::error("%s: cannot link notice into the queue: %s", m.id.c_str(), std::strerror(errno));
    return;
  }
  log::info("%s: %s notice %s to <%s>", m.id.c_str(),
            kind == static_cast<int>(NoticeKind::kFailed) ? "non-delivery" : "delay", in.new_id.c_str(),
            log::printable(in.to).c_str());
  pending_.push_back(PendingIntake{kInternal, 0, from_envelope(*pe)});
  schedule_commit();
}

}  // namespace qmgr
