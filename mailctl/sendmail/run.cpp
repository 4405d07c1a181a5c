// sendmail's hardening, caller identity and envelope building (see run.hpp).
// UNTRUSTED: options, message and the addresses in it come from the calling user.
#include "mailctl/sendmail/run.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <set>

#include "common/mail/ascii.hpp"

namespace sendmail {

using common::mail::lower;

namespace {

using common::mail::Address;

}  // namespace

void harden() {
  (void)::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    int n = ::open("/dev/null", O_RDWR);
    if (n != fd) std::_Exit(EX_OSERR);  // the lowest free descriptor must be `fd`
  }
  (void)::close_range(3, ~0U, 0);
  ::clearenv();
  ::umask(077);
  std::signal(SIGPIPE, SIG_IGN);
}

bool privileged() { return ::getegid() != ::getgid() || ::geteuid() != ::getuid(); }

common::Result<Caller> caller() {
  Caller c;
  c.uid = ::getuid();
  errno = 0;
  passwd* pw = ::getpwuid(::getuid());
  if (!pw) return common::Status::error("no password entry for uid " + std::to_string(c.uid));
  c.login = pw->pw_name;
  std::string gecos = pw->pw_gecos ? pw->pw_gecos : "";
  c.full_name = gecos.substr(0, gecos.find(','));
  return c;
}

common::Result<std::string> config_path(const Options& o) {
  if (!o.config) return std::string(common::config::kDefaultPath);
  if (privileged() && ::getuid() != 0)
    return common::Status::error(
        "-C is not allowed: sendmail runs set-group-ID, and only root may choose "
        "another configuration");
  return *o.config;
}

Exit prepare(const Options& o, const common::config::Config& cfg, const Caller& who, const std::string& raw,
             std::int64_t now, const std::string& queue_id, Prepared* out) {
  const std::string domain = lower(cfg.sendmail_domain.empty() ? cfg.hostname : cfg.sendmail_domain);
  Message m = split_message(raw);

  // The caller's own address: login name at our domain. Address::str() quotes a login
  // that is not a dot-atom.
  Address self;
  self.local = who.login;
  self.domain = domain;
  auto self_ok = common::mail::parse_mailbox(self.str(), true);
  if (!self_ok) return {EX_NOUSER, "cannot make an address of login name '" + who.login + "'"};
  self = *self_ok;

  // The envelope sender: -f (anyone may name one, as with Postfix; the caller's uid is
  // recorded in the envelope and the Received: field), or the caller's address.
  Address sender = self;
  if (o.sender) {
    std::string s = *o.sender;
    if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
    if (s.empty()) {
      sender = Address{};
    } else {
      auto list = parse_address_list(s, domain);
      if (!list || list->size() != 1) return {EX_USAGE, "bad sender address '" + *o.sender + "'"};
      sender = (*list)[0];
    }
  }

  std::vector<Address> rcpts;
  for (const auto& arg : o.recipients) {
    auto list = parse_address_list(arg, domain);
    if (!list) return {EX_USAGE, "bad recipient: " + list.message()};
    rcpts.insert(rcpts.end(), list->begin(), list->end());
  }
  if (o.extract) {
    for (const auto& h : m.headers) {
      std::string n = lower(h.name);
      if (n != "to" && n != "cc" && n != "bcc") continue;
      auto list = parse_address_list(h.value(), domain);
      if (!list) return {EX_DATAERR, "bad address in the " + h.name + ": field: " + list.message()};
      rcpts.insert(rcpts.end(), list->begin(), list->end());
    }
  }
  std::set<std::string> seen;
  common::spool::Envelope& env = out->env;
  env = common::spool::Envelope{};
  for (const auto& r : rcpts) {
    if (!seen.insert(r.key()).second) continue;
    env.recipients.push_back(r.str());
    if (r.utf8) env.smtputf8 = true;
  }
  if (env.recipients.empty())
    return {EX_USAGE, o.extract ? "no recipients: none on the command line, none in To:, Cc: or Bcc:"
                                : "no recipients given (use -t to take them from the message)"};
  if (env.recipients.size() > 1000) return {EX_USAGE, "too many recipients (at most 1000)"};

  Compose c;
  c.hostname = cfg.hostname;
  c.queue_id = queue_id;
  c.time = now;
  c.uid = who.uid;
  c.from = sender.null() ? self.str() : sender.str();
  if (o.full_name)
    c.full_name = *o.full_name;
  else if (c.from == self.str())
    c.full_name = who.full_name;
  out->text = compose(m, c);

  env.queue_id = queue_id;
  env.arrival = now;
  env.protocol = "local";
  env.client = "uid " + std::to_string(who.uid) + " (" + who.login + ")";
  env.sender = sender.str();
  if (sender.utf8) env.smtputf8 = true;
  for (unsigned char ch : out->text)
    if (ch >= 0x80) {
      env.body_8bit = true;
      break;
    }
  return {EX_OK, ""};
}

}  // namespace sendmail
