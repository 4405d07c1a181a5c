// The local agent's submissions to the queue manager (see submitter.hpp). UNTRUSTED
// (mildly): the queue manager's frames go through the codec, which refuses anything
// malformed; a broken conversation fails every file still unanswered (temporarily).
#include "delivery/local/submitter.hpp"

#include <fcntl.h>

#include <cerrno>
#include <chrono>

#include "common/ipc/codec.hpp"
#include "common/ipc/messages.hpp"
#include "common/ipc/socket.hpp"

namespace delivery::local {

namespace ipc = common::ipc;
using common::Status;

Submitter::Submitter(common::io::UniqueFd incoming, std::string incoming_path, std::string socket_path,
                     int timeout_ms)
    : incoming_(std::move(incoming)),
      incoming_path_(std::move(incoming_path)),
      socket_path_(std::move(socket_path)),
      timeout_ms_(timeout_ms) {}

common::Result<common::spool::QueueFileWriter> Submitter::create(const common::spool::Envelope& env) {
  if (!incoming_) {
    // O_PATH: the drop directory is write-and-search only for mb-drop (mode 3730).
    incoming_.reset(::open(incoming_path_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!incoming_) return Status::sys("open drop directory " + incoming_path_);
  }
  return common::spool::QueueFileWriter::create(incoming_.get(), env);
}

std::vector<Status> Submitter::submit(std::vector<common::io::UniqueFd>& files) {
  std::vector<Status> out(files.size());
  std::vector<bool> done(files.size(), false);
  if (files.empty()) return out;
  auto fail_all = [&](const Status& why) {
    for (std::size_t i = 0; i < out.size(); ++i)
      if (!done[i]) out[i] = why;
    return out;
  };
  auto sock = ipc::connect_unix(socket_path_);
  if (!sock)
    return fail_all(Status::error("cannot reach the queue manager: " + sock.message(), sock.status().err()));
  ipc::Hello hello;
  hello.protocol = ipc::kProtoSubmit;
  hello.version = ipc::kProtoVersion;
  hello.role = "local";
  Status st = ipc::send_frame(sock->get(), ipc::encode_frame(hello));
  for (std::size_t i = 0; st && i < files.size(); ++i)
    st = ipc::send_frame(sock->get(), ipc::encode_frame(ipc::Submit{i + 1}), files[i].get());
  if (!st) return fail_all(Status::error("submit: " + st.message(), st.err()));

  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
  bool hello_seen = false;
  std::size_t answered = 0;
  while (answered < files.size()) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return fail_all(Status::error("timed out waiting for the queue manager", ETIMEDOUT));
    auto r = ipc::recv_frame_timeout(sock->get(), static_cast<int>(left.count()));
    if (!r) return fail_all(Status::error("queue manager: " + r.message(), r.status().err()));
    if (r->eof) return fail_all(Status::error("the queue manager closed the connection", ECONNRESET));
    auto f = ipc::parse_frame(r->data);
    if (!f) return fail_all(Status::error("queue manager: " + f.message(), EPROTO));
    if (!hello_seen) {
      auto h = ipc::decode<ipc::Hello>(*f);
      if (!h || h->protocol != ipc::kProtoSubmit || h->version != ipc::kProtoVersion)
        return fail_all(Status::error("the queue manager speaks another protocol", EPROTO));
      hello_seen = true;
      continue;
    }
    auto d = ipc::decode<ipc::SubmitDone>(*f);
    if (!d) return fail_all(Status::error("queue manager: " + d.message(), EPROTO));
    if (d->request_id < 1 || d->request_id > files.size())
      return fail_all(Status::error("unexpected answer", EPROTO));
    std::size_t i = d->request_id - 1;
    if (done[i]) continue;  // a duplicate answer
    done[i] = true;
    Status& slot = out[i];
    if (d->verdict.outcome == common::mail::Outcome::kOk)
      slot = Status::ok();
    else
      slot = Status::error("queue manager refused it: " + d->verdict.status + " " + d->verdict.text,
                           d->verdict.outcome == common::mail::Outcome::kPermanent ? EINVAL : EAGAIN);
    ++answered;
  }
  return out;
}

}  // namespace delivery::local
