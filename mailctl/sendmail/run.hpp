// The sendmail command's steps between main() and the queue: making the process safe to
// run set-group-ID (harden), who the caller is (from the real uid, never from the
// environment), and turning options plus message into an envelope and queue text.
#pragma once

#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/spool/queue_file.hpp"
#include "mailctl/sendmail/message.hpp"
#include "mailctl/sendmail/options.hpp"
#include "mailctl/sendmail/submit.hpp"

namespace sendmail {

// For a set-group-ID program: no core dumps, descriptors 0-2 open (on /dev/null if the
// caller closed them) and no others inherited, an empty environment, umask 077, SIGPIPE
// ignored. Nothing of the caller's environment is read before or after this.
void harden();

// True when the process runs with a group (or user) it was not started with, i.e. the
// installed setgid sendmail run by an ordinary user.
bool privileged();

struct Caller {
  unsigned long uid = 0;
  std::string login;      // from the password database by real uid
  std::string full_name;  // the passwd entry's name (first GECOS field), may be empty
};
common::Result<Caller> caller();

// Which configuration file to read: the compiled default, or -C FILE for root or an
// unprivileged run (tests). A setgid run by anyone else may not choose: the file decides
// where sendmail writes with its group's rights.
common::Result<std::string> config_path(const Options& o);

struct Prepared {
  common::spool::Envelope env;
  std::string text;  // the message for the queue file
};
// Builds the envelope (sender, recipients from the operands and, with -t, the headers)
// and the final text. `now` and `queue_id` are given so that tests are repeatable.
Exit prepare(const Options& o, const common::config::Config& cfg, const Caller& who, const std::string& raw,
             std::int64_t now, const std::string& queue_id, Prepared* out);

}  // namespace sendmail
