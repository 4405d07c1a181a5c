# Privilege separation, verified as the kernel enforces it (root only, as in CI).
# All six daemons run; for each, the test reads its real credentials from
# /proc/PID/status (uid, gid, supplementary groups, capabilities, no_new_privs) and then
# runs probes with exactly those credentials (setpriv) against the live spool, databases
# and Maildirs, to show what the daemon can and cannot do:
#   smtpd   can create files in spool/incoming but not list it, cannot read the queue,
#           the queue state or the Maildirs, cannot reach the agents' or the control
#           socket, cannot read the TLS key once running; reads accounts.mdb but cannot
#           write it, and cannot open passwd.mdb: AUTH asks the authentication daemon;
#   pop3d   cannot touch the queue or the drop directory, nor submit mail, nor open
#           passwd.mdb;
#   mailbag-auth reads passwd.mdb and accounts.mdb (writes neither; it stamps relay.mdb
#           for IMAP logins), and touches no
#           queue, drop directory, Maildir or TLS key;
#   mailbag-tlskey holds the TLS private key (read as root before the drop) and touches
#           nothing else; smtpd and pop3d reach its socket, and the key is nowhere in
#           their memory (the test searches it for the private exponent);
#   remote  cannot read any database, Maildir or queue file (it gets message fds);
#   local   cannot read the queue or the password hashes;
#   queue-manager cannot read the Maildirs or the password hashes.
# It also checks that no daemon keeps a descriptor it should not have (the TLS key, the
# queue directory in smtpd or pop3d).
import grp
import json
import os
import shutil
import socket
import ssl
import subprocess

import pytest

import harness
from messages import make_message
from procmem import memory_contains, private_exponent_slices
from remote_peers import start_remote

pytestmark = [
    pytest.mark.skipif(not harness.is_root(), reason="needs root (daemons drop to mb-* users)"),
    pytest.mark.skipif(not shutil.which("setpriv"), reason="needs setpriv"),
]

USER = "demo@example.test"

# Runs with a daemon's credentials; argv[1] is a JSON list of [operation, path]; prints
# {"op path": "ok" | errno name}.
PROBE = r"""
import errno, json, os, socket, sys
out = {}
for op, path in json.loads(sys.argv[1]):
    try:
        if op == "list":
            os.listdir(path)
        elif op == "read":
            with open(path, "rb") as f:
                f.read(1)
        elif op == "write":
            os.close(os.open(path, os.O_WRONLY))
        elif op == "create":
            p = os.path.join(path, ".probe-%d" % os.getpid())
            os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            os.unlink(p)
        elif op == "tmpfile":
            os.close(os.open(path, os.O_TMPFILE | os.O_RDWR, 0o600))
        elif op in ("connect", "speak"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.settimeout(5)
            try:
                s.connect(path)
                if op == "speak":
                    # Says Hello as a delivery agent: does the queue manager listen?
                    hello = b"".join(len(x).to_bytes(4, "big") + x if isinstance(x, bytes) else x
                                     for x in (b"mailbag-deliver", (4).to_bytes(4, "big"), b"local"))
                    try:
                        s.send((6 + len(hello)).to_bytes(4, "big") + (1).to_bytes(2, "big") + hello)
                        while s.recv(70000):
                            pass
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    raise OSError(errno.ECONNRESET, "dropped")  # it hung up on us
            except socket.timeout:
                pass  # still connected after 5 s: it listens
            finally:
                s.close()
        out[op + " " + path] = "ok"
    except OSError as e:
        out[op + " " + path] = errno.errorcode.get(e.errno, str(e.errno))
print(json.dumps(out))
"""

IDENTITIES = {  # common/privsep/users.cpp
    "smtpd": ("mb-smtpd", "mb-smtpd", {"mb-drop", "mb-acct", "mb-auth", "mb-relay"}),
    "queue-manager": ("mb-queue", "mb-queue", {"mb-drop", "mb-acct"}),
    "local": ("mb-vmail", "mb-mail", {"mb-acct", "mb-drop"}),
    "remote": ("mb-remote", "mb-remote", set()),
    "pop3d": ("mb-pop3d", "mb-pop3d", {"mb-auth", "mb-relay"}),
    "mailbag-auth": ("mb-authd", "mb-authd", {"mb-acct", "mb-relay"}),
    "mailbag-tlskey": ("mb-tlskey", "mb-tlskey", set()),
    "pop3-mailbox": ("mb-pop3mbox", "mb-pop3mbox", {"mb-mail", "mb-auth"}),
}


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def probe(pid, checks):
    """Runs the checks with the credentials process `pid` has now."""
    st = proc_status(pid)
    uid, gid = st["Uid"].split()[0], st["Gid"].split()[0]
    groups = st["Groups"].split()
    cmd = ["setpriv", "--reuid=" + uid, "--regid=" + gid]
    cmd += ["--groups=" + ",".join(groups)] if groups else ["--clear-groups"]
    cmd += ["--", "/usr/bin/python3", "-c", PROBE, json.dumps(checks)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def server():
    """One Mailbag with all five daemons; a delivered message in the Maildir and one
    more waiting in the queue (local stopped meanwhile)."""
    m = harness.Mailbag()
    try:
        m.start()
        start_remote(m)
        m.start_pop3d()
        mid, msg = make_message("hardening", 1)
        assert m.send(USER, msg).code == 250
        m.find_message(USER, mid)
        m.kill("local")
        r = m.send(USER, make_message("hardening", 2)[1])
        assert r.code == 250
        m.mailctl("queue", "hold", r.queue_id)
        m.start_daemon("local")
        for _ in harness.deadline_loop(10, "local to drop its privileges"):
            if proc_status(m.pid("local"))["Uid"].split()[0] != "0":
                break
        m.queue_id = r.queue_id
        yield m
    finally:
        m.cleanup()


def paths(m):
    msg = m.maildir_messages(USER)[0]
    return {
        "incoming": os.path.join(m.spool, "incoming"),
        "queue": os.path.join(m.spool, "queue"),
        "state": os.path.join(m.spool, "state", "queue.mdb"),
        "corrupt": os.path.join(m.spool, "corrupt"),
        "submit": os.path.join(m.spool, "private", "submit"),
        "local_sock": os.path.join(m.spool, "private", "local"),
        "remote_sock": os.path.join(m.spool, "private", "remote"),
        "control": os.path.join(m.spool, "private", "control"),
        "auth_sock": os.path.join(m.spool, "private", "auth"),
        "tlskey_sock": os.path.join(m.spool, "private", "tlskey"),
        "accounts": os.path.join(m.data, "accounts.mdb"),
        "passwd": os.path.join(m.data, "passwd.mdb"),
        "srs": os.path.join(m.data, "srs.secret"),
        "maildir": m.maildir(USER),
        "maildir_new": os.path.join(m.maildir(USER), "new"),
        "message": msg,
        "key": os.path.join(m.dir, "key.pem"),
    }


def expect(m, program, wanted):
    p = paths(m)
    checks = [[op, p[name]] for (op, name) in wanted]
    got = probe(m.pid(program), checks)
    bad = {}
    for (op, name), want in wanted.items():
        key = op + " " + p[name]
        if got[key] != want:
            bad["%s %s" % (op, name)] = "got %s, want %s" % (got[key], want)
    assert not bad, (program, bad)


@pytest.mark.parametrize("program", sorted(IDENTITIES))
def test_each_daemon_runs_as_its_user_with_no_capabilities(server, program):
    user, group, groups = IDENTITIES[program]
    st = proc_status(server.pid(program))
    assert st["Uid"].split() == [str(harness.uid_of(user))] * 4, st["Uid"]
    assert st["Gid"].split() == [str(grp.getgrnam(group).gr_gid)] * 4, st["Gid"]
    assert {int(g) for g in st["Groups"].split()} == {grp.getgrnam(g).gr_gid for g in groups | {group}}
    for cap in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
        assert st[cap] == "0000000000000000", (program, cap, st[cap])
    assert st["NoNewPrivs"] == "1", program


def test_smtpd_can_drop_mail_but_not_read_the_queue(server):
    m = server
    q = os.path.join(m.spool, "queue", m.queue_id)
    assert os.path.exists(q), "the probe needs a message waiting in the queue"
    expect(m, "smtpd", {
        ("tmpfile", "incoming"): "ok",       # writes new messages into the drop directory,
        ("list", "incoming"): "EACCES",      # but cannot see anyone else's
        # The write permission O_TMPFILE needs also lets it name a file there; nothing
        # reads incoming/ by name, and the sticky bit keeps writers off each other's.
        ("create", "incoming"): "ok",
        ("list", "queue"): "EACCES",
        ("read", "state"): "EACCES",
        ("list", "corrupt"): "EACCES",
        ("connect", "submit"): "ok",
        ("connect", "local_sock"): "EACCES",
        ("connect", "remote_sock"): "EACCES",
        ("connect", "control"): "EACCES",
        ("read", "accounts"): "ok",          # recipient checks
        ("write", "accounts"): "EACCES",
        ("read", "passwd"): "EACCES",        # AUTH asks the authentication daemon
        ("write", "passwd"): "EACCES",
        ("connect", "auth_sock"): "ok",
        ("connect", "tlskey_sock"): "ok",    # handshakes ask the TLS key daemon
        ("list", "maildir"): "EACCES",
        ("read", "message"): "EACCES",
        ("read", "key"): "EACCES",           # never read: the key daemon holds it
    })
    r = probe(m.pid("smtpd"), [["read", q]])
    assert r["read " + q] == "EACCES", r


def test_pop3d_cannot_write_the_queue_or_submit(server):
    m = server
    expect(m, "pop3d", {
        ("list", "queue"): "EACCES",
        ("create", "queue"): "EACCES",
        ("tmpfile", "incoming"): "EACCES",
        ("connect", "submit"): "EACCES",
        ("read", "state"): "EACCES",
        ("write", "accounts"): "EACCES",
        ("read", "passwd"): "EACCES",        # logins ask the authentication daemon
        ("write", "passwd"): "EACCES",
        ("connect", "auth_sock"): "ok",
        ("connect", "tlskey_sock"): "ok",
        ("list", "maildir"): "EACCES",       # the mailbox process serves the Maildirs
        ("read", "message"): "EACCES",
        ("read", "key"): "EACCES",
        ("connect", "local_sock"): "EACCES",
    })


def test_the_pop3_mailbox_process_reads_maildirs_and_nothing_else(server):
    expect(server, "pop3-mailbox", {
        ("read", "message"): "ok",           # it serves the Maildirs
        ("list", "queue"): "EACCES",
        ("tmpfile", "incoming"): "EACCES",
        ("connect", "submit"): "EACCES",
        ("read", "accounts"): "EACCES",      # the authentication daemon names the Maildir
        ("read", "passwd"): "EACCES",
        ("read", "key"): "EACCES",           # pop3d keeps TLS and relays it
        ("connect", "auth_sock"): "ok",      # to redeem login tokens
        # private/local belongs to group mb-mail, which it needs for the Maildirs, so the
        # kernel lets it connect; the queue manager checks the peer's uid and hangs up.
        ("speak", "local_sock"): "ECONNRESET",
    })


def test_remote_reads_nothing_but_the_descriptors_it_is_given(server):
    expect(server, "remote", {
        ("read", "accounts"): "EACCES",
        ("read", "passwd"): "EACCES",
        ("list", "maildir"): "EACCES",
        ("read", "message"): "EACCES",
        ("list", "queue"): "EACCES",
        ("read", "state"): "EACCES",
        ("tmpfile", "incoming"): "EACCES",
        ("connect", "submit"): "EACCES",
        ("connect", "remote_sock"): "ok",
        ("connect", "local_sock"): "EACCES",
        ("connect", "auth_sock"): "EACCES",
        ("connect", "tlskey_sock"): "EACCES",
    })


def test_local_cannot_read_the_queue_or_passwords(server):
    expect(server, "local", {
        ("list", "queue"): "EACCES",
        ("read", "state"): "EACCES",
        ("read", "passwd"): "EACCES",
        ("write", "accounts"): "EACCES",
        ("create", "maildir_new"): "ok",     # it delivers
        ("tmpfile", "incoming"): "ok",       # forwards go back into the queue
        ("connect", "control"): "EACCES",
        ("read", "key"): "EACCES",
    })


def test_the_auth_daemon_reads_the_hashes_and_nothing_of_the_mail(server):
    expect(server, "mailbag-auth", {
        ("read", "passwd"): "ok",            # the only daemon that can
        ("write", "passwd"): "EACCES",
        ("read", "accounts"): "ok",          # which account a login name means
        ("write", "accounts"): "EACCES",
        ("list", "maildir"): "EACCES",
        ("read", "message"): "EACCES",
        ("list", "queue"): "EACCES",
        ("tmpfile", "incoming"): "EACCES",
        ("connect", "submit"): "EACCES",
        ("read", "key"): "EACCES",
    })


def test_queue_manager_cannot_read_mailboxes_or_passwords(server):
    expect(server, "queue-manager", {
        ("list", "maildir"): "EACCES",
        ("read", "message"): "EACCES",
        ("read", "passwd"): "EACCES",
        ("write", "accounts"): "EACCES",
        ("read", "accounts"): "ok",
        ("read", "key"): "EACCES",
    })


def test_the_tls_key_daemon_holds_the_key_and_nothing_else(server):
    expect(server, "mailbag-tlskey", {
        ("read", "key"): "EACCES",           # read as root before the drop (0600 root here)
        ("read", "passwd"): "EACCES",
        ("read", "accounts"): "EACCES",
        ("list", "maildir"): "EACCES",
        ("list", "queue"): "EACCES",
        ("tmpfile", "incoming"): "EACCES",
        ("connect", "submit"): "EACCES",
        ("connect", "auth_sock"): "EACCES",
    })


def test_the_tls_key_is_not_in_smtpd_or_pop3d(server):
    m = server
    key = os.path.join(m.dir, "key.pem")
    d = private_exponent_slices(key)
    # A handshake on each, so that any key they held would have been used.
    ctx = ssl._create_unverified_context()
    for port in (m.ports["submissions_listen"], m.ports["pop3s_listen"]):
        with socket.create_connection((m.host, port), timeout=10) as raw, ctx.wrap_socket(raw):
            pass
    # The probe works: the key daemon's memory has the exponent.
    assert memory_contains(m.pid("mailbag-tlskey"), d)
    for program in ("smtpd", "pop3d"):
        pid = m.pid(program)
        assert not memory_contains(pid, d), program
        with open("/proc/%d/maps" % pid) as f:
            assert os.path.realpath(key) not in f.read(), program


@pytest.mark.parametrize("program", sorted(IDENTITIES))
def test_no_daemon_user_can_read_the_srs_key(server, program):
    # local and smtpd read it as root before they drop privileges; the file is root's.
    expect(server, program, {("read", "srs"): "EACCES"})


def test_no_daemon_keeps_a_descriptor_it_should_not_have(server):
    m = server
    key = os.path.realpath(os.path.join(m.dir, "key.pem"))
    queue = os.path.realpath(os.path.join(m.spool, "queue"))
    for program in IDENTITIES:
        pid = m.pid(program)
        targets = []
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                targets.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
            except OSError:
                pass
        assert key not in targets, (program, targets)
        if program in ("smtpd", "pop3d", "remote", "local", "pop3-mailbox"):
            assert not [t for t in targets if t == queue or t.startswith(queue + "/")], (program, targets)


UNIT_SOURCES = {  # program -> its systemd unit template (installed by make install)
    "smtpd": "smtpd/mailbag-smtpd.service.in",
    "queue-manager": "queue-manager/mailbag-queue-manager.service.in",
    "local": "delivery/local/mailbag-local.service.in",
    "remote": "delivery/remote/mailbag-remote.service.in",
    "pop3d": "pop3d/mailbag-pop3d.service.in",
    "mailbag-auth": "common/authd/mailbag-auth.service.in",
    "mailbag-tlskey": "common/tlskey/mailbag-tlskey.service.in",
    "pop3-mailbox": "pop3d/mailbox/mailbag-pop3-mailbox.service.in",
}


def unit_capabilities(program):
    with open(os.path.join(harness.REPO, UNIT_SOURCES[program])) as f:
        for line in f:
            if line.startswith("CapabilityBoundingSet="):
                return line.split("=", 1)[1].split()
    raise AssertionError("%s has no CapabilityBoundingSet" % UNIT_SOURCES[program])


def bounded_build(directory, caps):
    """A build directory whose bin/ runs each daemon under `setpriv --bounding-set` with
    the capabilities caps[program], as systemd does with CapabilityBoundingSet=, and
    no_new_privs (NoNewPrivileges=yes)."""
    b = os.path.join(directory, "bin")
    os.makedirs(b)
    for name in os.listdir(os.path.join(harness.build_dir(), "bin")):
        real = os.path.join(harness.build_dir(), "bin", name)
        if name not in caps:
            os.symlink(real, os.path.join(b, name))
            continue
        bset = ",".join(["-all"] + ["+" + c[len("CAP_"):].lower() for c in caps[name]])
        with open(os.path.join(b, name), "w") as f:
            f.write('#!/bin/sh\ncase "$*" in *--dump-config*) exec %s "$@";; esac\n'
                    'exec setpriv --bounding-set=%s --no-new-privs -- %s "$@"\n' % (real, bset, real))
        os.chmod(os.path.join(b, name), 0o755)
    return directory


def test_units_capability_bounding_sets_are_enough(tmp_path, monkeypatch):
    # What the units allow is all the daemons need to start as root, bind, open their
    # files and drop to their users: all five run and serve under exactly those sets.
    caps = {p: unit_capabilities(p) for p in UNIT_SOURCES}
    for p, c in caps.items():
        assert "CAP_SYS_ADMIN" not in c and "CAP_SETPCAP" not in c, (p, c)
    monkeypatch.setenv("MAILBAG_BUILD", bounded_build(str(tmp_path), caps))
    m = harness.Mailbag()
    try:
        m.start()
        start_remote(m)
        m.start_pop3d()
        mid, msg = make_message("bounded", 1)
        assert m.send(USER, msg).code == 250
        m.find_message(USER, mid)
        import poplib
        p = poplib.POP3(m.host, m.ports["pop3_listen"], timeout=10)
        p.stls(context=__import__("ssl")._create_unverified_context())
        p.user(USER)
        p.pass_("demo-secret")
        assert p.stat()[0] == 1
        p.quit()
        for program in UNIT_SOURCES:
            st = proc_status(m.pid(program))
            assert st["CapEff"] == "0000000000000000" and st["Uid"].split()[0] != "0", (program, st["Uid"])
    finally:
        m.cleanup()
