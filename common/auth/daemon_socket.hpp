// The listening socket of a daemon that serves smtpd and pop3d over a Unix socket (the
// authentication daemon and the TLS key daemon), opened while still root, with the peer
// policy that goes with it. Both daemons admit the same programs, so the rule lives here.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/auth/protocol.hpp"
#include "common/io/unique_fd.hpp"

namespace common::auth {

// Opens `path` mode 0660, group mb-auth (the group of smtpd and pop3d), and fills
// `policy`: enforced when running as root, `uids` = root, smtpd's and pop3d's users.
// Started by an ordinary user, the socket keeps that user's group and nothing is
// enforced. A missing user or group, or a socket that cannot be made, ends the program
// with a log line saying what to run.
io::UniqueFd listen_for_daemons(const std::string& path, PeerPolicy* policy);

// The uid of `program`'s user (common/privsep/users), or the end of the program with a
// log line when it does not exist.
uid_t program_uid_or_exit(const char* program);

}  // namespace common::auth
