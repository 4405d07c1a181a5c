// Fault-injection seam (a LevelDB Env in miniature) for the crash and disk-full tests.
// Spool code calls hit("name") at each step that can fail or be interrupted; normally it
// returns false at the cost of one branch. A daemon started with
//   MAILBAG_FAULTS="name[@N][:fail|:crash][,...]"
// makes the Nth (default: every) hit of that point fail with EIO ("fail") or kill the
// process on the spot with SIGKILL ("crash"). The setgid sendmail never reads it.
#pragma once

namespace common::spool::fault {

void init_from_env();
bool hit(const char* point);

}  // namespace common::spool::fault
