// Tests for the key daemon's Signer: it signs what the protocol allows with the key it
// holds, and refuses a stale key id, an operation of another key type, and bad sizes.
#include "common/tlskey/signer.hpp"

#include <doctest/doctest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "common/tls/key_protocol.hpp"

using namespace common;
using ipc::KeyOp;
using ipc::KeyOpKind;
using ipc::KeyOpResult;

namespace {

struct KeyFile {
  std::string path;
  tls::PkeyPtr key;
  KeyFile(const char* type, const char* arg) {
    if (std::string(type) == "RSA")
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
    else
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, type, arg));
    REQUIRE(key);
    char tmpl[] = "/tmp/signer_test.XXXXXX";
    int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    path = tmpl;
    FILE* f = fdopen(fd, "w");
    REQUIRE(PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1);
    std::fclose(f);
  }
  ~KeyFile() { ::unlink(path.c_str()); }
};

KeyOp make(KeyOpKind k, const std::string& id, std::string data) {
  KeyOp o;
  o.request_id = 42;
  o.op = k;
  o.key_id = id;
  o.data = std::move(data);
  return o;
}

std::string sha256(const std::string& s) {
  unsigned char md[32];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  return std::string(reinterpret_cast<char*>(md), 32);
}

// Verifies `sig` over the raw `tbs` with the public key and the given RSA padding (0: EC).
bool verify(EVP_PKEY* k, const std::string& tbs, const std::string& sig, int padding) {
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(nullptr, k, nullptr);
  bool ok = c && EVP_PKEY_verify_init(c) == 1 &&
            (padding == 0 || EVP_PKEY_CTX_set_rsa_padding(c, padding) == 1) &&
            EVP_PKEY_verify(c, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                            reinterpret_cast<const unsigned char*>(tbs.data()), tbs.size()) == 1;
  EVP_PKEY_CTX_free(c);
  return ok;
}

}  // namespace

TEST_CASE("an EC key signs digests and refuses RSA operations") {
  KeyFile kf("EC", "P-256");
  tlskey::Signer s;
  CHECK_FALSE(s.loaded());
  CHECK(s.answer(make(KeyOpKind::kKeyId, "", "")).result == KeyOpResult::kFailed);  // no key yet
  REQUIRE(s.load(kf.path).is_ok());
  CHECK(s.describe() == "EC prime256v1");
  CHECK(s.key_id() == tls::key_id(kf.key.get()));
  auto info = s.answer(make(KeyOpKind::kKeyId, "", ""));
  CHECK(info.result == KeyOpResult::kOk);
  CHECK(info.key_id == s.key_id());
  CHECK(info.request_id == 42);
  std::string dgst = sha256("hello");
  auto d = s.answer(make(KeyOpKind::kEcdsa, s.key_id(), dgst));
  REQUIRE(d.result == KeyOpResult::kOk);
  CHECK(verify(kf.key.get(), dgst, d.signature, 0));
  CHECK(s.answer(make(KeyOpKind::kRsaPkcs1, s.key_id(), dgst)).result == KeyOpResult::kRefused);
  CHECK(s.answer(make(KeyOpKind::kRsaNone, s.key_id(), dgst)).result == KeyOpResult::kRefused);
}

TEST_CASE("an RSA key does PKCS #1 v1.5 and unpadded operations, checking sizes") {
  KeyFile kf("RSA", nullptr);
  tlskey::Signer s;
  REQUIRE(s.load(kf.path).is_ok());
  CHECK(s.describe() == "RSA 2048");
  std::string block = sha256("digest info stand-in");
  auto d = s.answer(make(KeyOpKind::kRsaPkcs1, s.key_id(), block));
  REQUIRE(d.result == KeyOpResult::kOk);
  CHECK(d.signature.size() == 256);
  CHECK(verify(kf.key.get(), block, d.signature, RSA_PKCS1_PADDING));
  // Unpadded: exactly the modulus size, below the modulus (leading zero byte).
  std::string raw(256, '\x11');
  raw[0] = 0;
  auto r = s.answer(make(KeyOpKind::kRsaNone, s.key_id(), raw));
  REQUIRE(r.result == KeyOpResult::kOk);
  CHECK(verify(kf.key.get(), raw, r.signature, RSA_NO_PADDING));
  CHECK(s.answer(make(KeyOpKind::kRsaNone, s.key_id(), raw.substr(1))).result == KeyOpResult::kRefused);
  CHECK(s.answer(make(KeyOpKind::kRsaPkcs1, s.key_id(), std::string(246, 'x'))).result ==
        KeyOpResult::kRefused);
  CHECK(s.answer(make(KeyOpKind::kEcdsa, s.key_id(), block)).result == KeyOpResult::kRefused);
}

TEST_CASE("a stale key id gets a clear refusal naming the key held") {
  KeyFile a("EC", "P-256"), b("EC", "P-256");
  tlskey::Signer s;
  REQUIRE(s.load(a.path).is_ok());
  std::string old_id = s.key_id();
  REQUIRE(s.load(b.path).is_ok());  // a reload with a new key
  auto d = s.answer(make(KeyOpKind::kEcdsa, old_id, sha256("x")));
  CHECK(d.result == KeyOpResult::kKeyMismatch);
  CHECK(d.signature.empty());
  CHECK(d.key_id == s.key_id());
  CHECK(d.text.find(tls::short_id(s.key_id())) != std::string::npos);
}

TEST_CASE("a failed load keeps the key held") {
  KeyFile a("EC", "P-256");
  tlskey::Signer s;
  REQUIRE(s.load(a.path).is_ok());
  std::string id = s.key_id();
  CHECK_FALSE(s.load("/nonexistent/key.pem").is_ok());
  char tmpl[] = "/tmp/signer_garbage.XXXXXX";
  int fd = mkstemp(tmpl);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, "not a key\n", 10) == 10);
  ::close(fd);
  CHECK_FALSE(s.load(tmpl).is_ok());
  ::unlink(tmpl);
  KeyFile ed("ED25519", nullptr);
  auto st = s.load(ed.path);
  CHECK_FALSE(st.is_ok());
  CHECK(st.message().find("not an RSA or EC key") != std::string::npos);
  CHECK(s.key_id() == id);
  CHECK(s.loaded());
}
