# Resource limits against hostile clients of smtpd and pop3d: a client that pipelines
# commands and never reads its replies costs a bounded amount of memory (smtpd checks
# its output cap per command, pop3d stops reading once its output is pending); pop3d
# caps the sessions of one client; and the login failure limit holds against parallel
# sessions (attempts count when their check starts; a block reaches the sessions the
# client already has open).
import base64
import poplib
import socket
import ssl
import threading
import time

import pytest

import harness

USER = "demo@example.test"
PASSWORD = "demo-secret"


def small_window_socket(host, port):
    """A client socket with a tiny receive buffer: replies pile up at the server."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect((host, port))
    return s


def flood_until_blocked(s, payload, limit, seconds):
    """Sends `payload` repeatedly until the server stops reading (a send times out),
    `limit` bytes are out, or `seconds` pass. Returns the bytes sent."""
    s.settimeout(1.0)
    sent = 0
    end = time.monotonic() + seconds
    while sent < limit and time.monotonic() < end:
        try:
            sent += s.send(payload)
        except socket.timeout:
            break
    return sent


@pytest.mark.skipif(harness.sanitizer_build(), reason="AddressSanitizer's shadow memory swamps the RSS figures")
def test_smtpd_answers_every_pipelined_command_past_its_output_cap(mb):
    # 64 KiB of pipelined "EHLO x" is 8192 commands and about 1.2 MB of replies. smtpd
    # stops at its output cap inside one read (the pure session's limit per turn, see
    # session_test.cpp) and resumes as the socket drains: every command is answered, in
    # order, and the memory stays bounded. (On loopback the kernel's send buffer grows to
    # megabytes and absorbs most replies, so memory alone cannot show the difference.)
    pid = mb.pid("smtpd")
    flood = b"EHLO x\r\n" * 8192
    socks = []
    before = harness.rss_kb(pid)
    for _ in range(20):
        s = small_window_socket(mb.host, mb.port)
        s.sendall(flood + b"QUIT\r\n")
        socks.append(s)
    time.sleep(1.0)
    peak = harness.rss_kb(pid)
    for s in socks[:3]:
        s.settimeout(30)
        got = b""
        while not got.endswith(b"221 2.0.0 Bye\r\n"):
            chunk = s.recv(1 << 16)
            assert chunk, "connection closed early: %r" % got[-200:]
            got += chunk
        assert got.count(b"\r\n250 ") == 8192
    for s in socks:
        s.close()
    assert mb.alive("smtpd")
    assert peak - before < 32 * 1024, (before, peak)


@pytest.fixture
def popmb(make_mailbag):
    m = make_mailbag(conf={"pop3d_max_sessions_per_client": "3", "pop3d_auth_failure_limit": "3"})
    m.start_pop3d()
    return m


@pytest.mark.skipif(harness.sanitizer_build(), reason="AddressSanitizer's shadow memory swamps the RSS figures")
def test_pop3d_stops_reading_while_its_output_is_pending(popmb):
    # Pipelined CAPA without reading: before the cap pop3d read and answered without
    # end (about 20 bytes of replies per byte of input).
    m = popmb
    pid = m.pid("pop3d")
    before = harness.rss_kb(pid)
    s = small_window_socket(m.host, m.ports["pop3_listen"])
    sent = flood_until_blocked(s, b"CAPA\r\n" * 10000, 8 << 20, 15)
    time.sleep(1.0)
    peak = harness.rss_kb(pid)
    assert m.alive("pop3d")
    print("CAPA bytes sent before pop3d stopped reading:", sent)
    assert sent < 8 << 20, "pop3d kept reading while its replies piled up"
    assert peak - before < 16 * 1024, (before, peak)
    # Reading resumes once the client reads: every CAPA is answered, in order.
    s.settimeout(30)
    # QUIT waits behind the unread flood in the socket: send it while reading.
    quit = threading.Thread(target=s.sendall, args=(b"QUIT\r\n",), daemon=True)
    quit.start()
    marker = b"+OK Capability list follows\r\n"
    answered, errors, tail = 0, 0, b""
    while True:  # until pop3d closes after QUIT
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        data = tail + chunk
        answered += data.count(marker)
        errors += data.count(b"\r\n-ERR")
        tail = data[-(len(marker) - 1):]
    quit.join(10)
    assert answered == sent // 6
    assert errors == 0
    s.close()


def test_pop3d_sessions_per_client(popmb):
    m = popmb
    port = m.ports["pop3_listen"]
    keep = [socket.create_connection((m.host, port), timeout=10) for _ in range(3)]
    for s in keep:
        assert s.recv(200).startswith(b"+OK")
    s = socket.create_connection((m.host, port), timeout=10)
    assert s.recv(200).startswith(b"-ERR [SYS/TEMP]")
    s.close()
    keep.pop().close()
    for _ in harness.deadline_loop(10, "a session slot to free up"):
        s = socket.create_connection((m.host, port), timeout=10)
        line = s.recv(200)
        s.close()
        if line.startswith(b"+OK"):
            break
    for s in keep:
        s.close()


def pop_tls(m):
    c = poplib.POP3(m.host, m.ports["pop3_listen"], timeout=60)
    ctx = ssl.create_default_context(cafile="%s/cert.pem" % m.dir)
    ctx.check_hostname = False
    c.stls(ctx)
    return c


def test_pop3d_failure_limit_holds_against_parallel_sessions(popmb):
    m = popmb
    # A session opened before the attack, idle meanwhile.
    early = pop_tls(m)
    early.user(USER)
    sessions = [pop_tls(m) for _ in range(2)]
    for c in sessions:
        c.user(USER)
    # Every session sends PASS at once, five guesses each, without waiting in between
    # for the delays the limiter imposes on each session.
    results = []
    lock = threading.Lock()

    def guess(c, n):
        for i in range(n):
            try:
                c.pass_("wrong-%d" % i)
                r = b"+OK"
            except poplib.error_proto as e:
                r = e.args[0]
            with lock:
                results.append(r)
            c.user(USER)

    threads = [threading.Thread(target=guess, args=(c, 5)) for c in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    checked = [r for r in results if r.startswith(b"-ERR [AUTH]")]
    refused = [r for r in results if r.startswith(b"-ERR [SYS/TEMP]")]
    assert len(checked) <= 3, results
    assert len(checked) + len(refused) == 10, results
    # The block reaches the session that was already open: even the right password is
    # refused without a check.
    assert harness_err(early.pass_, PASSWORD).startswith(b"-ERR [SYS/TEMP]")
    early.quit()
    for c in sessions:
        c.quit()


def harness_err(fn, *args):
    with pytest.raises(poplib.error_proto) as e:
        fn(*args)
    return e.value.args[0]


def smtp_auth_line(password):
    return ("AUTH PLAIN " + base64.b64encode(("\0%s\0%s" % (USER, password)).encode()).decode() + "\r\n").encode()


def test_smtpd_failure_limit_holds_against_parallel_sessions(make_mailbag):
    # The test's client address must not be in relay_networks (exempt from limits).
    m = make_mailbag(conf={"relay_networks": "192.0.2.0/24", "smtpd_auth_failure_limit": "3",
                           "smtpd_max_connect_rate": "0"})
    port = m.ports["submission_listen"]
    ctx = ssl.create_default_context(cafile="%s/cert.pem" % m.dir)
    ctx.check_hostname = False

    def session():
        raw = socket.create_connection((m.host, port), timeout=60)
        f = raw.makefile("rb")
        assert f.readline().startswith(b"220")
        raw.sendall(b"EHLO c.example\r\nSTARTTLS\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        assert f.readline().startswith(b"220")
        s = ctx.wrap_socket(raw, server_hostname="mail.example.test")
        c = harness.RawSMTP.__new__(harness.RawSMTP)
        c.sock, c.buf = s, b""
        assert c.cmd("EHLO c.example")[0] == 250
        return c

    early = session()  # open before the attack, idle meanwhile
    clients = [session() for _ in range(8)]
    for c in clients:  # all at once: eight checks in flight
        c.send(smtp_auth_line("wrong"))
    codes = []
    for c in clients:
        try:
            codes.append(c.reply()[0])
        except Exception:
            codes.append(None)
    failed = codes.count(535)
    assert failed + codes.count(421) == len(clients), codes
    assert failed < 3, codes  # the third failure blocks; the rest are never checked
    # The block applies to the session already open, even with the right password.
    early.send(smtp_auth_line(PASSWORD))
    assert early.reply()[0] == 421
    for c in clients + [early]:
        c.close()
