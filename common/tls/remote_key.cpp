// The key hooks that send private-key operations to the key daemon (see remote_key.hpp).
// The RSA_METHOD and EC_KEY_METHOD interfaces are deprecated in OpenSSL 3.0 in favour of
// providers; they still work there for keys with such a method, and take a tenth of a
// provider's code, so this file alone silences the deprecation warnings.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "common/tls/remote_key.hpp"

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <cstring>

#include "common/log/log.hpp"
#include "common/tls/key_protocol.hpp"

namespace common::tls {
namespace {

namespace ipc = common::ipc;
namespace log = common::log;

// What a key's ex_data points to: whom to ask, and the key id to name.
struct Remote {
  std::shared_ptr<KeyClient> client;
  std::string id;
};

void free_remote(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<Remote*>(ptr); }

int rsa_index() {
  static int idx = RSA_get_ex_new_index(0, nullptr, nullptr, nullptr, free_remote);
  return idx;
}
int ec_index() {
  static int idx = EC_KEY_get_ex_new_index(0, nullptr, nullptr, nullptr, free_remote);
  return idx;
}

// One operation; the signature, or empty after logging why (at most once a minute per
// cause: a stopped daemon fails every handshake).
std::string ask(const Remote* r, ipc::KeyOpKind op, std::string_view data) {
  static log::RateLimiter limit(std::chrono::seconds(60), 16);
  if (!r) return "";
  auto done = r->client->call(op, r->id, data);
  if (!done) {
    if (limit.allow("down " + done.message()))
      log::warn("TLS handshake without a signature: key daemon at %s: %s", r->client->socket_path().c_str(),
                done.message().c_str());
    return "";
  }
  if (done->result != ipc::KeyOpResult::kOk || done->signature.empty()) {
    if (limit.allow("refused " + done->text))
      log::warn("TLS handshake without a signature: the key daemon refused: %s%s",
                log::printable(done->text, 200).c_str(),
                done->result == ipc::KeyOpResult::kKeyMismatch
                    ? " (the certificate and the key daemon's key differ: reload both, see mailbag-tlskey(8))"
                    : "");
    return "";
  }
  return std::move(done->signature);
}

int rsa_priv_enc(int flen, const unsigned char* from, unsigned char* to, RSA* rsa, int padding) {
  ipc::KeyOpKind op;
  if (padding == RSA_PKCS1_PADDING)
    op = ipc::KeyOpKind::kRsaPkcs1;
  else if (padding == RSA_NO_PADDING)
    op = ipc::KeyOpKind::kRsaNone;
  else
    return -1;
  auto* r = static_cast<const Remote*>(RSA_get_ex_data(rsa, rsa_index()));
  std::string sig =
      ask(r, op, std::string_view(reinterpret_cast<const char*>(from), static_cast<std::size_t>(flen)));
  if (sig.empty() || sig.size() != static_cast<std::size_t>(RSA_size(rsa))) return -1;
  std::memcpy(to, sig.data(), sig.size());
  return static_cast<int>(sig.size());
}

// Decryption (RSA key exchange) is never offered: only ECDHE suites are configured.
int rsa_priv_dec(int, const unsigned char*, unsigned char*, RSA*, int) { return -1; }

const RSA_METHOD* rsa_method() {
  static RSA_METHOD* m = [] {
    RSA_METHOD* x = RSA_meth_dup(RSA_get_default_method());
    if (!x) return x;
    RSA_meth_set1_name(x, "mailbag-tlskey");
    RSA_meth_set_priv_enc(x, rsa_priv_enc);
    RSA_meth_set_priv_dec(x, rsa_priv_dec);
    return x;
  }();
  return m;
}

int ec_sign(int, const unsigned char* dgst, int dlen, unsigned char* sig, unsigned int* siglen, const BIGNUM*,
            const BIGNUM*, EC_KEY* ec) {
  auto* r = static_cast<const Remote*>(EC_KEY_get_ex_data(ec, ec_index()));
  std::string der =
      ask(r, ipc::KeyOpKind::kEcdsa,
          std::string_view(reinterpret_cast<const char*>(dgst), static_cast<std::size_t>(dlen)));
  if (der.empty() || der.size() > static_cast<std::size_t>(ECDSA_size(ec))) return 0;
  std::memcpy(sig, der.data(), der.size());
  *siglen = static_cast<unsigned int>(der.size());
  return 1;
}

ECDSA_SIG* ec_do_sign(const unsigned char* dgst, int dlen, const BIGNUM*, const BIGNUM*, EC_KEY* ec) {
  auto* r = static_cast<const Remote*>(EC_KEY_get_ex_data(ec, ec_index()));
  std::string der =
      ask(r, ipc::KeyOpKind::kEcdsa,
          std::string_view(reinterpret_cast<const char*>(dgst), static_cast<std::size_t>(dlen)));
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return der.empty() ? nullptr : d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
}

const EC_KEY_METHOD* ec_method() {
  static EC_KEY_METHOD* m = [] {
    EC_KEY_METHOD* x = EC_KEY_METHOD_new(EC_KEY_get_default_method());
    if (!x) return x;
    int (*sign)(int, const unsigned char*, int, unsigned char*, unsigned int*, const BIGNUM*, const BIGNUM*,
                EC_KEY*) = nullptr;
    int (*setup)(EC_KEY*, BN_CTX*, BIGNUM**, BIGNUM**) = nullptr;
    ECDSA_SIG* (*do_sign)(const unsigned char*, int, const BIGNUM*, const BIGNUM*, EC_KEY*) = nullptr;
    EC_KEY_METHOD_get_sign(x, &sign, &setup, &do_sign);
    EC_KEY_METHOD_set_sign(x, ec_sign, setup, ec_do_sign);
    return x;
  }();
  return m;
}

Result<PkeyPtr> rsa_key(const EVP_PKEY* pub, std::unique_ptr<Remote> remote) {
  const RSA* src = EVP_PKEY_get0_RSA(pub);
  const RSA_METHOD* meth = rsa_method();
  if (!src || !meth) return Status::error("RSA key hooks: " + last_error());
  RSA* rsa = RSA_new();
  if (!rsa) return Status::error("RSA_new: " + last_error());
  BIGNUM* n = BN_dup(RSA_get0_n(src));
  BIGNUM* e = BN_dup(RSA_get0_e(src));
  if (!n || !e || RSA_set0_key(rsa, n, e, nullptr) != 1 || RSA_set_method(rsa, meth) != 1 ||
      RSA_set_ex_data(rsa, rsa_index(), remote.get()) != 1) {
    BN_free(n);
    BN_free(e);
    RSA_free(rsa);
    return Status::error("RSA key hooks: " + last_error());
  }
  (void)remote.release();  // freed with the RSA (free_remote)
  PkeyPtr k(EVP_PKEY_new());
  if (!k || EVP_PKEY_assign_RSA(k.get(), rsa) != 1) {
    RSA_free(rsa);
    return Status::error("EVP_PKEY_assign_RSA: " + last_error());
  }
  return k;
}

Result<PkeyPtr> ec_key(const EVP_PKEY* pub, std::unique_ptr<Remote> remote) {
  const EC_KEY* src = EVP_PKEY_get0_EC_KEY(pub);
  const EC_KEY_METHOD* meth = ec_method();
  if (!src || !meth) return Status::error("EC key hooks: " + last_error());
  EC_KEY* ec = EC_KEY_new();
  if (!ec || EC_KEY_set_method(ec, meth) != 1 || EC_KEY_set_group(ec, EC_KEY_get0_group(src)) != 1 ||
      EC_KEY_set_public_key(ec, EC_KEY_get0_public_key(src)) != 1 ||
      EC_KEY_set_ex_data(ec, ec_index(), remote.get()) != 1) {
    EC_KEY_free(ec);
    return Status::error("EC key hooks: " + last_error());
  }
  (void)remote.release();
  PkeyPtr k(EVP_PKEY_new());
  if (!k || EVP_PKEY_assign_EC_KEY(k.get(), ec) != 1) {
    EC_KEY_free(ec);
    return Status::error("EVP_PKEY_assign_EC_KEY: " + last_error());
  }
  return k;
}

}  // namespace

Result<PkeyPtr> remote_key(X509* cert, std::shared_ptr<KeyClient> client) {
  EVP_PKEY* pub = X509_get0_pubkey(cert);
  if (!pub) return Status::error("the certificate has no usable public key");
  auto remote = std::make_unique<Remote>();
  remote->client = std::move(client);
  remote->id = key_id(pub);
  if (remote->id.empty()) return Status::error("cannot encode the certificate's public key");
  if (EVP_PKEY_is_a(pub, "RSA")) return rsa_key(pub, std::move(remote));
  if (EVP_PKEY_is_a(pub, "EC")) return ec_key(pub, std::move(remote));
  return Status::error(std::string("the key daemon signs with RSA and EC keys only, not ") +
                       EVP_PKEY_get0_type_name(pub));
}

}  // namespace common::tls
