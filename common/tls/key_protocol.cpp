// Key fingerprints and KeyOp checks of the TLS key protocol (see key_protocol.hpp).
#include "common/tls/key_protocol.hpp"

#include <openssl/sha.h>
#include <openssl/x509.h>

#include <cstdio>

namespace common::tls {

std::string key_id(const EVP_PKEY* key) {
  if (!key) return "";
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(key, &der);
  if (n <= 0) return "";
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<std::size_t>(n), md);
  OPENSSL_free(der);
  return std::string(reinterpret_cast<const char*>(md), sizeof md);
}

std::string short_id(const std::string& id) {
  if (id.empty()) return "(none)";
  std::string out;
  char b[3];
  for (std::size_t i = 0; i < id.size() && i < 8; ++i) {
    std::snprintf(b, sizeof b, "%02x", static_cast<unsigned char>(id[i]));
    out += b;
  }
  return out;
}

Result<ipc::KeyOp> check_key_op(const ipc::FrameView& frame) {
  auto op = ipc::decode<ipc::KeyOp>(frame);
  if (!op) return op.status();
  bool info = op->op == ipc::KeyOpKind::kKeyId;
  if (op->key_id.size() != kKeyIdSize && !(info && op->key_id.empty()))
    return Status::error("key id is not a SHA-256 digest");
  if (info) {
    if (!op->data.empty()) return Status::error("data with a key id request");
    return op;
  }
  std::size_t max = op->op == ipc::KeyOpKind::kEcdsa ? kMaxDigest : kMaxRsaBlock;
  if (op->data.empty() || op->data.size() > max) return Status::error("data size out of range");
  return op;
}

}  // namespace common::tls
