// mailbag-checkpassword: Dovecot's passdb program for IMAP logins (passdb driver
// checkpassword, as `mailctl dovecot config` writes it). Dovecot runs it once per login,
// as its auth process's user (mb-imapauth), with the login name and password on
// descriptor 3 and the client's address in TCPREMOTEIP. It asks the authentication
// daemon over private/auth (service "imap"; the daemon keeps the per-client failure
// limit and the IMAP-before-SMTP relay stamp), so Dovecot never sees a password hash and
// a changed, deleted or disabled account counts at the next login. On success it sets
// USER to the canonical account and executes Dovecot's reply program (argv[1]); otherwise
// it exits 1 (failed) or 111 (temporary failure). See mailbag-checkpassword(8).
#include <openssl/crypto.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/auth/protocol.hpp"
#include "common/config/config.hpp"
#include "common/ipc/client.hpp"
#include "common/privsep/drop.hpp"
#include "common/spool/layout.hpp"
#include "pop3d/checkpassword/checkpassword.hpp"

namespace {

constexpr int kInputFd = 3;
// The daemon holds a failed login's answer up to 8 seconds, and a yescrypt check waits
// its turn behind others: a generous bound, still short of a client's patience.
constexpr int kTimeoutMs = 30000;

[[noreturn]] void fail(int code, const std::string& why) {
  // Dovecot logs the program's standard error as the auth process's.
  std::fprintf(stderr, "mailbag-checkpassword: %s\n", why.c_str());
  std::exit(code);
}

std::string read_input() {
  std::string in;
  char buf[imap::kMaxInput + 1];
  for (;;) {
    ssize_t n = ::read(kInputFd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(imap::kExitTempFail, "cannot read descriptor 3 (not started by Dovecot?)");
    if (n == 0) break;
    in.append(buf, static_cast<std::size_t>(n));
    if (in.size() > imap::kMaxInput) break;
  }
  OPENSSL_cleanse(buf, sizeof buf);
  return in;
}

// The client's address as Dovecot gives it, or "" (the daemon's limit then counts
// every such login as one client).
std::string client_address() {
  const char* ip = std::getenv("TCPREMOTEIP");
  std::string s = ip ? ip : "";
  if (s.size() > common::auth::kMaxClient ||
      s.find_first_not_of("0123456789abcdefABCDEF.:") != std::string::npos)
    return "";
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::string conf = common::config::kDefaultPath;
  int arg = 1;
  if (arg + 1 < argc && std::string(argv[arg]) == "-c") {
    conf = argv[arg + 1];
    arg += 2;
  }
  if (arg >= argc)
    fail(imap::kExitTempFail, "usage: mailbag-checkpassword [-c mailbag.conf] REPLY-PROGRAM [ARGS...]");
  char** reply = argv + arg;

  // Run as root (a Dovecot whose auth process is root), it becomes mb-imapauth first.
  if (common::privsep::running_as_root()) common::privsep::drop("mailbag-checkpassword");

  // Lookups without a password (a checkpassword userdb, or a passdb lookup for a
  // non-plaintext mechanism) are not offered: Mailbag keeps no password Dovecot could
  // compare, and the configuration uses a static userdb.
  if (std::getenv("AUTHORIZED") != nullptr)
    fail(imap::kExitFailed, "lookups without a password are not supported (use the static userdb)");

  std::string input = read_input();
  auto cred = imap::parse_input(input);
  OPENSSL_cleanse(input.data(), input.size());
  if (!cred) fail(imap::kExitFailed, cred.message());
  if (!imap::safe_login(cred->login)) {
    OPENSSL_cleanse(cred->password.data(), cred->password.size());
    fail(imap::kExitFailed, "login name with characters outside letters, digits and .-_+@ refused");
  }
  if (cred->password.size() > common::auth::kMaxPassword) fail(imap::kExitFailed, "password too long");

  auto cfg = common::config::load(conf);
  if (!cfg) fail(imap::kExitTempFail, cfg.message());
  common::ipc::Peer peer{common::spool::Layout(*cfg).auth_socket(), common::ipc::kProtoAuth,
                         "mailbag-checkpassword", "the authentication daemon"};
  auto client = common::ipc::BlockingClient::connect(peer, kTimeoutMs);
  if (!client) fail(imap::kExitTempFail, client.message());

  common::ipc::AuthCheck req;
  req.request_id = 1;
  req.service = std::string(common::auth::kServiceImap);
  req.client = client_address();
  req.login = cred->login;
  req.password = std::move(cred->password);
  auto rep = client->call<common::ipc::AuthReply>(req);
  OPENSSL_cleanse(req.password.data(), req.password.size());
  if (!rep) fail(imap::kExitTempFail, rep.message());
  if (rep->request_id != req.request_id) fail(imap::kExitTempFail, "an answer to another request");
  int code = imap::exit_for(rep->result);
  if (code != 0) return code;  // a wrong password is the client's business, not the log's
  if (!imap::safe_login(rep->account))
    fail(imap::kExitTempFail, "the daemon answered an unusable account name");

  // Dovecot takes USER as the (possibly changed) user name: the canonical account, so
  // that "Demo@Example.TEST" and "demo" (one domain) reach the same Maildir.
  if (::setenv("USER", rep->account.c_str(), 1) != 0) fail(imap::kExitTempFail, "setenv");
  ::execv(reply[0], reply);
  fail(imap::kExitTempFail, std::string("cannot execute ") + reply[0]);
}
