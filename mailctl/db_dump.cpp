// Implementation of the accounts dump (see db_dump.hpp).
#include "mailctl/db_dump.hpp"

#include <map>

#include "common/ipc/codec.hpp"
#include "common/log/log.hpp"
#include "common/mail/base64.hpp"

namespace mailctl {

using common::Result;
using common::Status;

namespace {

constexpr std::string_view kHeader = "# mailbag accounts dump 1";

template <class T>
std::string encode(const T& v) {
  common::ipc::Encoder e;
  e(v);
  return common::mail::encode_base64(e.out);
}

template <class T>
Result<T> decode(std::string_view b64) {
  auto bytes = common::mail::decode_base64(b64);
  if (!bytes) return Status::error("bad base64");
  T v{};
  common::ipc::Decoder d(*bytes);
  d(v);
  if (!d.ok() || !d.at_end()) return Status::error("bad record");
  return v;
}

// A word of the plain kinds: no blanks, no control characters.
bool word(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (c <= 0x20 || c == 0x7f) return false;
  return true;
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < line.size()) {
    std::size_t sp = line.find(' ', pos);
    if (sp == std::string_view::npos) sp = line.size();
    if (sp > pos) out.push_back(line.substr(pos, sp - pos));
    pos = sp + 1;
  }
  return out;
}

}  // namespace

std::string format_dump(const Dump& d) {
  std::string out = std::string(kHeader) + "\n";
  for (const auto& v : d.domains) out += "domain " + encode(v) + "\n";
  for (const auto& v : d.users) out += "user " + encode(v) + "\n";
  for (const auto& v : d.aliases) out += "alias " + encode(v) + "\n";
  for (const auto& v : d.rules) out += "rule " + encode(v) + "\n";
  for (const auto& [a, h] : d.passwords) out += "password " + a + " " + h + "\n";
  for (const auto& k : d.relay_recipients) out += "relay-recipient " + k + "\n";
  for (const auto& g : d.atrn_grants) out += "atrn-grant " + g.login + " " + g.domain + "\n";
  for (const auto& e : d.relay_clients)
    out += "relay-client " + e.address + " " + std::to_string(e.ticks) + "\n";
  return out;
}

Result<Dump> parse_dump(std::string_view text) {
  Dump d;
  std::size_t pos = 0, n = 0;
  bool header = false;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++n;
    auto fail = [&](const std::string& why) {
      return Status::error("line " + std::to_string(n) + ": " + why);
    };
    if (!header) {
      if (line != kHeader) return fail("not a mailbag accounts dump (want '" + std::string(kHeader) + "')");
      header = true;
      continue;
    }
    if (line.empty() || line.front() == '#') continue;
    auto f = fields(line);
    for (auto w : f)
      if (!word(w)) return fail("blank or control character");
    std::string_view kind = f.empty() ? "" : f[0];
    auto want = [&](std::size_t k) { return f.size() == k; };
    Status st;
    if (kind == "domain" && want(2)) {
      auto v = decode<common::accounts::Domain>(f[1]);
      if (v) d.domains.push_back(std::move(*v));
      st = v.status();
    } else if (kind == "user" && want(2)) {
      auto v = decode<common::accounts::User>(f[1]);
      if (v) d.users.push_back(std::move(*v));
      st = v.status();
    } else if (kind == "alias" && want(2)) {
      auto v = decode<common::accounts::Alias>(f[1]);
      if (v) d.aliases.push_back(std::move(*v));
      st = v.status();
    } else if (kind == "rule" && want(2)) {
      auto v = decode<common::accounts::FilterRule>(f[1]);
      if (v) d.rules.push_back(std::move(*v));
      st = v.status();
    } else if (kind == "password" && want(3)) {
      d.passwords.emplace_back(std::string(f[1]), std::string(f[2]));
    } else if (kind == "relay-recipient" && want(2)) {
      d.relay_recipients.emplace_back(f[1]);
    } else if (kind == "atrn-grant" && want(3)) {
      common::accounts::AtrnGrant g;
      g.login = std::string(f[1]);
      g.domain = std::string(f[2]);
      d.atrn_grants.push_back(std::move(g));
    } else if (kind == "relay-client" && want(3)) {
      auto a = common::relaydb::normalize(f[1]);
      auto t = common::relaydb::parse_ticks(f[2]);
      if (!a)
        st = a.status();
      else if (!t)
        st = t.status();
      else
        d.relay_clients.push_back({*a, *t});
    } else {
      return fail("unknown line '" + common::log::printable(line, 40) + "'");
    }
    if (!st) return fail(st.message());
  }
  if (!header) return Status::error("empty dump");
  return d;
}

Result<Dump> read_stores(common::accounts::Store& db, common::accounts::PasswordStore& pw,
                         common::relaydb::RelayStore* relay) {
  Dump d;
  auto domains = db.domains();
  if (!domains) return domains.status();
  d.domains = std::move(*domains);
  auto users = db.users("");
  if (!users) return users.status();
  d.users = std::move(*users);
  auto aliases = db.aliases("");
  if (!aliases) return aliases.status();
  d.aliases = std::move(*aliases);
  auto rules = db.filter_rules();
  if (!rules) return rules.status();
  d.rules = std::move(*rules);
  auto rr = db.relay_recipients("");
  if (!rr) return rr.status();
  d.relay_recipients = std::move(*rr);
  auto grants = db.atrn_grants("");
  if (!grants) return grants.status();
  d.atrn_grants = std::move(*grants);
  for (const auto& u : d.users) {
    auto h = pw.hash(u.address);
    if (!h) return h.status();
    if (*h) d.passwords.emplace_back(u.address, **h);
  }
  if (relay) {
    auto all = relay->scan();
    if (!all) return all.status();
    d.relay_clients = std::move(*all);
  }
  return d;
}

Status write_stores(const Dump& d, common::accounts::Store& db, common::accounts::PasswordStore& pw,
                    common::relaydb::RelayStore* relay) {
  for (const auto& v : d.domains) MB_TRY(db.put_domain(v));
  for (const auto& v : d.users) MB_TRY(db.put_user(v));
  for (const auto& v : d.aliases) MB_TRY(db.put_alias(v));
  for (const auto& v : d.rules) {
    auto r = db.put_filter_rule(v);
    if (!r) return r.status();
  }
  for (const auto& [a, h] : d.passwords) MB_TRY(pw.set(a, h));
  std::map<std::string, std::vector<std::string>> lists;  // domain -> its addresses
  for (const auto& k : d.relay_recipients) {
    auto at = k.rfind('@');
    if (at == std::string::npos) return Status::error("relay recipient without a domain: " + k);
    auto& l = lists[k.substr(at + 1)];
    if (at != 0) l.push_back(k);
  }
  for (const auto& [domain, addresses] : lists) MB_TRY(db.put_relay_recipients(domain, addresses, false));
  for (const auto& g : d.atrn_grants) MB_TRY(db.put_atrn_grant(g));
  if (relay && !d.relay_clients.empty()) MB_TRY(relay->load(d.relay_clients, false));
  return Status::ok();
}

}  // namespace mailctl
