// mailctl: the administrator's tool for the Mailbag tree, domains, users and passwords.
// Runs as its caller (root in production: then `init` creates the system users and sets
// owners). Touches spool_directory, data_directory (accounts.mdb, passwd.mdb, relay.mdb)
// and mail_directory; reads passwords from standard input, never from arguments. Talks
// to the queue manager on spool/private/control (queue commands) and to DNS (check-dns).
#include <unistd.h>

#include <string>
#include <vector>

#include "common/log/log.hpp"
#include "mailctl/args.hpp"
#include "mailctl/commands.hpp"

int main(int argc, char** argv) {
  common::log::init("mailctl", common::log::Target::kStderr);
  std::vector<std::string> args = mailctl::args_for_program(argv[0] ? argv[0] : "mailctl",
                                                            std::vector<std::string>(argv + 1, argv + argc));
  return mailctl::run(args, ::geteuid() == 0, stdin, stdout, stderr);
}
