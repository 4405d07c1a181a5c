// Implementation of `mailctl tls tlsa` (see tlsa.hpp).
#include "mailctl/tlsa.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>

#include "common/dns/records.hpp"
#include "common/tls/tls.hpp"
#include "mailctl/args.hpp"
#include "mailctl/dns_tlsa.hpp"

namespace mailctl {

common::Result<std::string> cert_spki_sha256(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "re");
  if (!f) return common::Status::sys(path);
  common::tls::X509Ptr cert(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  if (!cert) return common::Status::error(path + ": no PEM certificate: " + common::tls::last_error());
  unsigned char* der = nullptr;
  int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &der);
  if (len <= 0) return common::Status::error(path + ": cannot encode the public key");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  int ok = EVP_Digest(der, static_cast<std::size_t>(len), md, &md_len, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  if (ok != 1) return common::Status::error("SHA2-256: " + common::tls::last_error());
  return std::string(reinterpret_cast<const char*>(md), md_len);
}

int cmd_tls_tlsa(Context& ctx, const std::string& host_arg) {
  std::string host = lower(host_arg.empty() ? ctx.cfg.hostname : host_arg);
  if (!host.empty() && host.back() == '.') host.pop_back();
  if (!common::dns::is_host_name(host)) {
    complain(ctx, "tls tlsa: not a host name: " + host);
    return kExitRefused;
  }
  if (ctx.cfg.tls_cert_file.empty()) {
    complain(ctx, "tls tlsa: tls_cert_file is not set: this server offers no TLS to publish a record for");
    return kExitRefused;
  }
  auto digest = cert_spki_sha256(ctx.cfg.tls_cert_file);
  if (!digest) {
    complain(ctx, "tls tlsa: " + digest.message());
    return kExitRefused;
  }
  std::fprintf(ctx.out, "%s\n", tlsa_publish(host, *digest).c_str());
  return kExitOk;
}

}  // namespace mailctl
