// Implementation of the remote agent's signer client (see signing.hpp).
#include "delivery/remote/signing.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "common/dkim/store.hpp"
#include "common/io/event.hpp"
#include "common/io/fdio.hpp"

namespace delivery::remote {

Signer::Signer(event_base* base, std::string keys_file, std::string socket_path)
    : base_(base),
      keys_file_(std::move(keys_file)),
      client_(base,
              common::ipc::Peer{std::move(socket_path), common::ipc::kProtoSign, "remote", "the DKIM signer"},
              kTimeoutMs) {}

bool Signer::wanted() {
  std::time_t now = std::time(nullptr);
  if (now == checked_) return wanted_;
  checked_ = now;
  // Only the list is read: an active key in it means the domain's mail must be signed.
  auto text = common::io::read_file(keys_file_, common::dkim::kMaxKeysFile);
  if (!text) {
    // No list: no key was ever made. Any other failure keeps signing on (the signer
    // then decides), since going unsigned by mistake is what must not happen.
    wanted_ = text.status().err() != ENOENT;
    return wanted_;
  }
  auto keys = common::dkim::parse_keys(*text);
  wanted_ = !keys || !keys->empty();
  return wanted_;
}

void Signer::sign(const std::string& queue_id, int fd, Done done) {
  common::io::UniqueFd dup(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!dup) {
    auto st = common::Status::sys("dup");
    common::io::run_soon(base_, [done, st] { done(st); });
    return;
  }
  common::ipc::Sign req;
  req.queue_id = queue_id;
  std::uint64_t id = client_.call<common::ipc::SignDone>(req, std::move(dup), done);
  if (id == 0) {
    common::io::run_soon(
        base_, [done] { done(common::Status::error("the DKIM signer is not running", ECONNREFUSED)); });
  }
}

}  // namespace delivery::remote
