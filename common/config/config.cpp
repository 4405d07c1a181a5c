// Parser for mailbag.conf: "key = value" lines, whole-line comments starting with '#',
// blank lines ignored. Every error names the file and line. See keys.cpp for the keys.
#include "common/config/config.hpp"

#include <arpa/inet.h>
#include <sysexits.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <type_traits>

#include "common/config/reload.hpp"
#include "common/io/fdio.hpp"
#include "common/net/cidr.hpp"

namespace common::config {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

Result<std::int64_t> parse_number(std::string_view v) {
  if (v.empty()) return Status::error("empty number");
  std::int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return Status::error("not a number: '" + std::string(v) + "'");
    if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, c - '0', &n))
      return Status::error("number too large: '" + std::string(v) + "'");
  }
  return n;
}

Result<std::int64_t> parse_scaled(std::string_view v, const char* suffixes, const std::int64_t* factors) {
  if (v.empty()) return Status::error("empty value");
  std::int64_t factor = 1;
  char last = v.back();
  if (last >= 'A' && last <= 'z') {
    const char* p = std::strchr(suffixes, last);
    if (!p) return Status::error("unknown unit '" + std::string(1, last) + "' in '" + std::string(v) + "'");
    factor = factors[p - suffixes];
    v.remove_suffix(1);
  }
  auto n = parse_number(v);
  if (!n) return n;
  std::int64_t out;
  if (__builtin_mul_overflow(*n, factor, &out)) return Status::error("value too large");
  return out;
}

// Member pointer -> the member's type, for the enumerated keys.
template <typename M>
struct MemberOf;
template <typename T>
struct MemberOf<T Config::*> {
  using type = T;
};

// "a, b or c", for the error message of an enumerated key.
std::string choices_text(const KeyDef& k) {
  std::string out;
  for (std::size_t i = 0; i < k.choices.size(); ++i) {
    if (i > 0) out += i + 1 == k.choices.size() ? " or " : ", ";
    out += k.choices[i].name;
  }
  return out;
}

Status set_enum(Config& cfg, const KeyDef& k, std::string_view v) {
  for (const auto& c : k.choices) {
    if (c.name != v) continue;
    std::visit(
        [&](auto m) {
          using T = typename MemberOf<decltype(m)>::type;
          if constexpr (std::is_enum_v<T>) cfg.*m = static_cast<T>(c.value);
        },
        k.member);
    return Status::ok();
  }
  return Status::error("must be " + choices_text(k));
}

int enum_value(const Config& cfg, const KeyDef& k) {
  return std::visit(
      [&](auto m) {
        using T = typename MemberOf<decltype(m)>::type;
        if constexpr (std::is_enum_v<T>)
          return static_cast<int>(cfg.*m);
        else
          return -1;
      },
      k.member);
}

Status set_value(Config& cfg, const KeyDef& k, std::string_view raw) {
  std::string_view v = trim(raw);
  if (k.check) MB_TRY(k.check(v));
  auto range = [&](std::int64_t n) -> Status {
    if (n < k.min || n > k.max)
      return Status::error("value " + std::to_string(n) + " out of range " + std::to_string(k.min) + ".." +
                           std::to_string(k.max));
    return Status::ok();
  };
  switch (k.kind) {
    case Kind::kString: cfg.*std::get<std::string Config::*>(k.member) = std::string(v); return Status::ok();
    case Kind::kPath:
      if (v.empty() || v.front() != '/') return Status::error("must be an absolute path");
      if (v.find("/../") != std::string_view::npos || v.ends_with("/.."))
        return Status::error("must not contain '..'");
      while (v.size() > 1 && v.back() == '/') v.remove_suffix(1);
      // "/var/spool /" would otherwise name "/var/spool " and dump as something that
      // reads back without the blank.
      if (v.back() == ' ' || v.back() == '\t') return Status::error("path ends in a blank");
      cfg.*std::get<std::string Config::*>(k.member) = std::string(v);
      return Status::ok();
    case Kind::kBool: {
      auto b = parse_bool(v);
      if (!b) return b.status();
      cfg.*std::get<bool Config::*>(k.member) = *b;
      return Status::ok();
    }
    case Kind::kInt: {
      auto n = parse_number(v);
      if (!n) return n.status();
      MB_TRY(range(*n));
      cfg.*std::get<std::int64_t Config::*>(k.member) = *n;
      return Status::ok();
    }
    case Kind::kSize: {
      auto n = parse_size(v);
      if (!n) return n.status();
      MB_TRY(range(*n));
      cfg.*std::get<std::int64_t Config::*>(k.member) = *n;
      return Status::ok();
    }
    case Kind::kDuration: {
      auto n = parse_duration(v);
      if (!n) return n.status();
      MB_TRY(range(*n));
      cfg.*std::get<std::int64_t Config::*>(k.member) = *n;
      return Status::ok();
    }
    case Kind::kList:
      cfg.*std::get<std::vector<std::string> Config::*>(k.member) = split_list(v);
      return Status::ok();
    case Kind::kEnum: return set_enum(cfg, k, v);
  }
  return Status::error("internal: unknown kind");
}

}  // namespace

std::string value_text(const Config& cfg, const KeyDef& k) {
  switch (k.kind) {
    case Kind::kString:
    case Kind::kPath: return cfg.*std::get<std::string Config::*>(k.member);
    case Kind::kBool: return cfg.*std::get<bool Config::*>(k.member) ? "yes" : "no";
    case Kind::kInt:
    case Kind::kSize:
    case Kind::kDuration: return std::to_string(cfg.*std::get<std::int64_t Config::*>(k.member));
    case Kind::kList: {
      std::string out;
      for (const auto& s : cfg.*std::get<std::vector<std::string> Config::*>(k.member)) {
        if (!out.empty()) out += ", ";
        out += s;
      }
      return out;
    }
    case Kind::kEnum: return std::string(choice_name(k, enum_value(cfg, k)));
  }
  return "";
}

bool owned_by(const KeyDef& k, std::string_view program) {
  if (program.empty() || k.owners == "*") return true;
  std::string_view o = k.owners;
  while (!o.empty()) {
    auto sp = o.find(' ');
    if (o.substr(0, sp) == program) return true;
    if (sp == std::string_view::npos) break;
    o.remove_prefix(sp + 1);
  }
  return false;
}

namespace {

// The per-key check refuses networks wider than any private range; a public network a
// site could not own (wider than a /16 or /32 allocation, e.g. 2000::/7) needs the
// administrator's explicit relay_networks_allow_public = yes, since every host in it
// could relay through this server.
Status check_relay_scope(const Config& cfg, const std::string& where) {
  if (cfg.relay_networks_allow_public) return Status::ok();
  auto l = net::NetworkList::parse(cfg.relay_networks);
  if (!l) return Status::error(where + "relay_networks: " + l.message());
  for (const auto& n : l->networks())
    if (net::wider_than_a_site(n))
      return Status::error(
          where + "relay_networks: " + n.str() + " is public address space wider than one site holds (/" +
          std::to_string(net::kWidestSiteV4) + " for IPv4, /" + std::to_string(net::kWidestSiteV6) +
          " for IPv6): every host in it could relay through this server; if it "
          "really is yours, confirm with relay_networks_allow_public = yes");
  return Status::ok();
}

void finish(Config& cfg) {
  // etrn_networks names relay_networks by default: ETRN forces deliveries past the
  // back-off, so only clients trusted to relay (and the primaries added by hand) may.
  std::vector<std::string> etrn;
  for (auto& n : cfg.etrn_networks) {
    if (n != "relay_networks") {
      etrn.push_back(std::move(n));
      continue;
    }
    for (const auto& r : cfg.relay_networks)
      if (std::find(etrn.begin(), etrn.end(), r) == etrn.end()) etrn.push_back(r);
  }
  cfg.etrn_networks = std::move(etrn);
  if (cfg.hostname.empty()) {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) == 0) cfg.hostname = buf;
    if (cfg.hostname.empty()) cfg.hostname = "localhost";
  }
}

}  // namespace

std::string_view choice_name(const KeyDef& k, int value) {
  for (const auto& c : k.choices)
    if (c.value == value) return c.name;
  return {};
}

const KeyDef* find_key(std::string_view name) {
  for (const auto& k : keys())
    if (k.name == name) return &k;
  return nullptr;
}

Result<std::int64_t> parse_size(std::string_view v) {
  static const std::int64_t f[] = {1024, 1024LL * 1024, 1024LL * 1024 * 1024,
                                   1024, 1024LL * 1024, 1024LL * 1024 * 1024};
  return parse_scaled(v, "KMGkmg", f);
}

Result<std::int64_t> parse_duration(std::string_view v) {
  static const std::int64_t f[] = {1, 60, 3600, 86400, 604800};
  return parse_scaled(v, "smhdw", f);
}

Result<bool> parse_bool(std::string_view v) {
  if (v == "yes" || v == "true" || v == "on" || v == "1") return true;
  if (v == "no" || v == "false" || v == "off" || v == "0") return false;
  return Status::error("must be yes or no, not '" + std::string(v) + "'");
}

std::vector<std::string> split_list(std::string_view v) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : v) {
    if (c == ',' || c == ' ' || c == '\t') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

Result<HostPort> parse_host_port(std::string_view v) {
  HostPort hp;
  std::string_view port;
  if (!v.empty() && v.front() == '[') {
    auto close = v.find(']');
    if (close == std::string_view::npos || close + 1 >= v.size() || v[close + 1] != ':')
      return Status::error("bad address '" + std::string(v) + "' (want [v6]:port)");
    hp.host = std::string(v.substr(1, close - 1));
    port = v.substr(close + 2);
    in6_addr a6;
    if (inet_pton(AF_INET6, hp.host.c_str(), &a6) != 1)
      return Status::error("bad IPv6 address in '" + std::string(v) + "'");
  } else {
    auto colon = v.rfind(':');
    if (colon == std::string_view::npos)
      return Status::error("bad address '" + std::string(v) + "' (want host:port)");
    hp.host = std::string(v.substr(0, colon));
    port = v.substr(colon + 1);
    // "::1:25" or "fe80::1" would split at the wrong colon: IPv6 needs brackets.
    if (hp.host.find(':') != std::string::npos)
      return Status::error("bad address '" + std::string(v) + "' (write IPv6 as [addr]:port)");
  }
  auto n = parse_number(port);
  if (!n || *n < 1 || *n > 65535) return Status::error("bad port in '" + std::string(v) + "'");
  hp.port = static_cast<std::uint16_t>(*n);
  for (char c : hp.host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '_'))
      return Status::error("bad host in '" + std::string(v) + "'");
  return hp;
}

Config defaults() {
  Config cfg;
  for (const auto& k : keys()) {
    Status st = set_value(cfg, k, k.default_value);
    MB_CHECK(st.is_ok(), "bad default in config table");
  }
  finish(cfg);
  return cfg;
}

Result<Config> parse(std::string_view text, const std::string& path) {
  Config cfg;
  for (const auto& k : keys()) {
    Status st = set_value(cfg, k, k.default_value);
    MB_CHECK(st.is_ok(), "bad default in config table");
  }
  cfg.path = path;
  std::set<std::string_view> seen;
  std::size_t lineno = 0, relay_line = 0;
  while (!text.empty()) {
    ++lineno;
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    auto where = [&] { return path + ":" + std::to_string(lineno) + ": "; };
    if (line.find('\0') != std::string_view::npos) return Status::error(where() + "NUL byte in line");
    std::string_view t = trim(line);
    // A value ends up in greetings, headers and paths: no control characters (a CR at the
    // line end, as from a DOS editor, was trimmed above).
    for (char c : t)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
        return Status::error(where() + "control character in line");
    if (t.empty() || t.front() == '#') continue;
    auto eq = t.find('=');
    if (eq == std::string_view::npos) return Status::error(where() + "expected 'key = value'");
    std::string_view name = trim(t.substr(0, eq));
    const KeyDef* k = find_key(name);
    if (!k) return Status::error(where() + "unknown key '" + std::string(name) + "'");
    if (!seen.insert(k->name).second)
      return Status::error(where() + "key '" + std::string(name) + "' set twice");
    Status st = set_value(cfg, *k, t.substr(eq + 1));
    if (!st) return Status::error(where() + std::string(name) + ": " + st.message());
    if (k->name == "relay_networks") relay_line = lineno;
  }
  MB_TRY(check_relay_scope(cfg, path + ":" + std::to_string(relay_line) + ": "));
  finish(cfg);
  return cfg;
}

Result<Config> load(const std::string& path) {
  auto text = io::read_file(path, 1 << 20);
  if (!text) return text.status();
  return parse(*text, path);
}

std::string dump(const Config& cfg, std::string_view program) {
  std::string out;
  for (const auto& k : keys()) {
    if (!owned_by(k, program)) continue;
    out += std::string(k.name) + " = " + value_text(cfg, k) + "\n";
  }
  return out;
}

std::string example() {
  std::string out =
      "# /etc/mailbag/mailbag.conf -- Mailbag configuration (see mailbag.conf(5)).\n"
      "# One \"key = value\" per line; lines starting with # are comments. Every key below\n"
      "# is shown with its default, commented out: uncomment and edit what you change.\n"
      "# At least set hostname to the name your MX record points at.\n";
  for (const auto& k : keys()) {
    out += "\n# " + std::string(k.doc) + "\n";
    out += "# (read by: " + std::string(k.owners == "*" ? "all programs" : k.owners) + ")\n";
    out += "#" + std::string(k.name) + " = " + std::string(k.default_value) + "\n";
  }
  return out;
}

Config load_or_exit(const char* program, int argc, char** argv) {
  std::string path = kDefaultPath;
  bool dump_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-c" && i + 1 < argc) {
      path = argv[++i];
    } else if (a == "--dump-config") {
      dump_only = true;
    } else if (a == "-h" || a == "--help") {
      std::printf("usage: %s [-c config-file] [--dump-config]\n", program);
      std::exit(0);
    } else {
      std::fprintf(stderr, "%s: unknown argument '%s'\nusage: %s [-c config-file] [--dump-config]\n", program,
                   argv[i], program);
      std::exit(EX_USAGE);
    }
  }
  ignore_sighup_until_watched();  // a reload sent while starting must not kill the daemon
  auto cfg = load(path);
  if (!cfg) {
    std::fprintf(stderr, "%s: fatal: %s\n", program, cfg.message().c_str());
    std::exit(EX_CONFIG);
  }
  if (dump_only) {
    std::fputs(dump(*cfg, program).c_str(), stdout);
    std::exit(0);
  }
  return std::move(cfg).value();
}

}  // namespace common::config
