// New messages from the local agent: forwarded copies, alias fan-outs, SRS bounce
// returns, auto-replies and quota warnings enter the queue exactly as smtpd's and
// sendmail's do (design.md "Message submission"): an unlinked queue file created in
// spool/incoming (the agent's group mb-drop may create there, not list or read), then
// ipc::Submit over spool/private/submit (protocol mailbag-submit, role "local") and the
// queue manager's SubmitDone. A message counts as sent only after its SubmitDone ok.
// Blocking: one short conversation per batch, every file of the batch pipelined on it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/io/unique_fd.hpp"
#include "common/result.hpp"
#include "common/spool/queue_file.hpp"

namespace delivery::local {

class Submitter {
 public:
  // `incoming` is spool/incoming (opened O_PATH before the privilege drop; re-opened
  // from `incoming_path` when invalid), `socket_path` spool/private/submit.
  Submitter(common::io::UniqueFd incoming, std::string incoming_path, std::string socket_path,
            int timeout_ms = 60000);

  // A new queue file for `env` in the drop directory.
  common::Result<common::spool::QueueFileWriter> create(const common::spool::Envelope& env);

  // Hands every finished file to the queue manager and waits for all answers (in any
  // order). One Status per file, in order: ok means queued and durable.
  std::vector<common::Status> submit(std::vector<common::io::UniqueFd>& files);

 private:
  common::io::UniqueFd incoming_;
  std::string incoming_path_;
  std::string socket_path_;
  int timeout_ms_;
};

}  // namespace delivery::local
