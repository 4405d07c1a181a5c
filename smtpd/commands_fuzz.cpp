// libFuzzer target for the SMTP command layer: the input is parsed as one command line
// by every parser in commands.hpp, then fed as client bytes (in two pieces) to a whole
// Session. Checks: no crash or sanitizer report; accepted paths survive a round trip
// through their canonical form; every reply is a well-formed "ddd[ -]..." CRLF line.
// Seed corpus: tests/fuzz/corpus/commands_fuzz/.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/check.hpp"
#include "smtpd/commands.hpp"
#include "smtpd/session.hpp"
#include "smtpd/test_support.hpp"

namespace {

void check_replies(std::string_view out) {
  while (!out.empty()) {
    auto end = out.find("\r\n");
    MB_CHECK(end != std::string_view::npos, "reply without CRLF");
    std::string_view line = out.substr(0, end);
    MB_CHECK(line.size() >= 4, "short reply");
    for (int i = 0; i < 3; ++i) MB_CHECK(line[i] >= '0' && line[i] <= '9', "reply code");
    MB_CHECK(line[3] == ' ' || line[3] == '-', "reply separator");
    for (char c : line) MB_CHECK(c != '\r' && c != '\n', "CR or LF inside a reply");
    out.remove_prefix(end + 2);
  }
}

void parsers(std::string_view in) {
  smtpd::Command c = smtpd::split_command(in);
  MB_CHECK(c.arg.size() <= in.size(), "argument larger than line");
  (void)smtpd::parse_helo(c.arg);
  for (bool ext : {false, true}) {
    auto m = smtpd::parse_mail(c.arg, ext);
    if (!m.ok()) {
      MB_CHECK(m.error.code >= 500 && m.error.code < 600, "MAIL error code");
      continue;
    }
    if (m.value->sender.null()) continue;
    std::string again = "FROM:<" + m.value->sender.str() + ">" + (m.value->smtputf8 ? " SMTPUTF8" : "");
    auto m2 = smtpd::parse_mail(again, true);
    MB_CHECK(m2.ok() && m2.value->sender.str() == m.value->sender.str(), "MAIL round trip");
    // The client's spelling (RFC 6531 3.7) parses back to itself and to the same lookup form.
    auto m3 = smtpd::parse_mail("FROM:<" + m.value->envelope_sender() + "> SMTPUTF8", true);
    MB_CHECK(m3.ok() && m3.value->envelope_sender() == m.value->envelope_sender() &&
                 m3.value->sender.str() == m.value->sender.str(),
             "MAIL spelling round trip");
  }
  auto a = smtpd::parse_auth(c.arg);
  if (a.ok()) MB_CHECK(!a.value->mechanism.empty() && a.value->mechanism.size() <= 20, "AUTH mechanism");
  auto e = smtpd::parse_etrn(c.arg);
  if (e.ok()) MB_CHECK(!e.value->node.empty(), "ETRN node");
  auto t = smtpd::parse_atrn(c.arg);
  if (t.ok()) {  // RFC 2645 5.2.1: distinct valid domains, which parse back to themselves
    MB_CHECK(t.value->domains.size() <= smtpd::kMaxAtrnDomains, "ATRN domain count");
    std::string joined;
    for (const auto& d : t.value->domains) {
      MB_CHECK(common::mail::is_domain(d, false), "ATRN domain");
      joined += (joined.empty() ? "" : ",") + d;
    }
    auto t2 = smtpd::parse_atrn(joined);
    MB_CHECK(t2.ok() && t2.value->domains == t.value->domains, "ATRN round trip");
  } else {
    MB_CHECK(t.error.code == 501, "ATRN error code");
  }
  auto b = smtpd::parse_bdat(c.arg);
  if (b.ok()) {  // round trip through the canonical form
    auto b2 = smtpd::parse_bdat(std::to_string(b.value->size) + (b.value->last ? " LAST" : ""));
    MB_CHECK(b2.ok() && b2.value->size == b.value->size && b2.value->last == b.value->last,
             "BDAT round trip");
  } else {
    MB_CHECK(b.error.code == 501, "BDAT error code");
  }
  for (bool utf8 : {false, true}) {
    auto r = smtpd::parse_rcpt(c.arg, utf8);
    if (!r.ok() || r.value->rcpt.domain.empty()) continue;
    auto r2 = smtpd::parse_rcpt("TO:<" + r.value->rcpt.str() + ">", true);
    MB_CHECK(r2.ok() && r2.value->rcpt.key() == r.value->rcpt.key(), "RCPT round trip");
  }
}

void session(std::string_view in) {
  static smtpd::testing::TestBackend backend;
  smtpd::SessionConfig cfg = smtpd::testing::test_config();
  unsigned char flags = in.empty() ? 0 : static_cast<unsigned char>(in[0]);
  cfg.tls_available = flags & 1;
  cfg.port = (flags & 6) == 2   ? smtpd::Port::kSubmission
             : (flags & 6) == 6 ? smtpd::Port::kOdmr
                                : smtpd::Port::kMx;
  backend.dir.db.atrn_grant_set = {"alice@example.test site.test"};
  cfg.relay_domains = {"backup.test"};
  smtpd::ClientInfo client = smtpd::testing::test_client();
  client.etrn_network = flags & 8;
  client.relay_network = flags & 16;
  smtpd::Session s(cfg, client, backend);
  check_replies(s.start().bytes);
  std::size_t cut = in.empty() ? 0 : static_cast<unsigned char>(in[0]) % (in.size() + 1);
  for (std::string_view part : {in.substr(0, cut), in.substr(cut)}) {
    smtpd::Output o = s.feed(part);
    for (;;) {
      check_replies(o.bytes);
      if (o.start_tls)
        o = s.tls_established("TLSv1.3 with cipher FUZZ");
      else if (o.submit)
        o = s.submit_done(common::mail::Verdict{});
      else if (o.auth)
        o = s.auth_done(smtpd::AuthOutcome{
            o.auth->password == "secret" ? smtpd::AuthOutcome::Kind::kOk : smtpd::AuthOutcome::Kind::kFailed,
            "alice@example.test", ""});
      else if (o.etrn)
        o = s.etrn_done(o.etrn->subdomains ? std::nullopt : std::optional<std::uint32_t>(2));
      else if (o.atrn)
        o = s.atrn_done(o.atrn->domains.size() > 1 ? std::nullopt : std::optional<std::uint32_t>(1));
      else
        break;
    }
  }
  check_replies(s.timeout().bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  parsers(in);
  session(in);
  return 0;
}
