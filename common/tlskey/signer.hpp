// The key daemon's one piece of state: the TLS private key, and the operations it does
// with it for smtpd and pop3d (KeyOp in common/ipc/messages.hpp). No I/O but reading the
// key file, so that every refusal is tested without sockets.
#pragma once

#include <string>

#include "common/ipc/messages.hpp"
#include "common/result.hpp"
#include "common/tls/tls.hpp"

namespace tlskey {

class Signer {
 public:
  // Reads a PEM private key (RSA or EC; anything else is refused). On failure the key
  // held so far, if any, stays.
  common::Status load(const std::string& key_file);
  bool loaded() const { return key_ != nullptr; }
  // SHA-256 of the key's SubjectPublicKeyInfo (common/tls/key_protocol.hpp).
  const std::string& key_id() const { return id_; }
  // "RSA 2048" or "EC prime256v1", for the logs.
  const std::string& describe() const { return what_; }

  // The answer to a checked request (common::tls::check_key_op).
  common::ipc::KeyOpDone answer(const common::ipc::KeyOp& op) const;

 private:
  common::tls::PkeyPtr key_;
  std::string id_;
  std::string what_;
  bool rsa_ = false;
};

}  // namespace tlskey
