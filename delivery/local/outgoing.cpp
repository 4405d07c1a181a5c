// Writing and submitting the local agent's own messages (see outgoing.hpp).
#include "delivery/local/outgoing.hpp"

#include <algorithm>

#include "common/io/fdio.hpp"
#include "common/spool/queue_id.hpp"

namespace delivery::local {

common::spool::Envelope local_envelope(const std::string& sender, const std::vector<std::string>& rcpts,
                                       std::int64_t now, bool body_8bit, bool smtputf8) {
  common::spool::Envelope env;
  env.queue_id = common::spool::new_queue_id();
  env.arrival = now;
  env.protocol = common::spool::kProtocolLocal;
  env.client = kClientLocal;
  env.body_8bit = body_8bit;
  env.smtputf8 = smtputf8;
  env.sender = sender;
  env.recipients = rcpts;
  return env;
}

void write_outgoing(Submitter& s, Outgoing& o) {
  auto w = s.create(o.env);
  if (!w) {
    o.status = w.status();
    return;
  }
  common::Status st = w->append(o.head);
  if (st && o.body) {
    // Through user space: the writer counts bytes and lines for the Z record.
    const MessageRef& m = *o.body;
    std::string buf;
    for (std::uint64_t done = 0; st && done < m.size;) {
      std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(m.size - done, 1 << 16));
      st = common::io::pread_upto(m.fd, &buf, want, static_cast<off_t>(m.offset + done));
      if (st && buf.size() != want) st = common::Status::error("queue file shorter than the message", EIO);
      if (st) st = w->append(buf);
      done += want;
    }
  }
  if (st) st = w->finish();
  if (!st) {
    o.status = st;
    return;
  }
  o.fd = w->release_fd();
}

}  // namespace delivery::local
