// `mailctl check-dns DOMAIN`, the judging half: what the lookups found (DomainCheck,
// filled by check_dns.cpp) becomes the report an administrator reads and the list of
// problems, as an administrator checks a setup with nslookup: MX records, the MX
// hosts' addresses, their reverse (PTR) records, whether this server is the MX. Pure
// (no I/O), unit-tested in dns_report_test.cpp.
//   RFC 5321 5.1: MX preference order; no MX means the domain's own A/AAAA (implicit MX);
//     an MX name must not be an alias (also RFC 2181 10.3).
//   RFC 7505: null MX ("MX 0 ."), alone, means the domain accepts no mail.
//   RFC 7208 3.2: more than one "v=spf1" TXT record is an error (permerror).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/dns/records.hpp"
#include "mailctl/dns_auth.hpp"
#include "mailctl/dns_sts.hpp"
#include "mailctl/dns_tlsa.hpp"

namespace mailctl {

struct AddrCheck {
  std::string ip;
  bool ours = false;  // one of this server's addresses
  common::dns::Lookup ptr_status = common::dns::Lookup::kNoData;
  std::string ptr_error;
  std::vector<std::string> ptr_names;
  std::vector<std::string> confirmed;  // PTR names whose A/AAAA records include `ip`
  bool forward_tempfail = false;       // looking a PTR name up failed temporarily
};

struct HostCheck {
  std::string name;
  std::uint16_t preference = 0;
  bool usable = true;         // an LDH host name (RFC 1123 2.1)
  bool name_is_ours = false;  // our hostname
  std::string cname;          // the name is an alias of this
  common::dns::Lookup a_status = common::dns::Lookup::kNoData;
  common::dns::Lookup aaaa_status = common::dns::Lookup::kNoData;
  std::string error;  // of a failed A/AAAA lookup
  std::vector<AddrCheck> addrs;

  bool ours() const;
};

enum class DomainRole { kLocal, kAlias, kBackup, kUnknown };

struct DomainCheck {
  std::string domain;
  std::string hostname;                // this server's hostname
  std::vector<std::string> our_addrs;  // smtp_listen hosts and interface addresses
  DomainRole role = DomainRole::kUnknown;
  std::string role_note;  // alias target, or why accounts.mdb could not be read

  common::dns::Lookup mx_status = common::dns::Lookup::kOk;
  std::string mx_error;
  bool null_mx = false;          // RFC 7505 record present
  bool implicit_mx = false;      // no MX records: hosts holds the domain itself
  std::vector<HostCheck> hosts;  // MX hosts in preference order (null MX not included)

  common::dns::Lookup txt_status = common::dns::Lookup::kNoData;
  std::string txt_error;
  std::vector<std::string> spf;  // TXT records starting with "v=spf1"

  AuthCheck auth;   // DKIM and DMARC (dns_auth.hpp)
  TlsaCheck tlsa;   // DANE TLSA records of the MX hosts (dns_tlsa.hpp)
  StsDnsCheck sts;  // MTA-STS and TLS reporting records (dns_sts.hpp)
};

struct DnsReport {
  std::string text;                   // what was found, one fact per line
  std::vector<std::string> problems;  // what is wrong, one sentence each
  std::vector<std::string> failures;  // lookups that failed temporarily
  int exit_code = 0;                  // 0 OK, 1 problems, EX_TEMPFAIL incomplete

  // text, then "OK" or the problems (and the failed lookups).
  std::string render() const;
};

DnsReport evaluate(const DomainCheck& c);

}  // namespace mailctl
