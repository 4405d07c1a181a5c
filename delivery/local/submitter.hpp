// How the local agent's new messages (forwarded copies, alias fan-outs, SRS bounce
// returns, auto-replies, quota warnings) enter the queue: the one way of
// common/spool/submit.hpp, like smtpd's and sendmail's (protocol mailbag-submit, role
// "local"). A message counts as sent only after its SubmitDone ok. The batch sees this
// interface; the agent's loop uses LoopSubmitter, which never blocks it: while the queue
// manager takes its time, local goes on delivering other requests.
#pragma once

#include <event2/event.h>

#include <functional>
#include <string>
#include <vector>

#include "common/io/unique_fd.hpp"
#include "common/result.hpp"
#include "common/spool/queue_file.hpp"
#include "common/spool/submit.hpp"

namespace delivery::local {

class Submitter {
 public:
  virtual ~Submitter() = default;
  // A new queue file for `env` in the drop directory.
  virtual common::Result<common::spool::QueueFileWriter> create(const common::spool::Envelope& env) = 0;
  // Hands every finished file to the queue manager; `done` gets one Status per file, in
  // order (ok: queued and durable), once every file is answered or has failed. It may
  // be called before submit() returns.
  using Done = std::function<void(std::vector<common::Status> results)>;
  virtual void submit(std::vector<common::io::UniqueFd> files, Done done) = 0;
};

// The agent's submitter: one connection to the queue manager on the event loop, made
// when first needed; a file unanswered after `timeout_ms` fails (temporarily).
class LoopSubmitter : public Submitter {
 public:
  // `incoming` is spool/incoming (opened O_PATH before the privilege drop; re-opened
  // from `incoming_path` when invalid), `socket_path` spool/private/submit.
  LoopSubmitter(event_base* base, common::io::UniqueFd incoming, std::string incoming_path,
                const std::string& socket_path, int timeout_ms = 60000)
      : drop_(std::move(incoming), std::move(incoming_path)),
        client_(base, socket_path, "local", timeout_ms) {}

  common::Result<common::spool::QueueFileWriter> create(const common::spool::Envelope& env) override {
    return drop_.create(env);
  }
  void submit(std::vector<common::io::UniqueFd> files, Done done) override;

 private:
  common::spool::DropDir drop_;
  common::spool::SubmitClient client_;
};

// The queue manager's answer to one file as the Status the batch keeps.
common::Status submit_status(const common::Result<common::mail::Verdict>& answer);

}  // namespace delivery::local
