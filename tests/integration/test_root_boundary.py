# Root's tools against what the unprivileged users can plant: every member of mb-mail
# (local, pop3d) can write anywhere in the mail tree, and the daemons share the
# databases' lock files. mailctl and relayctl run as root (by hand, from cron): they must
# never follow a symlink there, block on a FIFO, or open a file a daemon can write with
# root's rights.
import grp
import os
import signal
import stat
import subprocess
import tempfile
import time

import pytest

import harness
from messages import make_message

pytestmark = pytest.mark.skipif(not harness.is_root(), reason="needs root (the boundary is root's)")

DEMO = "demo@example.test"


def vmail_ids():
    return harness.uid_of("mb-vmail"), grp.getgrnam("mb-mail").gr_gid


def plant_as_vmail(fn):
    """Runs fn() in a child with mb-vmail's credentials, as a compromised local would."""
    uid, gid = vmail_ids()
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            fn()
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert status == 0, "planting as mb-vmail failed"


def test_user_add_never_follows_a_symlink_in_the_mail_tree(make_mailbag):
    # A member of mb-mail owns the domain directory (local made it at a delivery). The
    # moment root's `user add` has checked it, the attacker swaps it for a symlink to a
    # directory of root's; a path-based mkdir of domain/user then lands in the victim.
    # strace delays every mkdir by a second, so the swap always wins the race.
    m = make_mailbag()
    victim = tempfile.mkdtemp(prefix="mb-victim-", dir="/tmp")  # root's, 0700
    domain = os.path.join(m.mail, "evil.test")

    def make_domain():
        os.mkdir(domain)
        os.chmod(domain, 0o750)
    plant_as_vmail(make_domain)
    m.mailctl("domain", "add", "evil.test")

    def swap_when_fixed():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if stat.S_IMODE(os.lstat(domain).st_mode) == 0o770:
                os.rename(domain, domain + ".real")
                os.symlink(victim, domain)
                return
            time.sleep(0.002)
    attacker = os.fork()
    if attacker == 0:
        try:
            plant_as_vmail(swap_when_fixed)
        finally:
            os._exit(0)
    r = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=mkdir,mkdirat",
                        "-e", "inject=mkdir,mkdirat:delay_enter=1000000",
                        harness.bin_path("mailctl"), "-c", m.conf_path, "user", "add", "bob@evil.test"],
                       input="bob-secret\n", capture_output=True, text=True, timeout=60)
    os.waitpid(attacker, 0)
    assert "added user bob@evil.test" in r.stdout, r.stdout + r.stderr
    assert os.listdir(victim) == [], os.listdir(victim)
    os.rmdir(victim)


def test_user_add_creates_the_maildir_as_its_owner(make_mailbag):
    m = make_mailbag()
    m.mailctl("user", "add", "carol@example.test", input="carol-secret\n")
    uid, gid = vmail_ids()
    for rel in ("example.test", "example.test/carol", "example.test/carol/cur", "example.test/carol/new",
                "example.test/carol/tmp"):
        s = os.lstat(os.path.join(m.mail, rel))
        assert stat.S_ISDIR(s.st_mode), rel
        assert (s.st_uid, s.st_gid) == (uid, gid), (rel, s.st_uid, s.st_gid)
        assert stat.S_IMODE(s.st_mode) == 0o770, (rel, oct(s.st_mode))


def test_user_show_does_not_block_on_a_fifo_maildirsize(make_mailbag):
    m = make_mailbag()
    m.mailctl("user", "set", DEMO, "quota=1M")
    maildir = os.path.join(m.mail, "example.test", "demo")
    plant_as_vmail(lambda: os.mkfifo(os.path.join(maildir, "maildirsize"), 0o660))
    t0 = time.monotonic()
    r = subprocess.run([harness.bin_path("mailctl"), "-c", m.conf_path, "user", "show", DEMO],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t0 < 10
    assert "(counted)" in r.stdout, r.stdout


def test_delivery_goes_on_past_a_fifo_vacation_record(make_mailbag):
    m = make_mailbag()
    m.mailctl("user", "autoreply", DEMO, "on", "--text", "away")
    maildir = os.path.join(m.mail, "example.test", "demo")
    plant_as_vmail(lambda: os.mkfifo(os.path.join(maildir, "mailbag-vacation"), 0o660))
    mid, msg = make_message("fifo", 1)
    assert m.send(DEMO, msg, mail_from="alice@example.net").code == 250
    m.find_message(DEMO, mid, timeout=20)
    m.wait_for_log("local", r"vacation record of demo@example\.test: .*FIFO")
    # The local agent is still serving: a second message arrives as well.
    mid2, msg2 = make_message("fifo", 2)
    assert m.send(DEMO, msg2).code == 250
    m.find_message(DEMO, mid2, timeout=20)


def mapped(pid, path):
    """Does process `pid` have `path` open or mapped?"""
    with open("/proc/%d/maps" % pid) as f:
        if path in f.read():
            return True
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == path:
                return True
        except OSError:
            pass
    return False


def test_smtpd_opens_no_database_as_root(make_mailbag):
    # The lock files are writable by the daemons, so root must never open them. Make the
    # accounts database's lock file root's alone: smtpd can then open it only if root
    # did it for it before the drop (and it keeps the mapping afterwards).
    m = make_mailbag(start=False)
    m.extra_conf["pop_before_smtp"] = "yes"
    m.start()
    m.kill("smtpd", signal.SIGTERM)
    lock = os.path.join(m.data, "accounts.mdb-lock")
    os.chown(lock, 0, 0)
    os.chmod(lock, 0o600)
    m.start_daemon("smtpd")
    assert not mapped(m.pid("smtpd"), os.path.join(m.data, "accounts.mdb"))
    m.wait_for_log("smtpd", r"accounts database .*accounts\.mdb.*Permission denied")


def test_pop3d_opens_the_databases_as_mb_pop3d(make_mailbag):
    m = make_mailbag(start=False)
    m.extra_conf["pop_before_smtp"] = "yes"
    m.start()
    # A relay lock file that mb-pop3d cannot open: root used to open it (and hand it back
    # to mb-pop3d); pop3d now opens it only as itself and so refuses to start.
    lock = os.path.join(m.data, "relay.mdb-lock")
    os.chown(lock, 0, 0)
    os.chmod(lock, 0o600)
    with pytest.raises(Exception):
        m.start_pop3d()
    assert m.procs["pop3d"].wait(timeout=20) != 0
    assert "relay database" in m.logs("pop3d") and "Permission denied" in m.logs("pop3d")
    s = os.stat(lock)
    assert (s.st_uid, s.st_gid, stat.S_IMODE(s.st_mode)) == (0, 0, 0o600)


def relayctl(m, *args):
    return subprocess.run([harness.bin_path("relayctl"), "-c", m.conf_path] + list(args),
                          capture_output=True, text=True, timeout=30)


def test_relayctl_as_root_works_as_the_database_owner(make_mailbag):
    m = make_mailbag()
    db = os.path.join(m.data, "relay.mdb")
    lock = db + "-lock"
    os.unlink(lock)
    # `mailctl init` makes a missing lock file again, for the owner, mb-pop3d:mb-relay.
    m.mailctl("init")
    assert relayctl(m, "add", "192.0.2.1").returncode == 0
    s = os.stat(lock)
    assert (s.st_uid, s.st_gid) == (harness.uid_of("mb-pop3d"), grp.getgrnam("mb-relay").gr_gid)
    assert stat.S_IMODE(s.st_mode) == 0o660, oct(s.st_mode)
    # A database file mb-pop3d cannot open is not opened by root either.
    os.chown(db, 0, 0)
    os.chmod(db, 0o600)
    r = relayctl(m, "dump")
    assert r.returncode != 0 and "Permission denied" in r.stderr, r
    assert os.stat(db).st_uid == 0


def test_mailctl_edits_the_databases_as_their_owner(make_mailbag):
    m = make_mailbag()
    admin = harness.uid_of("mb-admin")
    for name in ("accounts.mdb", "accounts.mdb-lock", "passwd.mdb", "passwd.mdb-lock"):
        assert os.stat(os.path.join(m.data, name)).st_uid == admin, name
    # A lock file mb-admin cannot open: root's mailctl used to open it all the same.
    lock = os.path.join(m.data, "accounts.mdb-lock")
    os.chown(lock, 0, 0)
    os.chmod(lock, 0o600)
    r = m.mailctl("domain", "list", check=False)
    assert r.returncode != 0 and "Permission denied" in r.stderr, r
    # `init` gives it back to its owner; then the Maildir work still happens as mb-vmail.
    m.mailctl("init")
    assert os.stat(lock).st_uid == admin
    m.mailctl("user", "add", "erin@example.test", input="erin-secret\n")
    s = os.stat(os.path.join(m.mail, "example.test", "erin", "new"))
    assert (s.st_uid, s.st_gid) == vmail_ids()
    out = m.mailctl("user", "show", "erin@example.test").stdout
    assert "password     set" in out and "usage" in out, out
