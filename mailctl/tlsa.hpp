// `mailctl tls tlsa [HOST]`: the DANE record (RFC 7672) an administrator publishes for
// this server - "_25._tcp.HOST. IN TLSA 3 1 1 <SHA2-256 of the key>" for the first
// certificate of tls_cert_file (HOST: the hostname key by default). Also the digest
// that check-dns compares with the MX host's published records.
#pragma once

#include <string>

#include "common/result.hpp"
#include "mailctl/context.hpp"

namespace mailctl {

// The SHA2-256 (raw bytes) of the DER SubjectPublicKeyInfo of the first certificate in
// the PEM file `path` (RFC 6698 2.1.2 selector 1, 2.1.3 matching type 1).
common::Result<std::string> cert_spki_sha256(const std::string& path);

int cmd_tls_tlsa(Context& ctx, const std::string& host);

}  // namespace mailctl
