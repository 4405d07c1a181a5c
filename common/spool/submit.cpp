// Implementation of queue submission (see submit.hpp). UNTRUSTED (mildly): the queue
// manager's answers go through the IPC clients and the strict codec.
#include "common/spool/submit.hpp"

#include <fcntl.h>

#include <cerrno>

#include "common/ipc/messages.hpp"

namespace common::spool {

Result<QueueFileWriter> DropDir::create(const Envelope& env) {
  if (!fd_) {
    // O_PATH: the drop directory is write-and-search only for mb-drop (mode 3730), so it
    // cannot be opened for reading; O_TMPFILE under it needs only write and search.
    fd_.reset(::open(path_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd_) return Status::sys("cannot open the drop directory " + path_);
  }
  return QueueFileWriter::create(fd_.get(), env);
}

ipc::Peer submit_peer(const std::string& socket_path, const std::string& role) {
  return ipc::Peer{socket_path, ipc::kProtoSubmit, role, "the queue manager"};
}

Result<mail::Verdict> submit_blocking(const std::string& socket_path, const std::string& role, int file_fd,
                                      int timeout_ms) {
  auto c = ipc::BlockingClient::connect(submit_peer(socket_path, role), timeout_ms);
  if (!c) return c.status();
  auto done = c->call<ipc::SubmitDone>(ipc::Submit{1}, file_fd);
  if (!done) return done.status();
  if (done->request_id != 1) return Status::error("the queue manager answered another request", EPROTO);
  return std::move(done->verdict);
}

std::uint64_t SubmitClient::submit(io::UniqueFd file, Done done) {
  return client_.call<ipc::SubmitDone>(ipc::Submit{}, std::move(file),
                                       [done = std::move(done)](Result<ipc::SubmitDone> r) {
                                         if (!r) return done(r.status());
                                         done(std::move(r->verdict));
                                       });
}

}  // namespace common::spool
