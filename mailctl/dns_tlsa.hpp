// check-dns's DANE part, the judging half: the TLSA records at _25._tcp.HOST of each MX
// host (RFC 7672 2.2), their DNSSEC status, and for the hosts that are this server
// whether a record matches the certificate in tls_cert_file, with the exact record to
// publish when none does. Pure; dns_tlsa_test.cpp.
//   RFC 7672 3.1.3: only DANE-TA(2) and DANE-EE(3) records are usable for SMTP.
//   RFC 7671 5.1: "3 1 1" (DANE-EE, SubjectPublicKeyInfo, SHA2-256) is the record to
//   publish: it survives certificate renewals that keep the key.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/dns/records.hpp"
#include "common/dns/tlsa.hpp"

namespace mailctl {

struct TlsaHostCheck {
  std::string host;   // the MX host name
  bool ours = false;  // this server (by name or address)
  common::dns::TlsaAnswer answer;
};

struct TlsaCheck {
  std::vector<TlsaHostCheck> hosts;
  bool validating = false;      // dns_trust_anchor is set: security flags mean something
  std::string own_spki_sha256;  // raw SHA2-256 of tls_cert_file's key ("" if unknown)
  std::string own_note;         // why it is unknown
};

struct TlsaReport {
  std::vector<std::pair<std::string, std::string>> lines;  // key, value
  std::vector<std::string> problems;
  std::vector<std::string> failures;
};

// `local`: the domain is one of this server's (then its own hosts' records are judged).
TlsaReport evaluate_tlsa(const TlsaCheck& c, bool local);

// "_25._tcp.HOST. IN TLSA 3 1 1 <hex>" for a raw SHA2-256 digest of a key.
std::string tlsa_publish(const std::string& host, const std::string& spki_sha256);

// Whether `r` is "3 1 1" with exactly this digest.
bool matches_own_key(const common::dns::TlsaRecord& r, const std::string& spki_sha256);

}  // namespace mailctl
