// DKIM verification with libopendkim (see message_checks.hpp). Keys come through our key
// lookup callback: a TXT query of selector._domainkey.domain on our Dns, so a SERVFAIL
// is a temperror (libopendkim's own resolver treats it as no key).
#include <unistd.h>

// dkim.h is C99 and spells bool as _Bool, which C++ does not know.
#define _Bool bool
extern "C" {
#include <opendkim/dkim.h>
}
#undef _Bool

#include <cstring>

#include "smtpd/checks/message_checks.hpp"

namespace checks {
namespace {

DKIM_LIB* g_lib = nullptr;

DKIM_CBSTAT key_lookup(DKIM* dkim, DKIM_SIGINFO* sig, u_char* buf, size_t buflen) {
  Dns* dns = static_cast<Dns*>(dkim_get_user_context(dkim));
  const char* sel = reinterpret_cast<const char*>(dkim_sig_getselector(sig));
  const char* dom = reinterpret_cast<const char*>(dkim_sig_getdomain(sig));
  if (!dns || !sel || !dom) return DKIM_CBSTAT_ERROR;
  DnsAnswer a = dns->query(std::string(sel) + "._domainkey." + dom, kTypeTxt);
  switch (a.rcode) {
    case DnsAnswer::Rcode::kNxDomain:
    case DnsAnswer::Rcode::kNoData: return DKIM_CBSTAT_NOTFOUND;
    case DnsAnswer::Rcode::kTempFail: return DKIM_CBSTAT_TRYAGAIN;
    case DnsAnswer::Rcode::kOk: break;
  }
  if (a.rdata.empty()) return DKIM_CBSTAT_NOTFOUND;
  std::string key = txt_string(a.rdata.front());  // RFC 6376 3.6.2.2: one record
  if (key.size() + 1 > buflen || key.find('\0') != std::string::npos) return DKIM_CBSTAT_ERROR;
  std::memcpy(buf, key.c_str(), key.size() + 1);
  return DKIM_CBSTAT_CONTINUE;
}

std::string text(const unsigned char* s) { return s ? reinterpret_cast<const char*>(s) : ""; }

// RFC 8601 2.7.1 results from libopendkim's per-signature state.
std::string sig_result(DKIM_SIGINFO* sig, std::string* comment) {
  unsigned int flags = dkim_sig_getflags(sig);
  int bh = dkim_sig_getbh(sig);
  int err = dkim_sig_geterror(sig);
  if ((flags & DKIM_SIGFLAG_PASSED) && bh == DKIM_SIGBH_MATCH) return "pass";
  const char* why = dkim_sig_geterrorstr(err);
  *comment = why ? why : "";
  if (err == DKIM_SIGERROR_KEYFAIL) return "temperror";
  if (bh == DKIM_SIGBH_MISMATCH) {
    *comment = "body hash mismatch";
    return "fail";
  }
  if (err == DKIM_SIGERROR_OK || err == DKIM_SIGERROR_BADSIG) {
    if (comment->empty() || err == DKIM_SIGERROR_OK) *comment = "signature did not verify";
    return "fail";
  }
  return "permerror";  // no key, bad key, malformed signature, ...
}

}  // namespace

common::Status init_message_checks() {
  g_lib = dkim_init(nullptr, nullptr);
  if (!g_lib) return common::Status::error("libopendkim: dkim_init failed");
  // The queue file has LF line ends; the signed form has CRLF (RFC 6376 3.4.1).
  u_int flags = DKIM_LIBFLAGS_FIXCRLF;
  if (dkim_options(g_lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags) != DKIM_STAT_OK)
    return common::Status::error("libopendkim: cannot set FIXCRLF");
  if (dkim_set_key_lookup(g_lib, key_lookup) != DKIM_STAT_OK)
    return common::Status::error("libopendkim: cannot set the key lookup");
  if (!dkim_libfeature(g_lib, DKIM_FEATURE_ED25519))
    return common::Status::error("libopendkim was built without ed25519-sha256 (RFC 8463)");
  return common::Status::ok();
}

std::vector<DkimSig> verify_dkim(Dns& dns, int fd, std::uint64_t offset, std::uint64_t size,
                                 const std::string& queue_id, std::string* error) {
  std::vector<DkimSig> out;
  DKIM_STAT st = DKIM_STAT_OK;
  DKIM* d = dkim_verify(g_lib, reinterpret_cast<const unsigned char*>(queue_id.c_str()), nullptr, &st);
  if (!d) {
    *error = "libopendkim cannot start a verification";
    return out;
  }
  dkim_set_user_context(d, &dns);
  std::string buf(64 * 1024, '\0');
  std::uint64_t done = 0;
  while (done < size) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - done));
    ssize_t n = pread(fd, buf.data(), want, static_cast<off_t>(offset + done));
    if (n <= 0) {
      *error = "cannot read the message";
      dkim_free(d);
      return out;
    }
    st = dkim_chunk(d, reinterpret_cast<u_char*>(buf.data()), static_cast<std::size_t>(n));
    if (st != DKIM_STAT_OK) break;
    done += static_cast<std::uint64_t>(n);
  }
  if (st == DKIM_STAT_OK) st = dkim_chunk(d, nullptr, 0);
  if (st == DKIM_STAT_OK) st = dkim_eom(d, nullptr);
  DKIM_SIGINFO** sigs = nullptr;
  int nsigs = 0;
  if (dkim_getsiglist(d, &sigs, &nsigs) == DKIM_STAT_OK) {
    for (int i = 0; i < nsigs && i < 16; ++i) {
      DkimSig s;
      s.result = sig_result(sigs[i], &s.comment);
      s.domain = text(dkim_sig_getdomain(sigs[i]));
      s.selector = text(dkim_sig_getselector(sigs[i]));
      s.algorithm = text(dkim_sig_getalgorithm(sigs[i]));
      out.push_back(std::move(s));
    }
  }
  if (out.empty() && st != DKIM_STAT_NOSIG && st != DKIM_STAT_OK) {
    const char* e = dkim_geterror(d);
    *error = e && *e ? e : dkim_getresultstr(st);
  }
  dkim_free(d);
  return out;
}

std::string read_head(int fd, std::uint64_t offset, std::uint64_t size, std::size_t limit) {
  std::string out(static_cast<std::size_t>(std::min<std::uint64_t>(size, limit)), '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    ssize_t n = pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(offset + got));
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

}  // namespace checks
