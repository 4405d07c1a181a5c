// The caller's side of the TLS key protocol: smtpd and pop3d ask the key daemon
// (mailbag-tlskey, private/tlskey) for each private-key operation of a TLS handshake.
// A blocking round trip with a deadline, since OpenSSL's key hooks are synchronous: the
// daemon answers in about a millisecond, and when it is down or stuck the handshake
// fails after the deadline instead of waiting (the caller logs why).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "common/io/unique_fd.hpp"
#include "common/ipc/messages.hpp"
#include "common/result.hpp"

namespace common::tls {

class KeyClient {
 public:
  // `role` is the caller's name in its Hello ("smtpd", "pop3d").
  KeyClient(std::string socket_path, std::string role, int timeout_ms);

  // One operation. An error when the daemon cannot be reached or does not answer in
  // time; otherwise its answer, whatever the result. The connection is kept for the
  // next call and made again once when it turns out to be gone (a restarted daemon).
  Result<ipc::KeyOpDone> call(ipc::KeyOpKind op, const std::string& key_id, std::string_view data);

  const std::string& socket_path() const { return path_; }

 private:
  Status connect_locked(int timeout_ms);
  Result<ipc::KeyOpDone> exchange_locked(const std::string& frame, std::uint64_t id, int timeout_ms);

  std::mutex mu_;
  std::string path_;
  std::string role_;
  int timeout_ms_;
  io::UniqueFd fd_;
  std::uint64_t next_id_ = 1;
};

}  // namespace common::tls
