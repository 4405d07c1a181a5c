// Implementation of DKIM key handling (see keys.hpp), all through OpenSSL EVP.
#include "common/dkim/keys.hpp"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "common/mail/base64.hpp"
#include "common/tls/tls.hpp"

namespace common::dkim {

namespace {

Status ssl_error(const std::string& what) { return Status::error(what + ": " + common::tls::last_error()); }

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct CtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};

}  // namespace

const char* algorithm_name(Algorithm a) { return a == Algorithm::kRsa ? "rsa" : "ed25519"; }

Result<Algorithm> parse_algorithm(std::string_view s) {
  if (s == "rsa") return Algorithm::kRsa;
  if (s == "ed25519") return Algorithm::kEd25519;
  return Status::error("unknown algorithm '" + std::string(s) + "' (rsa or ed25519)");
}

const char* signature_algorithm(Algorithm a) {
  return a == Algorithm::kRsa ? "rsa-sha256" : "ed25519-sha256";
}

Result<Pkey> generate_key(Algorithm a) {
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> ctx(
      EVP_PKEY_CTX_new_id(a == Algorithm::kRsa ? EVP_PKEY_RSA : EVP_PKEY_ED25519, nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0) return ssl_error("key generation");
  if (a == Algorithm::kRsa && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), kRsaBits) <= 0)
    return ssl_error("key generation");
  EVP_PKEY* k = nullptr;
  if (EVP_PKEY_keygen(ctx.get(), &k) <= 0) return ssl_error("key generation");
  return Pkey(k);
}

Result<std::string> private_key_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return ssl_error("writing the key");
  char* p = nullptr;
  long n = BIO_get_mem_data(bio.get(), &p);
  return std::string(p, static_cast<std::size_t>(n));
}

Result<Pkey> load_private_key(std::string_view pem, Algorithm a) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return ssl_error("reading the key");
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (!k) return ssl_error("not a PEM private key");
  Pkey key(k);
  int want = a == Algorithm::kRsa ? EVP_PKEY_RSA : EVP_PKEY_ED25519;
  if (EVP_PKEY_base_id(k) != want)
    return Status::error(std::string("the key is not an ") + algorithm_name(a) + " key");
  if (a == Algorithm::kRsa && EVP_PKEY_bits(k) < 1024)
    return Status::error("the RSA key is shorter than 1024 bits (RFC 8301)");
  return key;
}

Result<std::string> public_key_value(EVP_PKEY* key, Algorithm a) {
  if (a == Algorithm::kEd25519) {
    unsigned char raw[64];
    std::size_t n = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key, raw, &n) != 1) return ssl_error("public key");
    return common::mail::encode_base64(std::string_view(reinterpret_cast<const char*>(raw), n));
  }
  int n = i2d_PUBKEY(key, nullptr);
  if (n <= 0) return ssl_error("public key");
  std::string der(static_cast<std::size_t>(n), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_PUBKEY(key, &p) != n) return ssl_error("public key");
  return common::mail::encode_base64(der);
}

std::string key_record_text(Algorithm a, std::string_view p) {
  return std::string("v=DKIM1; k=") + algorithm_name(a) + "; p=" + std::string(p);
}

std::vector<std::string> split_txt(std::string_view text, std::size_t max) {
  std::vector<std::string> out;
  while (text.size() > max) {
    out.emplace_back(text.substr(0, max));
    text.remove_prefix(max);
  }
  out.emplace_back(text);
  return out;
}

std::string txt_record_line(std::string_view domain, std::string_view selector, std::string_view text) {
  std::string line = std::string(selector) + "._domainkey." + std::string(domain) + ". IN TXT";
  // The record text has no quotes or backslashes (tags, base64), so each piece is
  // written as it is.
  for (const auto& s : split_txt(text)) line += " \"" + s + "\"";
  return line;
}

bool valid_selector(std::string_view s) {
  if (s.empty() || s.size() > 200) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.') {
      if (label == 0 || s[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && label > 0);
    if (!ok || ++label > 63) return false;
  }
  return label > 0 && s.back() != '-';
}

}  // namespace common::dkim
