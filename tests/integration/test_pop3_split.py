# The POP3 split: pop3d (the login process: network, TLS, USER/PASS/AUTH) holds no Maildir
# access; after the authentication daemon accepts a login it issues a one-time token, and
# pop3d hands the client (its socket, or under TLS a relayed socketpair) with the token
# to pop3-mailbox, which redeems the token before it opens that account's Maildir.
#   - RETR and DELE work through the handover on plain POP3, after STLS and on POP3S.
#   - pop3d's credentials (from /proc) open no Maildir; the mailbox process's do.
#   - A forged handover (made-up, spent or another account's token) is refused, and the
#     mailbox process writes nothing to the descriptor; a fresh token is served.
#   - Only pop3d's user (and root) may connect to private/pop3-mailbox (SO_PEERCRED).
#   - The mailbox process killed mid-session: the client gets an error at once, nothing
#     is deleted, and after a restart the mail is all there; while it is down logins get
#     -ERR [SYS/TEMP] and the session stays usable.
#   - Garbage, huge frames, missing and wrong descriptors on private/pop3-mailbox drop
#     the peer, never the mailbox process.
import os
import poplib
import signal
import socket
import struct
import time

import pytest

import harness
from ipc_wire import RawPeer, frame, s, u64
from test_auth_daemon import OK, Peer, open_as, pop3_check, proc_creds, redeem
from test_pop3 import PASSWORD, USER, deliver, err, login, pop, tls_context

HANDOVER, HANDOVER_DONE, SESSION_ENDED = 80, 81, 82
REFUSED, IN_USE, TEMP = 1, 2, 3


@pytest.fixture
def m(make_mailbag):
    m = make_mailbag()
    m.start_pop3d()
    return m


def mailbox_socket(m):
    return os.path.join(m.spool, "private", "pop3-mailbox")


class Handover(RawPeer):
    """A raw client of private/pop3-mailbox (what pop3d sends, forged by the test)."""

    def __init__(self, m, hello_first=True):
        super().__init__(mailbox_socket(m), "mailbag-pop3-mailbox", hello_first)

    def send(self, rid, account, token, fd=None, tls=False, data=b""):
        f = frame(HANDOVER, u64(rid) + s(account) + s(token) + s("192.0.2.9") + bytes([int(tls)]) + s(data))
        if fd is None:
            self.sock.send(f)
        else:
            socket.send_fds(self.sock, [f], [fd])

    def done(self):
        t, p = self.recv()
        assert t == HANDOVER_DONE, t
        return struct.unpack(">QB", p)


def fresh_token(m):
    p = Peer(m)
    result, account, token = pop3_check(p, 1)
    p.close()
    assert (result, account) == (OK, USER)
    return token


def test_retr_and_dele_through_the_handover_plain_stls_and_pop3s(make_mailbag):
    m = make_mailbag(conf={"pop3_plaintext_auth": "yes"})
    m.start_pop3d()
    sent = deliver(m, "split", 3)
    sessions = [
        lambda: poplib.POP3(m.host, m.ports["pop3_listen"], timeout=30),  # plain 110
        lambda: pop(m),                                                    # STLS
        lambda: poplib.POP3_SSL(m.host, m.ports["pop3s_listen"], context=tls_context(m), timeout=30),
    ]
    for i, make in enumerate(sessions):
        c = make()
        c.user(USER)
        c.pass_(PASSWORD)
        assert c.stat()[0] == 3 - i
        _, lines, _ = c.retr(1)
        assert b"\r\n".join(lines).endswith(sent[i][1].split(b"\r\n\r\n", 1)[1].rstrip(b"\r\n"))
        c.dele(1)
        assert c.quit().startswith(b"+OK")
    c = pop(m)
    c.user(USER)
    c.pass_(PASSWORD)
    assert c.stat()[0] == 0
    c.quit()
    # The mailbox process served them; pop3d only logged the handovers.
    assert m.logs("pop3-mailbox").count("login: user=%s" % USER) == 4
    assert "handed to the mailbox process" in m.logs("pop3d")
    assert "logout: user=%s" % USER not in m.logs("pop3d")


@pytest.mark.skipif(not harness.is_root(), reason="needs root (daemons drop to mb-* users)")
def test_the_login_process_cannot_open_any_maildir(m):
    deliver(m, "perm", 1)
    c = login(m)  # the Maildir exists now, with cur/
    c.quit()
    md = m.maildir(USER)
    cur = os.path.join(md, "cur")
    name = os.listdir(cur)[0]
    paths = [os.path.join(cur, name), os.path.join(md, "maildirsize")]
    paths = [p for p in paths if os.path.exists(p)]
    uid, gid, groups = proc_creds(m.pid("pop3d"))
    mail_gid = str(__import__("grp").getgrnam("mb-mail").gr_gid)
    assert mail_gid not in groups and gid != mail_gid
    got = open_as(m.pid("pop3d"), paths)
    assert set(got.values()) == {"EACCES"}, got
    assert set(open_as(m.pid("pop3-mailbox"), paths).values()) == {"ok"}
    # pop3d holds no descriptor under the mail directory either.
    fds = [os.readlink("/proc/%d/fd/%s" % (m.pid("pop3d"), fd)) for fd in os.listdir("/proc/%d/fd" % m.pid("pop3d"))]
    assert not [t for t in fds if t.startswith(m.mail)], fds


def test_a_forged_handover_is_refused_and_a_fresh_token_served(m):
    deliver(m, "forge", 1)
    h = Handover(m)
    mine, theirs = socket.socketpair()
    try:
        # A made-up token.
        h.send(1, USER, "ab" * 32, theirs.fileno())
        assert h.done() == (1, REFUSED)
        # A spent one (redeemed already), and another account's.
        token = fresh_token(m)
        p = Peer(m)
        assert redeem(p, 9, USER, token)[0] == OK
        p.close()
        h.send(2, USER, token, theirs.fileno())
        assert h.done() == (2, REFUSED)
        h.send(3, "nobody@example.test", fresh_token(m), theirs.fileno())
        assert h.done() == (3, REFUSED)
        # Nothing was written to the client.
        mine.setblocking(False)
        with pytest.raises(BlockingIOError):
            mine.recv(100)
        # A fresh token for the account is served: the +OK of the login, then commands.
        mine.setblocking(True)
        mine.settimeout(20)
        theirs2 = socket.socketpair()
        h.send(4, USER, fresh_token(m), theirs2[1].fileno(), data=b"STAT\r\n")
        theirs2[1].close()
        assert h.done() == (4, 0)
        got = b""
        while got.count(b"\r\n") < 2:
            got += theirs2[0].recv(1000)
        assert got.startswith(b"+OK Logged in, 1 messages") and b"\r\n+OK 1 " in got
        theirs2[0].sendall(b"QUIT\r\n")
        while theirs2[0].recv(1000):
            pass
        t, p_ = h.recv()
        assert t == SESSION_ENDED and struct.unpack(">Q", p_) == (4,)
        theirs2[0].close()
    finally:
        mine.close()
        theirs.close()
        h.close()
    assert m.alive("pop3-mailbox")
    m.wait_for_log("pop3-mailbox", "did not redeem its login token")


@pytest.mark.skipif(not harness.is_root(), reason="needs root (daemons drop to mb-* users)")
def test_only_pop3d_may_hand_over(m):
    uid = str(harness.uid_of("mb-remote"))
    r = harness.probe_socket_as("mb-remote", "mb-pop3d", mailbox_socket(m))
    assert r.stdout.strip() == "closed", r.stdout + r.stderr
    m.wait_for_log("pop3-mailbox", "refusing uid %s" % uid)
    r = harness.probe_socket_as("mb-remote", None, mailbox_socket(m))
    assert "PermissionError" in r.stderr, r.stdout + r.stderr


@pytest.mark.parametrize("tls", ["stls", "pop3s"])
def test_mailbox_process_killed_mid_session(m, tls):
    deliver(m, "kill", 2)
    if tls == "stls":
        c = login(m)
    else:
        c = poplib.POP3_SSL(m.host, m.ports["pop3s_listen"], context=tls_context(m), timeout=30)
        c.user(USER)
        c.pass_(PASSWORD)
    assert c.stat()[0] == 2
    c.dele(1)
    m.kill("pop3-mailbox")
    start = time.monotonic()
    with pytest.raises((poplib.error_proto, OSError, EOFError)):
        c.stat()
        c.list()
    assert time.monotonic() - start < 10
    c.close()
    # While it is down: a clear temporary failure, and the session goes on.
    c = pop(m)
    c.user(USER)
    assert err(c.pass_, PASSWORD).startswith(b"-ERR [SYS/TEMP]")
    assert c.quit().startswith(b"+OK")
    m.start_daemon("pop3-mailbox")
    for _ in harness.deadline_loop(20, "pop3d to reconnect to the mailbox process"):
        c = pop(m)
        c.user(USER)
        try:
            c.pass_(PASSWORD)
            break
        except poplib.error_proto:
            c.quit()
    assert c.stat()[0] == 2  # the DELE before the kill never happened
    c.quit()


def test_garbage_on_the_mailbox_socket_drops_the_peer_never_the_process(m):
    token = "cd" * 32
    a, b = socket.socketpair()
    bad = [
        (b"\x00\x00", None),
        (frame(HANDOVER, b"\x00" * 7), b),
        (frame(HANDOVER, u64(1) + b"\xff\xff\xff\xff"), b),
        (frame(HANDOVER, u64(1) + s(USER) + s(token) + s("x") + b"\x00" + s("") + b"x"), b),  # trailing
        (frame(HANDOVER, u64(1) + s(USER) + s(token) + s("x") + b"\x02" + s("")), b),  # bad bool
        (frame(HANDOVER, u64(1) + s(USER) + s("short") + s("x") + b"\x00" + s("")), b),  # bad token
        (frame(HANDOVER, u64(1) + s(USER) + s(token) + s("x") + b"\x00" + s("x" * 70000)), b),  # input
        (frame(HANDOVER_DONE, u64(1) + b"\x00"), None),  # a reply sent to the server
        (struct.pack(">IH", 100, HANDOVER) + b"short", b),
        (frame(HANDOVER, u64(1) + s(USER) + s(token) + s("x") + b"\x00" + s("y" * 200000)), b),  # huge
        (frame(HANDOVER, u64(1) + s(USER) + s(token) + s("x") + b"\x00" + s("")), None),  # no fd
    ]
    for i, (data, fd) in enumerate(bad):
        h = Handover(m)
        try:
            if fd is None:
                h.sock.send(data)
            else:
                socket.send_fds(h.sock, [data], [fd.fileno()])
        except OSError:
            pass  # over the socket's datagram limit: refused by the kernel already
        assert h.closed(), (i, data[:40])
        h.close()
    # Wrong descriptors: a regular file, a pipe, a datagram socket.
    r, w = os.pipe()
    d1, d2 = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with open("/dev/null", "rb") as f:
        for fd in (f.fileno(), r, d1.fileno()):
            h = Handover(m)
            h.send(1, USER, token, fd)
            assert h.closed()
            h.close()
    for x in (r, w):
        os.close(x)
    for x in (a, b, d1, d2):
        x.close()
    # Without Hello.
    h = Handover(m, hello_first=False)
    h.sock.send(frame(HANDOVER, u64(1) + s(USER) + s(token) + s("x") + b"\x00" + s("")))
    assert h.closed()
    h.close()
    assert m.alive("pop3-mailbox") and m.alive("pop3d")
    deliver(m, "after", 1)
    c = login(m)
    assert c.stat()[0] == 1
    c.quit()
