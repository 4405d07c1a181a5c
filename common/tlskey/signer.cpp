// The key daemon's private-key operations (see signer.hpp). The RSA operations are the
// raw private-key operation (RFC 8017 5.1.2) on a block the caller prepared, with the
// padding OpenSSL asked the caller for: the caller's OpenSSL hashes, encodes and (for
// RSA-PSS) pads, the daemon only does what needs the private key.
#include "common/tlskey/signer.hpp"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdio>

#include "common/tls/key_protocol.hpp"

namespace tlskey {

namespace ipc = common::ipc;
using common::Status;

namespace {

struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

ipc::KeyOpDone fail(const ipc::KeyOp& op, ipc::KeyOpResult r, std::string text) {
  ipc::KeyOpDone d;
  d.request_id = op.request_id;
  d.result = r;
  d.text = std::move(text);
  return d;
}

}  // namespace

Status Signer::load(const std::string& key_file) {
  FILE* f = std::fopen(key_file.c_str(), "re");
  if (!f) return Status::sys(key_file);
  common::tls::PkeyPtr k(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  if (!k) return Status::error(key_file + ": " + common::tls::last_error());
  std::string what;
  bool rsa = false;
  if (EVP_PKEY_is_a(k.get(), "RSA")) {
    rsa = true;
    what = "RSA " + std::to_string(EVP_PKEY_get_bits(k.get()));
  } else if (EVP_PKEY_is_a(k.get(), "EC")) {
    char group[64] = "?";
    std::size_t n = 0;
    EVP_PKEY_get_utf8_string_param(k.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &n);
    what = std::string("EC ") + group;
  } else {
    return Status::error(key_file + ": not an RSA or EC key (" + EVP_PKEY_get0_type_name(k.get()) + ")");
  }
  std::string id = common::tls::key_id(k.get());
  if (id.empty()) return Status::error(key_file + ": cannot encode the public key");
  key_ = std::move(k);
  id_ = std::move(id);
  what_ = std::move(what);
  rsa_ = rsa;
  return Status::ok();
}

ipc::KeyOpDone Signer::answer(const ipc::KeyOp& op) const {
  if (!key_) return fail(op, ipc::KeyOpResult::kFailed, "no key loaded");
  if (op.op == ipc::KeyOpKind::kKeyId) {
    ipc::KeyOpDone d;
    d.request_id = op.request_id;
    d.result = ipc::KeyOpResult::kOk;
    d.key_id = id_;
    return d;
  }
  if (op.key_id != id_) {
    auto d = fail(op, ipc::KeyOpResult::kKeyMismatch,
                  "the key is " + common::tls::short_id(id_) + ", not " + common::tls::short_id(op.key_id));
    d.key_id = id_;
    return d;
  }
  bool want_rsa = op.op != ipc::KeyOpKind::kEcdsa;
  if (want_rsa != rsa_)
    return fail(op, ipc::KeyOpResult::kRefused, "not an operation of a " + what_ + " key");
  auto size = static_cast<std::size_t>(EVP_PKEY_get_size(key_.get()));
  if (op.op == ipc::KeyOpKind::kRsaNone && op.data.size() != size)
    return fail(op, ipc::KeyOpResult::kRefused, "unpadded block is not the modulus size");
  if (op.op == ipc::KeyOpKind::kRsaPkcs1 && op.data.size() + 11 > size)  // RFC 8017 9.2 step 3
    return fail(op, ipc::KeyOpResult::kRefused, "block too long for PKCS #1 v1.5 padding");
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1)
    return fail(op, ipc::KeyOpResult::kFailed, "sign init: " + common::tls::last_error());
  if (rsa_ && EVP_PKEY_CTX_set_rsa_padding(
                  ctx.get(), op.op == ipc::KeyOpKind::kRsaNone ? RSA_NO_PADDING : RSA_PKCS1_PADDING) != 1)
    return fail(op, ipc::KeyOpResult::kFailed, "padding: " + common::tls::last_error());
  std::string sig(size, '\0');
  std::size_t n = sig.size();
  const auto* in = reinterpret_cast<const unsigned char*>(op.data.data());
  if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &n, in, op.data.size()) != 1)
    return fail(op, ipc::KeyOpResult::kFailed, "sign: " + common::tls::last_error());
  sig.resize(n);
  ipc::KeyOpDone d;
  d.request_id = op.request_id;
  d.result = ipc::KeyOpResult::kOk;
  d.key_id = id_;
  d.signature = std::move(sig);
  return d;
}

}  // namespace tlskey
