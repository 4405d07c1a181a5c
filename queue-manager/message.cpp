// Conversion from a queue file's envelope to the queue manager's Message.
#include "queue-manager/message.hpp"

#include "common/spool/queue_file.hpp"

namespace qmgr {

std::unique_ptr<Message> from_envelope(const common::spool::ParsedEnvelope& pe) {
  const auto& env = pe.env;
  auto m = std::make_unique<Message>();
  m->id = env.queue_id;
  m->arrival = env.arrival;
  m->sender = env.sender;
  m->protocol = env.protocol;
  m->client = env.client;
  m->data_offset = pe.data_offset;
  m->data_size = env.data_size;
  m->data_lines = env.data_lines;
  m->body_8bit = env.body_8bit;
  m->smtputf8 = env.smtputf8;
  // Quarantined by a mail filter: on hold from the start, until the administrator
  // releases it (which writes a state record; a record wins over the file's H).
  m->hold = !env.hold_reason.empty();
  m->hold_reason = env.hold_reason;
  for (const auto& r : env.recipients) m->rcpts.push_back(Rcpt{r, RcptState::kPending, 0, "", ""});
  bool asked =
      env.dsn_ret != common::mail::DsnRet::kUnspecified || !env.dsn_envid.empty() || !env.dsn.empty();
  m->dsn = asked ? Message::Dsn::kAsked : Message::Dsn::kNone;
  return m;
}

}  // namespace qmgr
