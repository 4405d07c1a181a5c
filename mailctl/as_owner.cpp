// Implementation of the database owner's child and the mail-tree requests (see
// as_owner.hpp). Requests and replies are SOCK_SEQPACKET frames: "op\0arg\0arg",
// answered by "" (done) or "<errno> <message>".
#include "mailctl/as_owner.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#include "common/io/unique_fd.hpp"
#include "common/ipc/socket.hpp"
#include "common/maildir/maildirsize.hpp"
#include "common/maildir/quota_flags.hpp"
#include "common/privsep/as_user.hpp"
#include "mailctl/fs.hpp"
#include "mailctl/values.hpp"

namespace mailctl {

using common::Status;

namespace {

constexpr const char* kVacationFile = "mailbag-vacation";  // delivery/local/autoreply.hpp

// The socket to the root parent inside run_as_db_owner's child; -1 elsewhere.
int g_parent = -1;

bool component(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos;
}

// "domain/local" -> {"domain", "local"}, or nothing for anything else.
std::vector<std::string> maildir_parts(const std::string& rel) {
  auto slash = rel.find('/');
  if (slash == std::string::npos) return {};
  std::vector<std::string> p = {rel.substr(0, slash), rel.substr(slash + 1)};
  if (!component(p[0]) || !component(p[1])) return {};
  return p;
}

common::Result<common::io::UniqueFd> mail_root(Context& ctx) {
  const std::string& base = ctx.cfg.mail_directory;
  common::io::UniqueFd root(::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root) return Status::sys("open " + base);
  return root;
}

// The Maildir `rel` as a directory fd, every component opened with O_NOFOLLOW.
common::Result<common::io::UniqueFd> open_maildir(Context& ctx, const std::vector<std::string>& parts) {
  auto root = mail_root(ctx);
  if (!root) return root.status();
  common::io::UniqueFd cur = std::move(*root);
  for (const auto& p : parts) {
    common::io::UniqueFd next(
        ::openat(cur.get(), p.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next)
      return Status::sys("open " + ctx.cfg.mail_directory + "/" + parts[0] + (p == parts[0] ? "" : "/" + p));
    cur = std::move(next);
  }
  return cur;
}

// One request, done by this process (already the Maildirs' owner, or not root at all).
Status perform(Context& ctx, const std::vector<std::string>& req) {
  const std::string& op = req.empty() ? std::string() : req[0];
  if (op == "maildir" && req.size() == 3) {
    std::vector<std::string> report;  // owner and mode fixes are not news here
    auto root = mail_root(ctx);
    if (!root) return root.status();
    std::string path = ctx.cfg.mail_directory + "/" + req[1];
    auto d = ensure_dir_at(root->get(), req[1], path, 0770, &report);
    if (!d) return d.status();
    path += "/" + req[2];
    auto u = ensure_dir_at(d->get(), req[2], path, 0770, &report);
    if (!u) return u.status();
    for (const char* sub : {"cur", "new", "tmp"}) {
      auto s = ensure_dir_at(u->get(), sub, path + "/" + sub, 0770, &report);
      if (!s) return s.status();
    }
    return Status::ok();
  }
  if (op == "unflag" && req.size() == 2)
    return common::maildir::clear_full_flag(ctx.layout().quota_flags(), req[1]);
  if (op == "vacation" && req.size() == 2) {
    auto parts = maildir_parts(req[1]);
    if (parts.empty()) return Status::error("bad Maildir path '" + req[1] + "'");
    auto md = open_maildir(ctx, parts);
    if (!md) return md.status().err() == ENOENT ? Status::ok() : md.status();
    if (::unlinkat(md->get(), kVacationFile, 0) < 0 && errno != ENOENT)
      return Status::sys("remove " + ctx.cfg.mail_directory + "/" + req[1] + "/" + kVacationFile);
    return Status::ok();
  }
  if (op == "usage" && req.size() == 3) {
    auto parts = maildir_parts(req[1]);
    char* end = nullptr;
    long long quota = std::strtoll(req[2].c_str(), &end, 10);
    if (parts.empty() || end == req[2].c_str() || *end != '\0' || quota < 0)
      return Status::error("bad usage request");
    std::string maildir = ctx.cfg.mail_directory + "/" + req[1];
    auto usage = common::maildir::read_usage(maildir, {static_cast<std::uint64_t>(quota), 0},
                                             {false, static_cast<std::int64_t>(std::time(nullptr))});
    std::string v;
    if (usage) {
      v = format_size(usage->usage.bytes) + " in " + std::to_string(usage->usage.count) + " message(s)";
      if (usage->usage.bytes == 0) v = "0 bytes in " + std::to_string(usage->usage.count) + " message(s)";
      if (quota > 0) v += ", " + std::to_string(usage->usage.bytes * 100 / quota) + "%";
      v += usage->recalculated ? " (counted)" : " (maildirsize)";
    } else {
      v = "unknown: " + usage.message();
    }
    std::fprintf(ctx.out, "%-12s %s\n", "usage", v.c_str());
    std::fflush(ctx.out);
    return Status::ok();
  }
  return Status::error("unknown request");
}

Status as_vmail(Context& ctx, const std::vector<std::string>& req) {
  if (!ctx.as_root) return perform(ctx, req);
  return common::privsep::run_as({"mb-vmail", "mb-mail"}, [&] { return perform(ctx, req); });
}

// From the database owner's child: asks the root parent and waits for the answer.
Status ask_parent(Context& ctx, const std::vector<std::string>& req) {
  std::fflush(ctx.out);
  std::fflush(ctx.err);
  std::string frame;
  for (const auto& r : req) {
    if (r.find('\0') != std::string::npos) return Status::error("NUL in a request");
    frame += (frame.empty() ? "" : std::string(1, '\0')) + r;
  }
  MB_TRY(common::ipc::send_frame(g_parent, frame));
  auto reply = common::ipc::recv_frame(g_parent);
  if (!reply) return reply.status();
  if (reply->eof) return Status::error("the parent process went away");
  if (reply->data.empty()) return Status::ok();
  auto sp = reply->data.find(' ');
  return Status::error(sp == std::string::npos ? reply->data : reply->data.substr(sp + 1),
                       std::atoi(reply->data.c_str()));
}

Status request(Context& ctx, const std::vector<std::string>& req) {
  if (g_parent >= 0) return ask_parent(ctx, req);
  return as_vmail(ctx, req);
}

// The root parent: serves the child's requests until it exits.
void serve(Context& ctx, int sock) {
  for (;;) {
    auto f = common::ipc::recv_frame(sock);
    if (!f || f->eof) return;
    std::vector<std::string> req;
    std::size_t pos = 0;
    for (;;) {
      auto nul = f->data.find('\0', pos);
      req.push_back(f->data.substr(pos, nul == std::string::npos ? std::string::npos : nul - pos));
      if (nul == std::string::npos) break;
      pos = nul + 1;
    }
    Status st = Status::ok();
    if (req[0] == "maildir" && (req.size() != 3 || !component(req[1]) || !component(req[2])))
      st = Status::error("bad Maildir name");
    if (st) st = as_vmail(ctx, req);
    std::string reply = st ? std::string() : std::to_string(st.err()) + " " + st.message();
    if (!common::ipc::send_frame(sock, reply)) return;
  }
}

}  // namespace

int run_as_db_owner(Context& ctx, const std::function<int()>& command) {
  if (!ctx.as_root) return command();
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    complain(ctx, std::string("socketpair: ") + std::strerror(errno));
    return EX_OSERR;
  }
  common::io::UniqueFd parent_end(sv[0]), child_end(sv[1]);
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    complain(ctx, std::string("fork: ") + std::strerror(errno));
    return EX_OSERR;
  }
  if (pid == 0) {
    parent_end.reset();
    Status st = common::privsep::become({kDbOwner, kDbOwner, {"mb-acct", "mb-authd"}});
    int rc = EX_NOPERM;
    if (st) {
      g_parent = child_end.get();
      rc = command();
    } else {
      complain(ctx, "cannot act as " + std::string(kDbOwner) + ": " + st.message() + " (run 'mailctl init')");
    }
    std::fflush(nullptr);
    ::_exit(rc);
  }
  child_end.reset();
  serve(ctx, parent_end.get());
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return EX_OSERR;
  return WIFEXITED(status) ? WEXITSTATUS(status) : EX_SOFTWARE;
}

Status make_maildir(Context& ctx, const std::string& domain, const std::string& local) {
  if (!component(domain) || !component(local)) return Status::error("bad Maildir name");
  return request(ctx, {"maildir", domain, local});
}

Status clear_full_flag(Context& ctx, const std::string& address) { return request(ctx, {"unflag", address}); }

Status reset_vacation(Context& ctx, const std::string& maildir) {
  return request(ctx, {"vacation", maildir});
}

Status print_usage(Context& ctx, const std::string& maildir, std::int64_t quota) {
  return request(ctx, {"usage", maildir, std::to_string(quota)});
}

}  // namespace mailctl
