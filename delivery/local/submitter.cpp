// The local agent's submissions (see submitter.hpp). Every file of a batch is one
// Submit on the shared connection; the batch hears back once all are answered.
#include "delivery/local/submitter.hpp"

#include <cerrno>
#include <memory>

namespace delivery::local {

using common::Status;

Status submit_status(const common::Result<common::mail::Verdict>& answer) {
  if (!answer) return Status::error(answer.message(), answer.status().err() ? answer.status().err() : EIO);
  const common::mail::Verdict& v = *answer;
  if (v.outcome == common::mail::Outcome::kOk) return Status::ok();
  return Status::error("the queue manager refused it: " + v.status + " " + v.text,
                       v.outcome == common::mail::Outcome::kPermanent ? EINVAL : EAGAIN);
}

void LoopSubmitter::submit(std::vector<common::io::UniqueFd> files, Done done) {
  struct Wait {
    std::vector<Status> results;
    std::size_t left = 0;
    Done done;
  };
  auto w = std::make_shared<Wait>();
  w->results.resize(files.size());
  w->done = std::move(done);
  std::size_t sent = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    std::uint64_t id = client_.submit(std::move(files[i]), [w, i](common::Result<common::mail::Verdict> v) {
      w->results[i] = submit_status(v);
      if (--w->left == 0) w->done(std::move(w->results));
    });
    if (id == 0) {
      w->results[i] = Status::error("cannot reach the queue manager", ECONNREFUSED);
      continue;
    }
    ++sent;
    ++w->left;
  }
  // Nothing went out (the queue manager is down): report now.
  if (sent == 0) w->done(std::move(w->results));
}

}  // namespace delivery::local
