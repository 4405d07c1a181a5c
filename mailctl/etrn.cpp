// mailctl etrn HOST DOMAIN: asks the mail server HOST (a backup MX holding our mail) to
// start delivering what it queues for DOMAIN now (RFC 1985), prints the server's answer
// and exits 0 for 250, 251, 252 or 253, 1 otherwise. One-shot and blocking; the pure
// client session of common/smtp does the protocol, this file only the socket. HOST is
// host[:port] or an IP address; names are resolved with dns_resolver (or resolv.conf).
// No TLS: ETRN carries no secret, and the answer is only reported.
// UNTRUSTED: the server's replies go through the strict reply parser.
#include "mailctl/etrn.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <optional>
#include <string>

#include "common/dns/resolver.hpp"
#include "common/io/fdio.hpp"
#include "common/io/unique_fd.hpp"
#include "common/log/log.hpp"
#include "common/mail/address.hpp"
#include "common/net/sockaddr.hpp"
#include "common/smtp/client.hpp"
#include "common/smtp/next_hop.hpp"

namespace mailctl {
namespace {

namespace smtp = common::smtp;
using common::Result;
using common::Status;
using common::io::UniqueFd;

constexpr int kConnectTimeoutMs = 30000;

Result<UniqueFd> connect_to(const std::string& ip, std::uint16_t port) {
  auto addr = common::net::sockaddr_of(ip, port);
  if (!addr) return Status::error("bad address " + ip);
  UniqueFd fd(::socket(addr->family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Status::sys("socket");
  if (::connect(fd.get(), addr->get(), addr->len) < 0) {
    if (errno != EINPROGRESS) return Status::sys("connect");
    pollfd p{fd.get(), POLLOUT, 0};
    int r = ::poll(&p, 1, kConnectTimeoutMs);
    if (r == 0) return Status::error("connect: Connection timed out");
    if (r < 0) return Status::sys("poll");
    int err = 0;
    socklen_t el = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &el);
    if (err != 0) return Status::sys("connect", err);
  }
  return fd;
}

// The conversation with one server. Returns the ETRN reply, or why there is none.
Result<smtp::Reply> converse(int fd, const std::string& helo, const std::string& domain, int timeout_s) {
  smtp::SessionOptions opt;
  opt.helo_name = helo;
  opt.tls = smtp::TlsPolicy::kNone;
  smtp::ClientSession s(opt);
  smtp::ReplyParser parser;
  std::optional<smtp::Reply> answer;
  std::string why;
  bool etrn_sent = false;
  char buf[4096];
  std::string pending;
  std::function<bool(const smtp::Output&)> apply = [&](const smtp::Output& o) -> bool {  // false: over
    if (!o.write.empty()) {
      if (auto st = common::io::write_all(fd, o.write); !st) {
        why = st.message();
        return false;
      }
    }
    if (o.error) {
      why = o.error->reply
                ? o.error->reply->summary() + " (in reply to " + smtp::stage_name(o.error->stage) + ")"
                : o.error->detail;
      return false;
    }
    if (o.etrn) answer = *o.etrn;
    if (o.close) return false;
    if (o.ready) {
      if (!etrn_sent) {
        etrn_sent = true;
        return apply(s.etrn(domain));
      }
      return apply(s.quit());
    }
    return true;
  };
  while (true) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, timeout_s * 1000);
    if (r == 0) {
      apply(s.on_timeout());
      break;
    }
    if (r < 0 && errno != EINTR) return Status::sys("poll");
    if (r < 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      apply(s.on_closed());
      break;
    }
    pending.append(buf, static_cast<std::size_t>(n));
    bool go_on = true;
    while (go_on && !pending.empty()) {
      std::size_t used = parser.feed(pending);
      pending.erase(0, used);
      if (parser.state() == smtp::ReplyParser::State::kError) {
        apply(s.on_protocol_error(parser.error()));
        go_on = false;
      } else if (parser.state() == smtp::ReplyParser::State::kReply) {
        go_on = apply(s.on_reply(parser.take()));
      } else {
        break;
      }
    }
    if (!go_on) break;
  }
  if (answer) return *answer;
  return Status::error(why.empty() ? "the server closed the connection" : why);
}

}  // namespace

namespace {

// One ETRN for `domain` (already checked) at `hop`, trying each address of the host.
// `prefix` goes before each printed reply line. Exit code as cmd_etrn's.
int etrn_at(Context& ctx, const smtp::NextHop& hop, const std::string& domain, const std::string& prefix) {
  auto addrs = common::dns::resolve_host_blocking(ctx.cfg.dns_resolver, hop.host);
  if (!addrs) {
    complain(ctx, "etrn: " + prefix + addrs.message());
    return 1;
  }
  std::string last;
  for (const auto& ip : *addrs) {
    std::string peer = (hop.is_ip ? "" : hop.host) + "[" + ip + "]:" + std::to_string(hop.port);
    auto fd = connect_to(ip, hop.port);
    if (!fd) {
      last = peer + ": " + fd.message();
      continue;
    }
    auto reply = converse(fd->get(), ctx.cfg.hostname, domain, static_cast<int>(ctx.cfg.remote_timeout));
    if (!reply) {
      last = peer + ": " + reply.message();
      continue;
    }
    for (const auto& line : reply->lines)
      std::fprintf(ctx.out, "%s%d %s\n", prefix.c_str(), reply->code,
                   common::log::printable(line, 512).c_str());
    return reply->code >= 250 && reply->code <= 253 ? 0 : 1;
  }
  complain(ctx, "etrn: " + prefix + last);
  return 1;
}

}  // namespace

int cmd_etrn(Context& ctx, const std::string& host_arg, const std::string& domain_arg) {
  auto hop = smtp::parse_next_hop(host_arg);
  if (!hop) {
    complain(ctx, "etrn: " + host_arg + ": " + hop.message());
    return EX_USAGE;
  }
  // RFC 1985 5.3: "@domain" asks for the domain and its subdomains.
  std::string domain = lower(domain_arg);
  std::string bare = !domain.empty() && domain[0] == '@' ? domain.substr(1) : domain;
  if (!common::mail::is_domain(bare, false)) {
    complain(ctx, "etrn: not a domain name: " + domain_arg);
    return EX_USAGE;
  }
  return etrn_at(ctx, *hop, domain, "");
}

int cmd_wakeup(Context& ctx) {
  if (ctx.cfg.etrn_hosts.empty()) {
    std::fprintf(ctx.out, "nothing to wake up: etrn_hosts is empty\n");
    return 0;
  }
  if (ctx.cfg.etrn_domains.empty()) {
    // The older method: remote(8) sends the wake-up message (wakeup_email) itself.
    complain(ctx,
             "wakeup: no etrn_domains; the wake-up message (wakeup_email) is sent by remote(8) when it "
             "starts and every wakeup_every");
    return 1;
  }
  int rc = 0;
  for (const auto& h : ctx.cfg.etrn_hosts) {
    auto hop = smtp::parse_next_hop(h);  // checked when the configuration was read
    if (!hop) {
      complain(ctx, "wakeup: etrn_hosts: " + h + ": " + hop.message());
      rc = 1;
      continue;
    }
    for (const auto& d : ctx.cfg.etrn_domains)
      if (etrn_at(ctx, *hop, lower(d), h + " " + lower(d) + ": ") != 0) rc = 1;
  }
  return rc;
}

}  // namespace mailctl
