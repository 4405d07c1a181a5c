// The one way into the queue, for every program that creates mail (smtpd, sendmail, the
// local agent): write an unlinked (O_TMPFILE) queue file in spool/incoming, the drop
// directory its group mb-drop may create in but not list or read; pass the descriptor
// with ipc::Submit over spool/private/submit (protocol mailbag-submit); and count the
// message as accepted only after the queue manager's SubmitDone with an ok verdict, which
// it sends once the file is linked into the queue and fsync'd. Blocking for the tools,
// asynchronous (one long-lived connection) for the daemons. See mailbag-ipc(7).
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <functional>
#include <string>

#include "common/io/unique_fd.hpp"
#include "common/ipc/client.hpp"
#include "common/mail/outcome.hpp"
#include "common/result.hpp"
#include "common/spool/queue_file.hpp"

namespace common::spool {

// The drop directory, spool/incoming.
class DropDir {
 public:
  // `fd` is the directory opened before a privilege drop (O_PATH is enough: creating an
  // O_TMPFILE needs write and search only); when it is invalid, `path` is opened at the
  // first create() and again after every failure to open it.
  DropDir(io::UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

  // A new queue file for `env`: append the message, finish(), then release_fd() and submit.
  Result<QueueFileWriter> create(const Envelope& env);
  const std::string& path() const { return path_; }

 private:
  io::UniqueFd fd_;
  std::string path_;
};

// How the submitting side is known to the queue manager.
ipc::Peer submit_peer(const std::string& socket_path, const std::string& role);

// Blocking: hands one finished queue file to the queue manager and waits at most
// `timeout_ms` for each answer. The Verdict is the queue manager's (ok: queued and
// durable); an error means the conversation failed, with ipc::BlockingClient's err().
Result<mail::Verdict> submit_blocking(const std::string& socket_path, const std::string& role, int file_fd,
                                      int timeout_ms);

// Asynchronous: the daemons' connection to the queue manager on their event loop.
class SubmitClient {
 public:
  // The answer: the queue manager's verdict, or why there is none (AsyncClient's errors:
  // ETIMEDOUT after `timeout_ms`, the connection's error when it broke).
  using Done = std::function<void(Result<mail::Verdict> answer)>;

  // timeout_ms 0: no deadline here (the caller runs its own timer and cancel()s).
  SubmitClient(event_base* base, const std::string& socket_path, const std::string& role, int timeout_ms)
      : client_(base, submit_peer(socket_path, role), timeout_ms) {}

  // Passes `file` (a finished queue file). Returns the request id, or 0 when the queue
  // manager cannot be reached now (`done` is then never called); otherwise `done` is
  // called exactly once, on a later turn of the loop.
  std::uint64_t submit(io::UniqueFd file, Done done);
  void cancel(std::uint64_t id) { client_.cancel(id); }

  // The connection itself: smtpd keeps it open and sends ETRN on it too.
  ipc::AsyncClient& client() { return client_; }

 private:
  ipc::AsyncClient client_;
};

}  // namespace common::spool
