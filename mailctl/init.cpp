// Implementation of `mailctl init` (see init.hpp). Owners and modes:
//   spool_directory  0755 root           incoming  3730 mb-queue:mb-drop
//   queue, corrupt, state  0700 mb-queue private   0755 mb-queue
//   data_directory   0755 root           accounts.mdb mb-admin:mb-acct, passwd.mdb
//                                        mb-admin:mb-authd (0640), relay.mdb mb-pop3d:mb-relay
//                                        (0660: two writers); locks 0660; root never opens them
//     quota/  0750 mb-vmail:mb-acct      srs.secret 0600 root:root (made once, random)
//   mail_directory   0770 mb-vmail:mb-mail
//   data_directory/dkim  0711 mb-dkim (DKIM keys)   spool/signer  0710 mb-dkim:mb-remote
//   spool/mta-sts  0700 mb-remote (cached MTA-STS policies)
//   spool/tlsrpt   0700 mb-remote (TLS sessions per day for the RFC 8460 reports)
#include "mailctl/init.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/accounts/accounts.hpp"
#include "common/accounts/passwd.hpp"
#include "common/io/fdio.hpp"
#include "common/mail/srs.hpp"
#include "common/privsep/as_user.hpp"
#include "common/privsep/drop.hpp"
#include "common/relaydb/relaydb.hpp"
#include "mailctl/args.hpp"
#include "mailctl/system_users.hpp"

namespace mailctl {

using common::Status;

std::vector<Spec> directory_plan(const common::spool::Layout& l) {
  return {
      {l.spool, 0755, "root", "root"},
      {l.incoming(), 03730, "mb-queue", "mb-drop"},
      {l.queue(), 0700, "mb-queue", "mb-queue"},
      {l.corrupt(), 0700, "mb-queue", "mb-queue"},
      {l.state(), 0700, "mb-queue", "mb-queue"},
      {l.private_dir(), 0755, "mb-queue", "mb-queue"},
      {l.data, 0755, "root", "root"},
      {l.quota_flags(), 0750, "mb-vmail", "mb-acct"},
      {l.mail, 0770, "mb-vmail", "mb-mail"},
      {l.dkim_keys(), 0711, "mb-dkim", "mb-dkim"},
      {l.signer_dir(), 0710, "mb-dkim", "mb-remote"},
      {l.mta_sts_cache(), 0700, "mb-remote", "mb-remote"},
      {l.tlsrpt(), 0700, "mb-remote", "mb-remote"},
  };
}

std::vector<DbSpec> database_plan(const common::spool::Layout& l) {
  auto db = [](DbKind k, const std::string& path, const char* user, const char* group, mode_t mode = 0640) {
    return DbSpec{k, Spec{path, mode, user, group}, Spec{path + "-lock", 0660, user, group}};
  };
  return {
      db(DbKind::kAccounts, l.accounts_db(), "mb-admin", "mb-acct"),
      db(DbKind::kPasswd, l.passwd_db(), "mb-admin", "mb-authd"),
      db(DbKind::kRelay, l.relay_db(), common::relaydb::kOwner, common::relaydb::kGroup,
         common::relaydb::kDataMode),
  };
}

namespace {

// Opens (creating if missing) and closes the database, leaving the data and lock files.
Status create_db(DbKind kind, const std::string& path) {
  switch (kind) {
    case DbKind::kAccounts: {
      auto a = common::accounts::Accounts::open(path, true);
      return a ? Status::ok() : a.status();
    }
    case DbKind::kPasswd: {
      auto p = common::accounts::Passwords::open(path, true);
      return p ? Status::ok() : p.status();
    }
    case DbKind::kRelay: {
      auto r = common::relaydb::RelayDb::open(path, common::relaydb::RelayDb::Mode::kWrite);
      return r ? Status::ok() : r.status();
    }
  }
  return Status::error("unknown database kind");
}

// A new empty file owned by s.user:s.group with s.mode (nothing if it exists), for a
// database its owner then opens: root never opens one that a daemon could have written.
Status precreate(const Spec& s) {
  common::io::UniqueFd fd(::open(s.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return errno == EEXIST ? Status::ok() : Status::sys("create " + s.path);
  auto uid = common::privsep::user_id(s.user);
  if (!uid) return uid.status();
  auto gid = common::privsep::group_id(s.group);
  if (!gid) return gid.status();
  if (::fchown(fd.get(), *uid, *gid) != 0) return Status::sys("chown " + s.path);
  if (::fchmod(fd.get(), s.mode) != 0) return Status::sys("chmod " + s.path);
  return Status::ok();
}

// The SRS key (common/mail/srs.hpp): made once, never replaced, since every SRS address
// handed out so far depends on it.
Status make_srs_secret(const common::spool::Layout& l, bool as_root, std::vector<std::string>* report) {
  // Root's alone: local and smtpd read it before they drop privileges, and no daemon
  // user can read it afterwards.
  Spec spec{l.srs_secret(), 0600, "root", "root"};
  struct stat st;
  if (::lstat(spec.path.c_str(), &st) != 0) {
    auto secret = common::mail::srs::new_secret();
    if (!secret) return secret.status();
    // Written whole under a temporary name, then linked into place: a concurrent init
    // never sees a half-written key, and the first link wins.
    std::string tmp = spec.path + ".tmp." + std::to_string(::getpid());
    common::io::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) return Status::sys("create " + tmp);
    Status written = common::io::write_all(fd.get(), *secret + "\n");
    if (written.is_ok()) written = common::io::fsync_fd(fd.get(), "srs.secret");
    int linked = written.is_ok() ? ::link(tmp.c_str(), spec.path.c_str()) : -1;
    int link_errno = errno;
    ::unlink(tmp.c_str());
    MB_TRY(written);
    if (linked != 0 && link_errno == EEXIST) return ensure_file(spec, as_root, report);
    if (linked != 0) return Status::error("link " + spec.path + ": " + std::strerror(link_errno), link_errno);
    std::vector<std::string> ignored;
    MB_TRY(ensure_file(spec, as_root, &ignored));
    report->push_back("created " + spec.path + " (mode 0600, " +
                      (as_root ? std::string("root:root") : std::string("owned by the caller")) + ")");
    return Status::ok();
  }
  return ensure_file(spec, as_root, report);
}

Status build_tree(Context& ctx, std::vector<std::string>* report) {
  auto l = ctx.layout();
  for (const std::string& root : {l.spool, l.data, l.mail}) {
    auto slash = root.rfind('/');
    if (slash != std::string::npos && slash > 0) MB_TRY(common::io::make_dirs(root.substr(0, slash), 0755));
  }
  for (const auto& s : directory_plan(l)) MB_TRY(ensure_dir(s, ctx.as_root, report));
  for (const auto& db : database_plan(l)) {
    struct stat st;
    bool existed = ::lstat(db.data.path.c_str(), &st) == 0;
    if (!existed || ::lstat(db.lock.path.c_str(), &st) != 0) {
      // Also re-creates a missing lock file. A database's lock file is shared with the
      // daemons: root never opens it. Root only makes the two empty files in its own
      // data directory and hands them over; their owner lays the database out.
      if (ctx.as_root) {
        MB_TRY(precreate(db.data));
        MB_TRY(precreate(db.lock));
        MB_TRY(common::privsep::run_as({db.data.user, db.data.group},
                                       [&] { return create_db(db.kind, db.data.path); }));
      } else {
        MB_TRY(create_db(db.kind, db.data.path));
      }
    }
    // Owner and mode of what was just created are not news; fixes to old files are.
    std::vector<std::string> fixes;
    MB_TRY(ensure_file(db.data, ctx.as_root, &fixes));
    MB_TRY(ensure_file(db.lock, ctx.as_root, &fixes));
    if (!existed)
      report->push_back(
          "created " + db.data.path + " (mode " + mode_text(db.data.mode) + ", lock " +
          mode_text(db.lock.mode) + ", " +
          (ctx.as_root ? db.data.user + ":" + db.data.group : std::string("owned by the caller")) + ")");
    else
      report->insert(report->end(), fixes.begin(), fixes.end());
  }
  MB_TRY(make_srs_secret(l, ctx.as_root, report));
  if (ctx.as_root)
    for (const std::string& root : {l.spool, l.data, l.mail}) check_search_path(root, report);
  return Status::ok();
}

}  // namespace

int cmd_init(Context& ctx) {
  std::vector<std::string> report;
  Status st;
  if (ctx.as_root) st = ensure_system_accounts(&report);
  if (st) st = build_tree(ctx, &report);
  for (const auto& line : report) std::fprintf(ctx.out, "%s\n", line.c_str());
  if (!st) {
    complain(ctx, "init: " + st.message());
    return EX_IOERR;
  }
  if (report.empty()) std::fprintf(ctx.out, "nothing to do: the tree is complete\n");
  return kExitOk;
}

}  // namespace mailctl
