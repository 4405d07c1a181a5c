// sendmail's submission to the queue manager (see submit.hpp). Blocking I/O: one
// message, one short conversation. UNTRUSTED: the queue manager's frames are decoded by
// the codec, which refuses anything malformed.
#include "mailctl/sendmail/submit.hpp"

#include <fcntl.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "common/ipc/codec.hpp"
#include "common/ipc/messages.hpp"
#include "common/ipc/socket.hpp"
#include "common/log/log.hpp"

namespace sendmail {
namespace {

namespace ipc = common::ipc;
using common::mail::Outcome;  // the queue manager's verdict

int errno_exit(int err) {
  switch (err) {
    case ENOSPC:
    case EDQUOT:
    case EINTR:
    case EAGAIN: return EX_TEMPFAIL;
    case EACCES:
    case EPERM: return EX_NOPERM;
    default: return EX_CANTCREAT;
  }
}

// Receives the next frame within the deadline and decodes it as T.
template <class T>
common::Result<T> receive(int sock, std::chrono::steady_clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return common::Status::error("timed out waiting for the queue manager", ETIMEDOUT);
  auto r = ipc::recv_frame_timeout(sock, static_cast<int>(left.count()));
  if (!r) return r.status();
  if (r->eof) return common::Status::error("the queue manager closed the connection", ECONNRESET);
  auto f = ipc::parse_frame(r->data);
  if (!f) return f.status();
  return ipc::decode<T>(*f);
}

}  // namespace

Exit submit(const common::spool::Layout& layout, const common::spool::Envelope& env, std::string_view message,
            int timeout_ms) {
  // O_PATH: the drop directory is write-and-search only for mb-drop (mode 3730), so it
  // cannot be opened for reading; O_TMPFILE under it needs only write and search.
  common::io::UniqueFd dir(::open(layout.incoming().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) {
    int e = errno;
    return {errno_exit(e), "cannot open the drop directory " + layout.incoming() + ": " + std::strerror(e)};
  }
  auto w = common::spool::QueueFileWriter::create(dir.get(), env);
  if (!w) return {errno_exit(w.status().err()), "cannot create the queue file: " + w.message()};
  common::Status st = w->append(message);
  if (st) st = w->finish();
  if (!st) return {errno_exit(st.err()), "cannot write the queue file: " + st.message()};

  auto sock = ipc::connect_unix(layout.submit_socket());
  if (!sock) {
    int e = sock.status().err();
    if (e == ENOENT || e == ECONNREFUSED)
      return {EX_TEMPFAIL, "the queue manager is not running (" + sock.message() + "); message not sent"};
    return {errno_exit(e), "cannot reach the queue manager: " + sock.message()};
  }
  ipc::Hello hello;
  hello.protocol = ipc::kProtoSubmit;
  hello.version = ipc::kProtoVersion;
  hello.role = "sendmail";
  common::io::UniqueFd fd = w->release_fd();
  st = ipc::send_frame(sock->get(), ipc::encode_frame(hello));
  if (st) st = ipc::send_frame(sock->get(), ipc::encode_frame(ipc::Submit{1}), fd.get());
  if (!st) return {EX_TEMPFAIL, "cannot talk to the queue manager: " + st.message()};

  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto peer = receive<ipc::Hello>(sock->get(), deadline);
  if (!peer) return {EX_TEMPFAIL, "queue manager: " + peer.message()};
  if (peer->protocol != ipc::kProtoSubmit || peer->version != ipc::kProtoVersion)
    return {EX_SOFTWARE, "the queue manager speaks another protocol version"};
  auto done = receive<ipc::SubmitDone>(sock->get(), deadline);
  if (!done) return {EX_TEMPFAIL, "queue manager: " + done.message() + "; message not sent"};
  if (done->request_id != 1) return {EX_SOFTWARE, "unexpected answer from the queue manager"};
  const auto& v = done->verdict;
  std::string why = common::log::printable(v.status + " " + v.text, 200);
  switch (v.outcome) {
    case Outcome::kOk: return {EX_OK, ""};
    case Outcome::kTemporary: return {EX_TEMPFAIL, "the queue manager could not take the message: " + why};
    case Outcome::kPermanent:
    default: return {EX_DATAERR, "the queue manager refused the message: " + why};
  }
}

}  // namespace sendmail
