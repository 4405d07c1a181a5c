# End-to-end tests of pop3d with the real daemons (harness.py): mail sent over SMTP is
# fetched with Python's poplib through every command and error path (RFC 1939, CAPA,
# STLS, AUTH PLAIN), with openssl s_client (STLS and port 995), with getmail6 and
# fetchmail (real clients); deletion only at QUIT; [IN-USE]; UIDL stability; streaming
# of a large message in constant memory; POP-before-SMTP with relayctl.
import base64
import os
import pathlib
import poplib
import shutil
import socket
import ssl
import subprocess
import time

import pytest

import harness
from harness import header_values
from messages import make_message

USER = "demo@example.test"
PASSWORD = "demo-secret"


def tls_context(m):
    ctx = ssl.create_default_context(cafile=os.path.join(m.dir, "cert.pem"))
    ctx.check_hostname = False
    return ctx


class POP3From(poplib.POP3):
    """poplib.POP3 whose connection comes from a chosen local address (a client IP)."""

    def __init__(self, host, port, source, timeout=30):
        self._source = source
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self._source, 0))


def pop(m, source=None, tls=True):
    """A poplib session (after STLS unless tls=False), not yet logged in."""
    port = m.ports["pop3_listen"]
    c = POP3From(m.host, port, source) if source else poplib.POP3(m.host, port, timeout=30)
    if tls:
        c.stls(tls_context(m))
    return c


def login(m, source=None):
    c = pop(m, source)
    c.user(USER)
    c.pass_(PASSWORD)
    return c


def deliver(m, tag, n, **kw):
    """Sends n test messages over SMTP; returns [(msgid, wire bytes)] once delivered."""
    sent = []
    for i in range(n):
        mid, data = make_message(tag, i, **kw)
        r = m.send(USER, data)
        assert r.code == 250, r
        sent.append((mid, data))
    for mid, _ in sent:
        m.find_message(USER, mid)
    return sent


def body_of(wire):
    """The body of a CRLF message (after the first empty line)."""
    return wire.split(b"\r\n\r\n", 1)[1]


@pytest.fixture
def popmb(make_mailbag):
    m = make_mailbag()
    m.start_pop3d()
    return m


def err(fn, *args):
    """The -ERR text a poplib call gets (bytes)."""
    with pytest.raises(poplib.error_proto) as e:
        fn(*args)
    return e.value.args[0]


# ---------------------------------------------------------------------------------------

def test_every_command_with_poplib(popmb):
    m = popmb
    sent = deliver(m, "cmds", 3)
    c = pop(m, tls=False)
    assert c.getwelcome().startswith(b"+OK ")
    caps = c.capa()
    for cap in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "STLS"):
        assert cap in caps, caps
    assert "USER" not in caps  # no login without TLS by default
    c.stls(tls_context(m))
    caps = c.capa()
    assert "USER" in caps and caps.get("SASL") == ["PLAIN"] and "STLS" not in caps
    assert c.user(USER).startswith(b"+OK")
    assert c.pass_(PASSWORD).startswith(b"+OK Logged in, 3 messages")

    count, total = c.stat()
    assert count == 3
    resp, listing, _ = c.list()
    sizes = [int(line.split()[1]) for line in listing]
    assert sum(sizes) == total
    assert c.list(2) == b"+OK 2 %d" % sizes[1]
    resp, uids, _ = c.uidl()
    assert len(uids) == 3 and len({u.split()[1] for u in uids}) == 3
    assert c.uidl(1) == b"+OK " + uids[0]

    # RETR: the body exactly as sent (poplib undoes the byte-stuffing), our trace
    # headers in front, and the octet count of LIST (RFC 1939: size with CRLF).
    for i, (mid, data) in enumerate(sent, 1):
        resp, lines, octets = c.retr(i)
        assert resp == b"+OK %d octets" % sizes[i - 1]
        msg = b"\r\n".join(lines) + b"\r\n"
        assert len(msg) == sizes[i - 1]
        assert msg.endswith(data), (msg[:300], data[:300])
        prefix = msg[: len(msg) - len(data)].replace(b"\r\n", b"\n")
        assert prefix.startswith(b"Return-Path: <sender@example.net>\n")
        assert header_values(prefix + b"\n", "Received")
    resp, lines, _ = c.top(1, 0)
    assert lines[-1] == b"" and b"Subject: test cmds 0" in lines
    resp, lines, _ = c.top(1, 2)
    head_len = lines.index(b"")
    assert len(lines) == head_len + 3
    assert lines[head_len + 1] == b"Message 0 of cmds."
    assert lines[head_len + 2] == b"."  # a lone dot in the body, unstuffed by poplib

    assert c.noop().startswith(b"+OK")
    assert c.dele(2).startswith(b"+OK")
    assert err(c.dele, 2) == b"-ERR Message 2 already deleted"
    assert err(c.retr, 2) == b"-ERR Message 2 already deleted"
    assert c.stat() == (2, total - sizes[1])
    assert c.rset().startswith(b"+OK")
    assert c.stat() == (3, total)
    assert err(c.retr, 4) == b"-ERR No such message"
    assert err(c.retr, 0) == b"-ERR No such message"
    assert err(c.list, "x") == b"-ERR No such message"
    assert err(c._shortcmd, "USER x") == b"-ERR Already logged in"
    assert err(c._shortcmd, "BOGUS") == b"-ERR Unknown command"
    assert c.dele(3).startswith(b"+OK")
    assert c.quit() == b"+OK Logging out, 1 messages deleted"

    c = login(m)
    assert c.stat()[0] == 2
    resp, uids2, _ = c.uidl()
    assert uids2 == [b"1 " + uids[0].split()[1], b"2 " + uids[1].split()[1]]
    c.quit()


def test_authorization_errors(popmb):
    m = popmb
    c = pop(m, tls=False)
    assert err(c.user, USER).startswith(b"-ERR [AUTH] Plaintext authentication disallowed")
    assert err(c.pass_, PASSWORD).startswith(b"-ERR [AUTH] Plaintext")
    assert err(c._shortcmd, "AUTH PLAIN AGRlbW8AZGVtbw==").startswith(b"-ERR [AUTH] Plaintext")
    assert err(c._shortcmd, "STAT") == b"-ERR Log in first"
    assert err(c._shortcmd, "APOP %s c4c9334bac560ecc979e58001b3e22fb" % USER) == b"-ERR APOP is not supported"
    c.stls(tls_context(m))
    assert err(c.pass_, PASSWORD) == b"-ERR USER first"
    c.user(USER)
    t0 = time.monotonic()
    assert err(c.pass_, "wrong") == b"-ERR [AUTH] Authentication failed"
    assert time.monotonic() - t0 >= 0.9  # the failure delay
    c.user("nobody@example.test")
    assert err(c.pass_, PASSWORD) == b"-ERR [AUTH] Authentication failed"
    assert err(c._shortcmd, "STLS") == b"-ERR TLS is already active"
    c.user(USER)
    assert c.pass_(PASSWORD).startswith(b"+OK")
    c.quit()
    log = m.logs("pop3d")
    assert PASSWORD not in log and "wrong" not in log
    assert "authentication failed from" in log
    assert "login: user=demo@example.test" in log


def test_auth_plain(popmb):
    m = popmb
    deliver(m, "plain", 1)
    c = pop(m)
    ir = base64.b64encode(b"\0" + USER.encode() + b"\0" + PASSWORD.encode()).decode()
    assert c._shortcmd("AUTH PLAIN " + ir).startswith(b"+OK Logged in, 1 messages")
    assert c.stat()[0] == 1
    c.quit()
    c = pop(m)
    # Continuation form, and a cancelled attempt first (RFC 5034 4).
    c._putcmd("AUTH PLAIN")
    assert c._getline()[0] == b"+ "
    assert err(c._shortcmd, "*") == b"-ERR Authentication cancelled"
    c._putcmd("AUTH PLAIN")
    assert c._getline()[0] == b"+ "
    assert c._shortcmd(ir).startswith(b"+OK Logged in")
    c.quit()
    c = pop(m)
    bad = base64.b64encode(b"\0" + USER.encode() + b"\0nope").decode()
    assert err(c._shortcmd, "AUTH PLAIN " + bad) == b"-ERR [AUTH] Authentication failed"
    c.quit()


def test_bare_local_part_with_one_domain(popmb):
    c = pop(popmb)
    c.user("Demo")
    assert c.pass_(PASSWORD).startswith(b"+OK")
    c.quit()


def test_plaintext_auth_when_configured(make_mailbag):
    m = make_mailbag(conf={"pop3_plaintext_auth": "yes"})
    m.start_pop3d()
    c = pop(m, tls=False)
    assert "USER" in c.capa()
    c.user(USER)
    assert c.pass_(PASSWORD).startswith(b"+OK")
    c.quit()


def test_quit_deletes_dropped_connection_does_not(popmb):
    m = popmb
    deliver(m, "drop", 2)
    c = login(m)
    c.dele(1)
    c.dele(2)
    c.sock.shutdown(socket.SHUT_RDWR)  # the connection drops: no QUIT, no UPDATE (RFC 1939 6)
    c.sock.close()
    c = None
    for _ in harness.deadline_loop(10, "pop3d to notice the dropped connection"):
        try:
            c = login(m)
            break
        except poplib.error_proto as e:
            assert e.args[0].startswith(b"-ERR [IN-USE]"), e
    assert c.stat()[0] == 2
    assert c.stat()[0] == 2
    c.dele(1)
    c.quit()
    c = login(m)
    assert c.stat()[0] == 1
    c.quit()
    assert len(m.maildir_messages(USER)) == 1


def test_second_session_in_use(popmb):
    m = popmb
    first = login(m)
    second = pop(m)
    second.user(USER)
    assert err(second.pass_, PASSWORD).startswith(b"-ERR [IN-USE]")
    first.quit()
    second.user(USER)
    assert second.pass_(PASSWORD).startswith(b"+OK")
    second.quit()


def test_new_moved_to_cur_and_uidl_stable_across_restart(popmb):
    m = popmb
    deliver(m, "uidl", 2)
    maildir = m.maildir(USER)
    assert len(os.listdir(os.path.join(maildir, "new"))) == 2
    c = login(m)
    uids = c.uidl()[1]
    c.quit()
    assert os.listdir(os.path.join(maildir, "new")) == []
    cur = sorted(os.listdir(os.path.join(maildir, "cur")))
    assert len(cur) == 2 and all(n.endswith(":2,") for n in cur)
    m.restart("pop3d")
    c = login(m)
    assert c.uidl()[1] == uids
    c.quit()


def test_listed_in_arrival_order_within_one_second(popmb):
    """Maildir names carry the microsecond as "M<usec>" without a fixed width: two
    messages of one second must be listed by that number, not by the name as a string
    ("M10" sorts before "M9" as text). The two same-second files are placed next to one
    delivered by the local agent (their timing cannot be forced through SMTP), with its
    owner and mode."""
    m = popmb
    deliver(m, "order", 1)
    new = os.path.join(m.maildir(USER), "new")
    [real] = os.listdir(new)
    secs, rest = real.split(".", 1)
    host = rest.split(".", 1)[1].split(",", 1)[0]
    st = os.stat(os.path.join(new, real))
    earlier = int(secs) - 1
    for usec, subject in ((10, "second"), (9, "first")):  # written newest first
        data = b"Subject: %s\n\nbody\n" % subject.encode()
        name = "%d.M%dP1Q%d.%s,S=%d,W=%d" % (earlier, usec, usec, host, len(data),
                                            len(data) + data.count(b"\n"))
        path = os.path.join(new, name)
        with open(path, "wb") as f:
            f.write(data)
        os.chown(path, st.st_uid, st.st_gid)
        os.chmod(path, st.st_mode & 0o777)
    c = login(m)
    subjects = []
    for i in (1, 2, 3):
        lines = c.top(i, 0)[1]
        subjects.append([ln for ln in lines if ln.startswith(b"Subject:")][0])
    assert subjects == [b"Subject: first", b"Subject: second", b"Subject: test order 0"]
    uids = [u.split()[1].decode() for u in c.uidl()[1]]
    assert uids[0].startswith("%d.M9P" % earlier) and uids[1].startswith("%d.M10P" % earlier)
    c.quit()


def test_pipelining(popmb):
    m = popmb
    deliver(m, "pipe", 2)
    c = login(m)
    # Several commands in one write; the answers come in order (RFC 2449 6.6).
    c.sock.sendall(b"STAT\r\nLIST 1\r\nRETR 1\r\nNOOP\r\nUIDL 2\r\n")
    assert c._getresp().startswith(b"+OK 2 ")
    assert c._getresp().startswith(b"+OK 1 ")
    assert c._getresp().endswith(b"octets")
    lines = []
    while True:
        ln = c._getline()[0]
        if ln == b".":
            break
        lines.append(ln)
    assert b"Subject: test pipe 0" in lines
    assert c._getresp() == b"+OK"
    assert c._getresp().startswith(b"+OK 2 ")
    c.quit()


def test_stls_discards_pipelined_plaintext(popmb):
    m = popmb
    s = socket.create_connection((m.host, m.ports["pop3_listen"]), timeout=10)
    f = s.makefile("rb")
    assert f.readline().startswith(b"+OK")
    s.sendall(b"STLS\r\nUSER injected@example.test\r\n")
    assert f.readline() == b"+OK Begin TLS negotiation\r\n"
    t = tls_context(m).wrap_socket(s)
    t.sendall(b"PASS " + PASSWORD.encode() + b"\r\n")
    assert t.recv(1024) == b"-ERR USER first\r\n"  # the injected USER was discarded
    t.close()


def test_openssl_s_client_stls_and_pop3s(popmb):
    m = popmb
    deliver(m, "ossl", 1)
    script = "CAPA\nUSER %s\nPASS %s\nSTAT\nQUIT\n" % (USER, PASSWORD)
    for args in (["-starttls", "pop3", "-connect", "%s:%d" % (m.host, m.ports["pop3_listen"])],
                 ["-connect", "%s:%d" % (m.host, m.ports["pop3s_listen"])]):
        r = subprocess.run(["openssl", "s_client", "-quiet", "-crlf", "-CAfile",
                            os.path.join(m.dir, "cert.pem")] + args,
                           input=script, capture_output=True, text=True, timeout=30)
        out = r.stdout
        assert "+OK Capability list follows" in out, (r.stdout, r.stderr)
        assert "\nUSER\n" in out and "STLS" not in out
        assert "+OK Logged in, 1 messages" in out
        assert "+OK 1 " in out
        assert "+OK Logging out, 0 messages deleted" in out
        assert "verify return:1" in r.stderr or "Verification: OK" in r.stderr or "depth=0" in r.stderr


def test_getmail_fetches_body_identical_and_deletes(popmb):
    m = popmb
    sent = deliver(m, "getmail", 2)
    tmp_path = pathlib.Path(m.dir) / "getmail"  # m.dir is 0755: nobody gets in
    tmp_path.mkdir()
    dest = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (dest / sub).mkdir(parents=True)
    # getmail refuses to deliver as root: it then writes the Maildir as nobody.
    as_user = ""
    if harness.is_root():
        as_user = "user = nobody\n"
        for d in (dest, dest / "cur", dest / "new", dest / "tmp"):
            shutil.chown(d, "nobody")
    rc = tmp_path / "getmailrc"
    rc.write_text(
        "[retriever]\ntype = SimplePOP3SSLRetriever\nserver = %s\nport = %d\nusername = %s\n"
        "password = %s\n\n[destination]\ntype = Maildir\npath = %s/\n%s\n"
        "[options]\ndelete = true\nread_all = true\ndelivered_to = false\nreceived = false\n"
        "verbose = 0\n" % (m.host, m.ports["pop3s_listen"], USER, PASSWORD, dest, as_user))
    r = subprocess.run(["getmail", "--getmaildir", str(tmp_path), "--rcfile", str(rc)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, (r.stdout, r.stderr, m.logs("pop3d")[-2000:])
    got = [(dest / "new" / n).read_bytes() for n in os.listdir(dest / "new")]
    assert len(got) == 2
    for mid, data in sent:
        match = [g for g in got if harness.message_id(g) == mid]
        assert len(match) == 1
        g = match[0]
        # getmail stores LF line ends; the body must be the sent one byte for byte.
        assert g.split(b"\n\n", 1)[1] == body_of(data).replace(b"\r\n", b"\n")
        assert header_values(g, "Return-Path") == ["<sender@example.net>"]
        assert header_values(g, "Received")
    assert m.maildir_messages(USER) == []  # deleted at QUIT


def test_fetchmail_over_stls(popmb, tmp_path):
    m = popmb
    sent = deliver(m, "fetchmail", 1)
    out = tmp_path / "fetched"
    rc = tmp_path / "fetchmailrc"
    rc.write_text(
        "poll %s protocol pop3 port %d\n  user \"%s\" password \"%s\"\n  sslproto tls1.2+ sslcertck "
        "sslcertfile %s sslcommonname mail.example.test\n  mda \"/bin/sh -c 'cat > %s'\"\n  keep\n"
        % (m.host, m.ports["pop3_listen"], USER, PASSWORD, os.path.join(m.dir, "cert.pem"), out))
    rc.chmod(0o600)
    env = dict(os.environ, HOME=str(tmp_path), FETCHMAILHOME=str(tmp_path))
    r = subprocess.run(["fetchmail", "-f", str(rc), "--nodetach", "--nosyslog", "-v"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "STLS" in r.stdout + r.stderr
    got = out.read_bytes()
    assert got.split(b"\n\n", 1)[1] == body_of(sent[0][1]).replace(b"\r\n", b"\n")
    assert header_values(got, "Return-Path") == ["<sender@example.net>"]
    assert len(m.maildir_messages(USER)) == 1  # "keep": still there


def test_large_retr_streams_in_constant_memory(make_mailbag):
    """A 64 MiB message (written into the Maildir as another MDA would, without size
    fields) is sent exactly, dot-stuffed, while pop3d's resident memory grows by far
    less than the message; the client pauses first, so the socket fills up. (Under
    AddressSanitizer, freed memory waits in a quarantine: keep it small here.)"""
    asan = os.environ.get("ASAN_OPTIONS", "")
    m = make_mailbag(env={"ASAN_OPTIONS": (asan + ":" if asan else "") + "quarantine_size_mb=1"})
    m.start_pop3d()
    md = m.maildir(USER)
    line = b".dotted line " + b"z" * 50 + b"\n"
    body = b"Subject: big\n\n" + line * (64 * 1024 * 1024 // len(line))
    path = os.path.join(md, "new", "%d.big.test" % int(time.time()))
    with open(path + ".tmp", "wb") as f:
        f.write(body)
    os.chmod(path + ".tmp", 0o660)
    if harness.is_root():
        shutil.chown(path + ".tmp", "mb-vmail", "mb-mail")
    os.rename(path + ".tmp", path)
    before = harness.rss_kb(m.pid("pop3d"))
    c = login(m)
    size = int(c.list(1).split()[2])
    assert size == len(body) + body.count(b"\n")
    c._putcmd("RETR 1")
    assert c._getline()[0] == b"+OK %d octets" % size
    # Read nothing for a while: the socket buffers fill and pop3d must stop reading the
    # file instead of buffering it.
    time.sleep(1.5)
    peak = max(before, harness.rss_kb(m.pid("pop3d")))
    received = 0
    stuffed = 0
    n = 0
    while True:
        ln, _ = c._getline()
        if ln == b".":
            break
        if ln.startswith(b".."):
            stuffed += 1
        received += len(ln) + 2
        n += 1
        if n % 20000 == 0:
            peak = max(peak, harness.rss_kb(m.pid("pop3d")))
    assert received == size + stuffed
    assert stuffed == body.count(b"\n.")
    assert peak - before < 16 * 1024, (before, peak)  # KiB: far below 64 MiB
    c.quit()


def test_max_sessions(make_mailbag):
    m = make_mailbag(conf={"pop3d_max_sessions": "2"})
    m.start_pop3d()
    a = pop(m, tls=False)
    b = pop(m, tls=False)
    s = socket.create_connection((m.host, m.ports["pop3_listen"]), timeout=10)
    assert s.recv(200).startswith(b"-ERR [SYS/TEMP]")
    s.close()
    a.quit()
    b.quit()


def test_throttle_after_ten_failures(popmb):
    """10 failures from one address within 10 minutes refuse even the right password."""
    m = popmb
    import threading
    errors = []

    def fail_once():
        c = pop(m)
        c.user(USER)
        try:
            c.pass_("wrong")
        except poplib.error_proto as e:
            errors.append(e.args[0])
        c.quit()

    threads = [threading.Thread(target=fail_once) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [b"-ERR [AUTH] Authentication failed"] * 10
    c = pop(m)
    c.user(USER)
    assert err(c.pass_, PASSWORD).startswith(b"-ERR [SYS/TEMP] Too many failed logins")
    c.quit()


def test_hostile_input_and_broken_connections(popmb):
    """Over-long lines, bare LF, NUL bytes, a client vanishing in the middle of a RETR or
    of a TLS handshake: pop3d answers or drops that one session and serves the next."""
    m = popmb
    md = m.maildir(USER)
    with open(os.path.join(md, "new", "%d.mid.test" % int(time.time())), "wb") as f:
        f.write(b"Subject: mid\n\n" + b"line\n" * 400000)
    s = socket.create_connection((m.host, m.ports["pop3_listen"]), timeout=10)
    f = s.makefile("rb")
    assert f.readline().startswith(b"+OK")
    s.sendall(b"NOOP " + b"x" * 5000 + b"\r\nCAPA\n")  # too long; then a bare-LF command
    assert f.readline() == b"-ERR Line too long\r\n"
    assert f.readline() == b"+OK Capability list follows\r\n"
    while f.readline() != b".\r\n":
        pass
    s.sendall(b"US\0ER x\r\n")
    assert f.readline().startswith(b"-ERR Syntax error")
    s.close()
    # Vanish during a TLS handshake and during a large RETR.
    s = socket.create_connection((m.host, m.ports["pop3s_listen"]), timeout=10)
    s.sendall(b"\x16\x03\x01\x00\x05hello")
    s.close()
    c = login(m)
    c._putcmd("RETR 1")
    assert c._getline()[0].startswith(b"+OK")
    c.sock.shutdown(socket.SHUT_RDWR)
    c.sock.close()
    for _ in harness.deadline_loop(10, "the maildrop lock to be released"):
        try:
            c = login(m)
            break
        except poplib.error_proto as e:
            assert e.args[0].startswith(b"-ERR [IN-USE]"), e
    assert c.stat()[0] == 1  # nothing deleted
    c.quit()
    assert m.alive("pop3d")
