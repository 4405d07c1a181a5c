# Privilege separation as the kernel sees it (only when the tests run as root, as in CI):
# each daemon runs as its own mb-* user with exactly its groups (mailbag(7), common/privsep/users.cpp),
# no capabilities and no_new_privs; the spool and the Maildirs have the owners and modes
# of mailbag-queue(5).
import grp
import os
import stat

import pytest

import harness
from messages import make_message

pytestmark = pytest.mark.skipif(not harness.is_root(), reason="needs root (daemons drop to mb-* users)")

# program -> (user, primary group, supplementary groups), as in common/privsep/users.cpp.
IDENTITIES = {
    "smtpd": ("mb-smtpd", "mb-smtpd", {"mb-drop", "mb-acct", "mb-auth", "mb-relay"}),
    "queue-manager": ("mb-queue", "mb-queue", {"mb-drop", "mb-acct"}),
    "local": ("mb-vmail", "mb-mail", {"mb-acct", "mb-drop"}),
    "mailbag-auth": ("mb-authd", "mb-authd", {"mb-acct", "mb-relay"}),
    "mailbag-tlskey": ("mb-tlskey", "mb-tlskey", set()),
}


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def gid_of(name):
    return grp.getgrnam(name).gr_gid


@pytest.mark.parametrize("program", sorted(IDENTITIES))
def test_daemon_runs_as_its_user_without_privileges(mb, program):
    user, group, groups = IDENTITIES[program]
    st = proc_status(mb.pid(program))
    uid = harness.uid_of(user)
    assert st["Uid"].split() == [str(uid)] * 4, (program, st["Uid"])
    assert st["Gid"].split() == [str(gid_of(group))] * 4, (program, st["Gid"])
    want = {gid_of(g) for g in groups | {group}}
    assert {int(g) for g in st["Groups"].split()} == want, (program, st["Groups"])
    assert st["CapEff"] == "0000000000000000", (program, st["CapEff"])
    assert st["CapPrm"] == "0000000000000000", (program, st["CapPrm"])
    assert st["CapAmb"] == "0000000000000000", (program, st["CapAmb"])
    assert st["NoNewPrivs"] == "1", (program, st["NoNewPrivs"])


def test_spool_and_maildir_ownership(mb):
    mid, msg = make_message("owner", 1)
    assert mb.send("demo@example.test", msg).code == 250
    mb.find_message("demo@example.test", mid)
    path = mb.maildir_messages("demo@example.test")[0]
    s = os.stat(path)
    # Maildirs belong to mb-vmail:mb-mail; mail is never world-readable.
    assert s.st_uid == harness.uid_of("mb-vmail"), path
    assert s.st_gid == gid_of("mb-mail"), path
    assert s.st_mode & 0o007 == 0, oct(s.st_mode)
    q = os.stat(os.path.join(mb.spool, "queue"))
    assert q.st_uid == harness.uid_of("mb-queue") and stat.S_IMODE(q.st_mode) == 0o700, oct(q.st_mode)
    inc = os.stat(os.path.join(mb.spool, "incoming"))
    # Drop directory: setgid + sticky, mb-drop may create but not list (mode 3730).
    assert inc.st_uid == harness.uid_of("mb-queue") and inc.st_gid == gid_of("mb-drop")
    assert stat.S_IMODE(inc.st_mode) == 0o3730, oct(inc.st_mode)
