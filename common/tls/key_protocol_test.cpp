// Tests for the TLS key protocol's shared rules: key ids and the KeyOp checks.
#include "common/tls/key_protocol.hpp"

#include <doctest/doctest.h>
#include <openssl/evp.h>

#include "common/tls/tls.hpp"

using namespace common;
using ipc::KeyOp;
using ipc::KeyOpKind;

namespace {

ipc::FrameView frame_of(const std::string& f) { return *ipc::parse_frame(f); }

Result<KeyOp> check(const KeyOp& op) {
  std::string f = ipc::encode_frame(op);
  return tls::check_key_op(frame_of(f));
}

KeyOp op(KeyOpKind k, std::size_t id_size, std::size_t data_size) {
  KeyOp o;
  o.request_id = 1;
  o.op = k;
  o.key_id = std::string(id_size, 'k');
  o.data = std::string(data_size, 'd');
  return o;
}

}  // namespace

TEST_CASE("key ids name the public key: the same for a key pair and its public half") {
  tls::PkeyPtr k(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  REQUIRE(k);
  std::string id = tls::key_id(k.get());
  CHECK(id.size() == tls::kKeyIdSize);
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(k.get(), &der);
  REQUIRE(n > 0);
  const unsigned char* p = der;
  tls::PkeyPtr pub(d2i_PUBKEY(nullptr, &p, n));
  OPENSSL_free(der);
  REQUIRE(pub);
  CHECK(tls::key_id(pub.get()) == id);
  tls::PkeyPtr other(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  CHECK(tls::key_id(other.get()) != id);
  CHECK(tls::key_id(nullptr).empty());
  CHECK(tls::short_id(id).size() == 16);
  CHECK(tls::short_id("") == "(none)");
}

TEST_CASE("well-formed key operations pass") {
  CHECK(check(op(KeyOpKind::kKeyId, 0, 0)).is_ok());
  CHECK(check(op(KeyOpKind::kKeyId, 32, 0)).is_ok());
  CHECK(check(op(KeyOpKind::kRsaPkcs1, 32, 51)).is_ok());
  CHECK(check(op(KeyOpKind::kRsaNone, 32, 256)).is_ok());
  CHECK(check(op(KeyOpKind::kRsaNone, 32, tls::kMaxRsaBlock)).is_ok());
  CHECK(check(op(KeyOpKind::kEcdsa, 32, 32)).is_ok());
  CHECK(check(op(KeyOpKind::kEcdsa, 32, 64)).is_ok());
}

TEST_CASE("malformed key operations are refused") {
  CHECK(check(op(KeyOpKind::kKeyId, 32, 1)).message() == "data with a key id request");
  CHECK(check(op(KeyOpKind::kKeyId, 31, 0)).message() == "key id is not a SHA-256 digest");
  CHECK(check(op(KeyOpKind::kRsaPkcs1, 0, 51)).message() == "key id is not a SHA-256 digest");
  CHECK(check(op(KeyOpKind::kRsaPkcs1, 33, 51)).message() == "key id is not a SHA-256 digest");
  CHECK(check(op(KeyOpKind::kRsaPkcs1, 32, 0)).message() == "data size out of range");
  CHECK(check(op(KeyOpKind::kRsaNone, 32, tls::kMaxRsaBlock + 1)).message() == "data size out of range");
  CHECK(check(op(KeyOpKind::kEcdsa, 32, 65)).message() == "data size out of range");
  // Another message type, a bad op byte, trailing bytes.
  ipc::Hello h;
  std::string hf = ipc::encode_frame(h);
  CHECK_FALSE(tls::check_key_op(frame_of(hf)).is_ok());
  std::string f = ipc::encode_frame(op(KeyOpKind::kEcdsa, 32, 32));
  std::string bad = f;
  bad[ipc::kHeaderSize + 8] = 9;
  CHECK(tls::check_key_op(frame_of(bad)).message() == "malformed message: bad enum value");
  ipc::FrameView tail = frame_of(f);
  std::string longer = std::string(tail.payload) + "x";
  tail.payload = longer;
  CHECK(tls::check_key_op(tail).message() == "malformed message: trailing bytes");
}
