// Implementation of check-dns's DANE judgement (see dns_tlsa.hpp). Host names come from
// the DNS; they pass through terminal_safe() before they are shown.
#include "mailctl/dns_tlsa.hpp"

#include "mailctl/queue_format.hpp"

namespace mailctl {

using common::dns::Lookup;
using common::dns::Security;

std::string tlsa_publish(const std::string& host, const std::string& spki_sha256) {
  return common::dns::tlsa_owner(host, 25) + ". IN TLSA 3 1 1 " + common::dns::to_hex(spki_sha256);
}

bool matches_own_key(const common::dns::TlsaRecord& r, const std::string& spki_sha256) {
  return r.usage == common::dns::kDaneEe && r.selector == common::dns::kSelSpki &&
         r.mtype == common::dns::kMatchSha256 && !spki_sha256.empty() && r.data == spki_sha256;
}

namespace {

class Judge {
 public:
  Judge(const TlsaCheck& c, bool local) : c_(c), local_(local) {}
  TlsaReport run() {
    for (const auto& h : c_.hosts) host(h);
    return std::move(r_);
  }

 private:
  void line(const std::string& v) { r_.lines.emplace_back(first_ ? "TLSA" : "", v), first_ = false; }
  std::string publish(const std::string& host) const { return tlsa_publish(host, c_.own_spki_sha256); }
  void host(const TlsaHostCheck& h);
  void own_host(const TlsaHostCheck& h, const std::string& owner);

  const TlsaCheck& c_;
  bool local_;
  bool first_ = true;
  TlsaReport r_;
};

void Judge::host(const TlsaHostCheck& h) {
  const std::string owner = terminal_safe(common::dns::tlsa_owner(h.host, 25));
  const auto& a = h.answer;
  if (a.status == Lookup::kTempFail) {
    r_.failures.push_back("TLSA of " + owner + ": " + terminal_safe(a.error));
    return;
  }
  if (a.status != Lookup::kOk) {
    // No DANE for this host: worth a word only for this server's own MX name.
    if (!local_ || !h.ours) return;
    if (!c_.own_spki_sha256.empty())
      line(owner + ": none; to use DANE, sign the zone (DNSSEC) and publish: " + publish(h.host));
    else
      line(owner + ": none; no record to suggest: " + terminal_safe(c_.own_note));
    return;
  }
  std::string sec = !c_.validating                    ? "not validated: no dns_trust_anchor"
                    : a.security == Security::kSecure ? "DNSSEC-signed"
                                                      : "NOT DNSSEC-signed";
  for (const auto& r : a.records) {
    std::string text = terminal_safe(common::dns::tlsa_text(r));
    if (!common::dns::usable_for_smtp(r)) text += " (unusable for SMTP)";
    line(owner + ": " + text + " (" + sec + ")");
  }
  if (a.malformed > 0)
    line(owner + ": " + std::to_string(a.malformed) + " malformed record(s): " + terminal_safe(a.error));
  if (c_.validating && a.security != Security::kSecure)
    r_.problems.push_back("the TLSA records at " + owner +
                          " are not DNSSEC-signed, so senders ignore them (RFC 7672 2.2): sign the zone");
  if (local_ && h.ours) own_host(h, owner);
}

// This server's own MX name: a published record must match our certificate, or DANE
// senders will not deliver here at all (RFC 7672 2.2).
void Judge::own_host(const TlsaHostCheck& h, const std::string& owner) {
  if (c_.own_spki_sha256.empty()) {
    if (!c_.own_note.empty())
      line("cannot compare with this server's certificate: " + terminal_safe(c_.own_note));
    return;
  }
  bool usable = false, matched = false, other_forms = false;
  for (const auto& r : h.answer.records) {
    if (!common::dns::usable_for_smtp(r)) continue;
    usable = true;
    if (matches_own_key(r, c_.own_spki_sha256)) matched = true;
    if (!(r.usage == common::dns::kDaneEe && r.selector == common::dns::kSelSpki &&
          r.mtype == common::dns::kMatchSha256))
      other_forms = true;
  }
  if (matched) {
    line(owner + ": matches this server's certificate (tls_cert_file)");
    return;
  }
  if (other_forms) {
    // DANE-TA and other forms depend on the chain or the whole certificate: not judged.
    line(owner + ": not a 3 1 1 record of this server's key; the other forms are not checked here");
    return;
  }
  if (!usable) {
    r_.problems.push_back("no TLSA record at " + owner +
                          " is usable for SMTP (RFC 7672 3.1.3: only DANE-TA and DANE-EE), so senders "
                          "require TLS but cannot check it; publish: " +
                          publish(h.host));
    return;
  }
  r_.problems.push_back("no TLSA record at " + owner +
                        " matches this server's certificate (tls_cert_file): DANE senders will not deliver "
                        "here; publish: " +
                        publish(h.host));
}

}  // namespace

TlsaReport evaluate_tlsa(const TlsaCheck& c, bool local) { return Judge(c, local).run(); }

}  // namespace mailctl
