# The authentication daemon (mailbag-auth, common/authd): the only process that reads the
# password hashes. smtpd (AUTH) and pop3d (USER/PASS) ask it over spool/private/auth.
#   - Logins work through it with Python's smtplib and poplib; wrong ones fail.
#   - smtpd's and pop3d's users cannot open passwd.mdb (as root: setpriv with their
#     credentials), and hold no descriptor of it; the daemon's user can.
#   - Killing the daemon while a login waits gives the client a temporary failure
#     (454 4.7.0, -ERR [SYS/TEMP]), never a hang; after a restart logins work again.
#   - A full check queue answers "temporary failure" at once.
#   - A process that is neither smtpd, pop3d nor root is refused; garbage, oversized
#     frames, wrong types and passed descriptors drop the peer without hurting the daemon.
import base64
import json
import os
import signal
import smtplib
import socket
import struct
import subprocess
import time

import pytest

import harness
from ipc_wire import RawPeer, frame, s, u64
from test_auth_cache import pop_login
from test_submission import tls_context

USER = "demo@example.test"
PASSWORD = "demo-secret"
AUTH_CHECK, AUTH_REPLY = 60, 61
OK, BAD, TEMP = 0, 1, 2


@pytest.fixture
def m(make_mailbag):
    # relay_networks emptied: the test clients must count as clients from the Internet.
    m = make_mailbag(conf={"relay_networks": ""})
    m.start_pop3d()
    return m


def smtp_auth(m, password, mech="PLAIN", timeout=60):
    s_ = smtplib.SMTP(m.host, m.ports["submission_listen"], local_hostname="laptop.example.net",
                      timeout=timeout)
    try:
        s_.starttls(context=tls_context())
        s_.ehlo()
        if mech == "PLAIN":
            plain = base64.b64encode(b"\0" + USER.encode() + b"\0" + password.encode()).decode()
            return s_.docmd("AUTH", "PLAIN " + plain)
        code, _ = s_.docmd("AUTH", "LOGIN " + base64.b64encode(USER.encode()).decode())
        assert code == 334
        return s_.docmd(base64.b64encode(password.encode()).decode())
    finally:
        s_.close()


def auth_socket(m):
    return os.path.join(m.spool, "private", "auth")


class Peer(RawPeer):
    """A raw client of private/auth speaking the frames of mailbag-ipc(7)."""

    def __init__(self, m, hello_first=True):
        super().__init__(auth_socket(m), "mailbag-auth", hello_first)

    def check(self, rid, login, password, service="smtp"):
        self.sock.send(frame(AUTH_CHECK, u64(rid) + s(service) + s("192.0.2.7") + s(login) + s(password)))

    def reply(self):
        t, p = self.recv()
        assert t == AUTH_REPLY
        rid, result = struct.unpack(">QB", p[:9])
        (n,) = struct.unpack(">I", p[9:13])
        return rid, result, p[13:13 + n].decode()


def test_smtpd_and_pop3d_log_in_through_the_daemon(m):
    assert smtp_auth(m, PASSWORD)[0] == 235
    assert smtp_auth(m, PASSWORD, "LOGIN")[0] == 235
    assert smtp_auth(m, "wrong")[0] == 535
    assert pop_login(m, PASSWORD) == b"+OK"
    assert pop_login(m, "wrong").startswith(b"-ERR [AUTH]")
    # The daemon decided, and no password reached any log.
    assert "smtp login failed for demo@example.test" in m.logs("mailbag-auth")
    assert "pop3 login failed for demo@example.test" in m.logs("mailbag-auth")
    for name in ("mailbag-auth", "smtpd", "pop3d"):
        assert PASSWORD not in m.logs(name) and "wrong" not in m.logs(name).replace("wrong password", "")
    # Its answer carries the account and, for pop3d, the Maildir.
    p = Peer(m)
    p.check(5, "DEMO@example.test", PASSWORD, "pop3")
    assert p.reply() == (5, OK, USER)
    p.close()


def proc_creds(pid):
    st = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            st[k] = v.strip()
    return st["Uid"].split()[0], st["Gid"].split()[0], st["Groups"].split()


OPEN_PROBE = """
import errno, json, sys
out = {}
for p in sys.argv[1:]:
    try:
        open(p, "rb").close()
        out[p] = "ok"
    except OSError as e:
        out[p] = errno.errorcode.get(e.errno, str(e.errno))
print(json.dumps(out))
"""


def open_as(pid, paths):
    uid, gid, groups = proc_creds(pid)
    cmd = ["setpriv", "--reuid=" + uid, "--regid=" + gid]
    cmd += ["--groups=" + ",".join(groups)] if groups else ["--clear-groups"]
    r = subprocess.run(cmd + ["--", "/usr/bin/python3", "-c", OPEN_PROBE] + paths,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.skipif(not harness.is_root(), reason="needs root (daemons drop to mb-* users)")
def test_network_daemons_cannot_read_the_password_hashes(m):
    db = os.path.join(m.data, "passwd.mdb")
    lock = db + "-lock"
    for program in ("smtpd", "pop3d"):
        got = open_as(m.pid(program), [db, lock])
        assert got == {db: "EACCES", lock: "EACCES"}, (program, got)
        fds = [os.readlink("/proc/%d/fd/%s" % (m.pid(program), fd))
               for fd in os.listdir("/proc/%d/fd" % m.pid(program))]
        assert not [t for t in fds if "passwd.mdb" in t], (program, fds)
    assert open_as(m.pid("mailbag-auth"), [db]) == {db: "ok"}
    # The daemon has no network socket at all.
    with open("/proc/%d/net/tcp" % m.pid("mailbag-auth")):
        pass
    inodes = {os.readlink("/proc/%d/fd/%s" % (m.pid("mailbag-auth"), fd))
              for fd in os.listdir("/proc/%d/fd" % m.pid("mailbag-auth"))}
    tcp = set()
    for table in ("tcp", "tcp6", "udp", "udp6"):
        with open("/proc/net/" + table) as f:
            for line in f.readlines()[1:]:
                tcp.add("socket:[%s]" % line.split()[9])
    assert not inodes & tcp, inodes & tcp


def test_killed_mid_login_gives_a_temporary_failure_then_recovers(m):
    os.kill(m.pid("mailbag-auth"), signal.SIGSTOP)
    try:
        started = time.monotonic()
        # Both logins wait for the stopped daemon; it dies while they wait.
        import threading
        results = {}

        def smtp():
            results["smtp"] = smtp_auth(m, PASSWORD)

        def pop3():
            results["pop3"] = pop_login(m, PASSWORD)

        threads = [threading.Thread(target=smtp), threading.Thread(target=pop3)]
        for t in threads:
            t.start()
        time.sleep(2)
        assert not results, "answered while the daemon was stopped: %r" % results
    finally:
        m.kill("mailbag-auth", signal.SIGKILL)
    for t in threads:
        t.join(30)
    assert results["smtp"][0] == 454 and results["smtp"][1].startswith(b"4.7.0"), results
    assert results["pop3"].startswith(b"-ERR [SYS/TEMP]"), results
    assert time.monotonic() - started < 20
    # While it is down: a temporary failure at once, not a hang.
    assert smtp_auth(m, PASSWORD, timeout=10)[0] == 454
    assert pop_login(m, PASSWORD).startswith(b"-ERR [SYS/TEMP]")
    m.start_daemon("mailbag-auth")
    for _ in harness.deadline_loop(15, "logins to work again"):
        if smtp_auth(m, PASSWORD)[0] == 235 and pop_login(m, PASSWORD) == b"+OK":
            break
    assert m.alive("smtpd") and m.alive("pop3d")


def test_a_full_queue_answers_temporary_failure_at_once(make_mailbag):
    m = make_mailbag(conf={"relay_networks": "", "auth_max_checks": "1", "auth_max_waiting": "1"})
    p = Peer(m)
    os.kill(m.pid("mailbag-auth"), signal.SIGSTOP)
    try:
        for i in range(1, 21):  # read by the daemon in one go once it runs again
            p.check(i, USER, "wrong-%d" % i)
    finally:
        os.kill(m.pid("mailbag-auth"), signal.SIGCONT)
    started = time.monotonic()
    got = {}
    while len(got) < 20:
        rid, result, _ = p.reply()
        got[rid] = result
    # One check runs, one waits, the rest are refused at once; all are answered.
    assert sorted(got) == list(range(1, 21))
    assert list(got.values()).count(TEMP) >= 15, got
    assert set(got.values()) <= {BAD, TEMP}, got
    assert time.monotonic() - started < 15
    p.check(99, USER, PASSWORD)
    assert p.reply() == (99, OK, USER)
    p.close()
    assert smtp_auth(m, PASSWORD)[0] == 235


@pytest.mark.skipif(not harness.is_root(), reason="needs root (daemons drop to mb-* users)")
def test_a_process_other_than_smtpd_or_pop3d_is_refused(m):
    # mb-remote, given group mb-auth so that the socket's mode lets it connect: the daemon
    # itself reads the peer's uid and hangs up.
    uid = str(harness.uid_of("mb-remote"))
    r = harness.probe_socket_as("mb-remote", "mb-auth", auth_socket(m))
    assert r.stdout.strip() == "closed", r.stdout + r.stderr
    m.wait_for_log("mailbag-auth", "refusing uid %s" % uid)
    # Without the group, the socket's mode already keeps it out.
    r = harness.probe_socket_as("mb-remote", None, auth_socket(m))
    assert "PermissionError" in r.stderr, r.stdout + r.stderr
    assert smtp_auth(m, PASSWORD)[0] == 235


def test_garbage_on_the_socket_drops_the_peer_never_the_daemon(m):
    bad = [
        b"\x00\x00",                                                    # shorter than a header
        frame(AUTH_CHECK, b"\x00" * 7),                                 # truncated request id
        frame(AUTH_CHECK, u64(1) + b"\xff\xff\xff\xff"),                # string length past the end
        frame(AUTH_CHECK, u64(1) + s("smtp") + s("1.2.3.4") + s(USER) + s("pw") + b"x"),  # trailing
        frame(AUTH_CHECK, u64(1) + s("ftp") + s("1.2.3.4") + s(USER) + s("pw")),   # unknown service
        frame(AUTH_CHECK, u64(1) + s("smtp") + s("1.2.3.4") + s("") + s("pw")),     # empty login
        frame(AUTH_REPLY, u64(1) + b"\x00" + s("") + s("")),           # a reply sent to the server
        struct.pack(">IH", 100, AUTH_CHECK) + b"short",                 # length lies
        frame(AUTH_CHECK, u64(1) + s("smtp") + s("x") + s(USER) + s("p" * 200000)),  # huge frame
    ]
    for i, data in enumerate(bad):
        p = Peer(m)
        try:
            p.sock.send(data)
        except OSError:
            pass  # a datagram over the socket's limit is refused by the kernel already
        assert p.closed(), (i, data[:40])
        p.close()
    # Without Hello, and with a descriptor passed along.
    p = Peer(m, hello_first=False)
    p.sock.send(frame(AUTH_CHECK, u64(1) + s("smtp") + s("x") + s(USER) + s(PASSWORD)))
    assert p.closed()
    p.close()
    p = Peer(m)
    with open("/dev/null", "rb") as f:
        p.sock.sendmsg([frame(AUTH_CHECK, u64(2) + s("smtp") + s("x") + s(USER) + s(PASSWORD))],
                       [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", f.fileno()))])
    assert p.reply() == (2, OK, USER)
    p.close()
    assert m.alive("mailbag-auth")
    assert smtp_auth(m, PASSWORD)[0] == 235
    assert pop_login(m, PASSWORD) == b"+OK"


AUTH_REDEEM, AUTH_REDEEM_REPLY = 62, 63


def pop3_check(p, rid):
    """An AuthCheck for service pop3: (result, account, token)."""
    p.check(rid, USER, PASSWORD, service="pop3")
    t, pl = p.recv()
    assert t == AUTH_REPLY
    got_rid, result = struct.unpack(">QB", pl[:9])
    assert got_rid == rid
    fields, pos = [], 9
    for _ in range(2):
        (n,) = struct.unpack(">I", pl[pos:pos + 4])
        fields.append(pl[pos + 4:pos + 4 + n].decode())
        pos += 4 + n
    assert pos == len(pl)
    return (result, *fields)


def redeem(p, rid, account, token):
    p.sock.send(frame(AUTH_REDEEM, u64(rid) + s(account) + s(token)))
    t, pl = p.recv()
    assert t == AUTH_REDEEM_REPLY
    got_rid, result = struct.unpack(">QB", pl[:9])
    (n,) = struct.unpack(">I", pl[9:13])
    assert got_rid == rid
    return result, pl[13:13 + n].decode()


def test_a_pop3_login_token_opens_its_account_once(m):
    p = Peer(m)
    result, account, token = pop3_check(p, 1)
    assert (result, account) == (OK, USER)
    assert len(token) == 64
    # Another account cannot use it, and the try spends it.
    assert redeem(p, 2, "other@example.test", token) == (BAD, "")
    assert redeem(p, 3, USER, token) == (BAD, "")
    # A fresh one opens the account once.
    _, _, token = pop3_check(p, 4)
    result, maildir = redeem(p, 5, USER, token)
    assert result == OK and maildir.startswith(m.mail)
    assert redeem(p, 6, USER, token) == (BAD, "")
    # smtpd's logins get no token.
    p.check(7, USER, PASSWORD)
    t, pl = p.recv()
    assert t == AUTH_REPLY and pl.endswith(s(USER) + s(""))
    # A malformed redeem (a token that is not 64 hex digits) drops the peer.
    p.sock.send(frame(AUTH_REDEEM, u64(8) + s(USER) + s("x" * 64)))
    assert p.closed()
    p.close()
    assert m.alive("mailbag-auth")


@pytest.mark.skipif(not harness.is_root(), reason="needs root (daemons drop to mb-* users)")
def test_the_login_process_cannot_redeem_tokens(m):
    # pop3d's user may check passwords but not redeem: the daemon hangs up on it.
    p = Peer(m)
    _, _, token = pop3_check(p, 1)
    p.close()
    code = ("import socket,struct,sys\n"
            "def s(v):\n"
            "    b=v.encode(); return struct.pack('>I',len(b))+b\n"
            "def fr(t,p):\n"
            "    return struct.pack('>IH',6+len(p),t)+p\n"
            "c=socket.socket(socket.AF_UNIX,socket.SOCK_SEQPACKET)\n"
            "c.settimeout(10)\n"
            "c.connect(sys.argv[1])\n"
            "c.send(fr(1,s('mailbag-auth')+struct.pack('>I',4)+s('pop3d')))\n"
            "c.recv(1000)\n"
            "c.send(fr(62,struct.pack('>Q',1)+s(sys.argv[2])+s(sys.argv[3])))\n"
            "try:\n"
            "    d=c.recv(1000)\n"
            "except ConnectionResetError:\n"
            "    d=b''\n"
            "print('closed' if not d else 'served')\n")
    uid = str(harness.uid_of("mb-pop3d"))
    r = subprocess.run(["setpriv", "--reuid=" + uid, "--regid=mb-pop3d", "--groups=mb-auth", "--",
                        "/usr/bin/python3", "-c", code, auth_socket(m), USER, token],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == "closed", r.stdout + r.stderr
    m.wait_for_log("mailbag-auth", "may not redeem login tokens")
    # The token was not spent by the refused try.
    p = Peer(m)
    assert redeem(p, 2, USER, token)[0] == OK
    p.close()
