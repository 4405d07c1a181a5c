// sendmail command-line parsing (see options.hpp). UNTRUSTED: the arguments come from
// whoever runs the (setgid) program; nothing here does more than record them.
#include "mailctl/sendmail/options.hpp"

namespace sendmail {
namespace {

using common::Status;

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

}  // namespace

common::Result<Options> parse_options(const std::string& program, const std::vector<std::string>& args) {
  Options o;
  if (program == "newaliases") o.mode = Mode::kNewAliases;
  std::size_t i = 0;
  // The value of an option: the rest of this argument ("-fuser") or the next one.
  auto value = [&](const std::string& a, std::size_t len, std::string* out) -> Status {
    if (a.size() > len) {
      *out = a.substr(len);
      return Status::ok();
    }
    if (i + 1 >= args.size()) return Status::error("option " + a + " needs a value");
    *out = args[++i];
    return Status::ok();
  };
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.size() < 2 || a[0] != '-') break;  // the first recipient
    std::string v;
    if (a == "-t") {
      o.extract = true;
    } else if (a == "-i" || a == "-oi" || a == "-oitrue") {
      o.ignore_dots = true;
    } else if (a == "-o" && i + 1 < args.size() && args[i + 1] == "i") {
      o.ignore_dots = true;
      ++i;
    } else if (starts_with(a, "-f") || starts_with(a, "-r")) {
      MB_TRY(value(a, 2, &v));
      o.sender = v;
    } else if (starts_with(a, "-F")) {
      MB_TRY(value(a, 2, &v));
      o.full_name = v;
    } else if (starts_with(a, "-C")) {
      MB_TRY(value(a, 2, &v));
      o.config = v;
    } else if (a == "-bm") {
      o.mode = Mode::kSend;
    } else if (a == "-bi" || a == "-I") {
      o.mode = Mode::kNewAliases;
    } else if (a == "-bp" || a == "-q" || starts_with(a, "-q")) {
      return Status::error(
          "queue listing and queue runs are not done by sendmail: use mailq or mailctl queue (see "
          "mailctl(8))");
    } else if (a == "-bs" || a == "-bd" || a == "-bD" || a == "-bv" || a == "-bt" || a == "-bh" ||
               a == "-bH") {
      return Status::error("mode " + a + " is not supported: sendmail only queues a message (-bm)");
    } else if (a == "-N" || a == "-R" || a == "-V" || a == "-X" || a == "-B" || a == "-h" || a == "-L" ||
               a == "-O" || a == "-p" || starts_with(a, "-N") || starts_with(a, "-R") ||
               starts_with(a, "-V") || starts_with(a, "-X") || starts_with(a, "-B") || starts_with(a, "-h") ||
               starts_with(a, "-L") || starts_with(a, "-O") || starts_with(a, "-p")) {
      // Options with a value we do not use: DSN (-N, -R, -V), a log file (-X, never
      // opened), body type (-B), hop count (-h), syslog label (-L), -O option=value,
      // protocol (-p).
      MB_TRY(value(a, 2, &v));
      o.ignored.push_back(a.size() > 2 ? a : a + " " + v);
    } else if (starts_with(a, "-o") || a == "-v" || a == "-m" || a == "-n" || a == "-U" || a == "-G" ||
               starts_with(a, "-A") || a == "-Am" || a == "-Ac" || a == "-s" || a == "-c" || a == "-x") {
      // -odi, -odb, -oem, -oee, -om ...: delivery and error modes of the old sendmail; we
      // always queue and report errors on stderr with the exit status.
      o.ignored.push_back(a);
    } else {
      return Status::error("unknown option " + a);
    }
  }
  for (; i < args.size(); ++i) o.recipients.push_back(args[i]);
  return o;
}

}  // namespace sendmail
