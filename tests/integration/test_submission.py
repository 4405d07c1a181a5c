# Mail submission by users (no relaying without a login; the extra port 5190):
# real clients on the submission port 587 (STARTTLS, RFC 6409) and on 465 (implicit
# TLS, RFC 8314): swaks, Python smtplib, msmtp; AUTH PLAIN and LOGIN (RFC 4954) only
# under TLS; MAIL refused before AUTH (530 5.7.0); the sender login check; failed
# passwords delayed, then the address blocked (421); concurrent logins; an extra
# submission port. Local submission with our sendmail (and mail(1) through it) is in
# test_submission_sendmail.py.
import os
import re
import socket
import ssl
import smtplib
import subprocess
import threading
import time

import pytest

import harness
from harness import header_values
from messages import make_message

USER = "demo@example.test"
PASSWORD = "demo-secret"
FOREIGN = "someone@far.example"


def received_with(data):
    rec = header_values(data, "Received")
    assert rec, data[:400]
    m = re.search(r"\bwith (\S+)", rec[0])
    assert m, rec[0]
    return m.group(1).rstrip(";")


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def source_ip(m, n):
    """A loopback address of its own for the test client (all of 127/8 is local)."""
    a = m.host.split(".")
    return "127.%s.%s.%d" % (a[1], (int(a[2]) + 100) % 250 + 1, n)


def raw(m, port, source=None, implicit_tls=False, timeout=30):
    """A raw SMTP connection (greeting not read yet), optionally from `source`."""
    c = harness.RawSMTP.__new__(harness.RawSMTP)
    c.sock = socket.create_connection((m.host, port), timeout=timeout,
                                      source_address=(source, 0) if source else None)
    c.buf = b""
    if implicit_tls:
        c.sock = tls_context().wrap_socket(c.sock, server_hostname=m.hostname)
    return c


def starttls(c, m):
    code, lines = c.cmd("STARTTLS")
    assert code == 220, (code, lines)
    c.sock, c.buf = tls_context().wrap_socket(c.sock, server_hostname=m.hostname), b""


def closed_by_server(c):
    try:
        return c.sock.recv(100) == b""
    except OSError:  # ssl.SSLError too: a TLS connection closed without close_notify
        return True


def plain(user, password):
    import base64
    return base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()


@pytest.fixture
def sub(make_mailbag):
    # relay_networks is emptied: the test clients come from 127/8, which it trusts by
    # default, and here they must count as users somewhere on the Internet.
    return make_mailbag(conf={"relay_networks": ""})


def test_swaks_starttls_auth_on_587(sub):
    port = sub.ports["submission_listen"]
    for mech in ("PLAIN", "LOGIN"):
        mid = "<swaks-%s@test.example.net>" % mech.lower()
        r = subprocess.run(
            ["swaks", "--server", "%s:%d" % (sub.host, port), "--tls", "--auth", mech,
             "--auth-user", USER, "--auth-password", PASSWORD, "--helo", "laptop.example.net",
             "--from", USER, "--to", USER, "--header", "Message-Id: " + mid,
             "--body", "submitted with AUTH " + mech, "--timeout", "60"],
            capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "235 2.7.0" in r.stdout, r.stdout
        data = sub.find_message(USER, mid)
        # RFC 3848: ESMTPSA = ESMTP + STARTTLS + AUTH.
        assert received_with(data) == "ESMTPSA", header_values(data, "Received")
    # The password never reaches the logs.
    for name in harness.DAEMONS:
        assert PASSWORD not in sub.logs(name)


def test_swaks_implicit_tls_on_465(sub):
    port = sub.ports["submissions_listen"]
    mid = "<swaks-tlsc@test.example.net>"
    r = subprocess.run(
        ["swaks", "--server", "%s:%d" % (sub.host, port), "--tlsc", "--auth", "LOGIN",
         "--auth-user", USER, "--auth-password", PASSWORD, "--helo", "laptop.example.net",
         "--from", USER, "--to", USER, "--header", "Message-Id: " + mid,
         "--body", "over implicit TLS", "--timeout", "60"],
        capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    data = sub.find_message(USER, mid)
    assert received_with(data) == "ESMTPSA"
    assert b"(using TLSv1." in data
    # Relaying for the authenticated user: a foreign recipient is accepted and queued
    # (it waits there for the remote agent, which does not run in this test).
    r = subprocess.run(
        ["swaks", "--server", "%s:%d" % (sub.host, port), "--tlsc", "--auth", "PLAIN",
         "--auth-user", USER, "--auth-password", PASSWORD, "--from", USER, "--to", FOREIGN,
         "--timeout", "60"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(sub.queue_files()) == 1


def test_smtplib_starttls_login(sub):
    port = sub.ports["submission_listen"]
    mid, msg = make_message("smtplib-sub", 1, to=USER)
    s = smtplib.SMTP(sub.host, port, local_hostname="laptop.example.net", timeout=60)
    try:
        s.ehlo()
        assert not s.has_extn("auth"), "AUTH must not be offered before TLS"
        s.starttls(context=tls_context())
        s.ehlo()
        assert s.has_extn("auth")
        assert "PLAIN" in s.esmtp_features["auth"] and "LOGIN" in s.esmtp_features["auth"]
        code, _ = s.login(USER, PASSWORD)
        assert code == 235
        # Relaying is allowed now (checked at RCPT; the local copy is what we follow).
        assert s.mail(USER)[0] == 250
        assert s.rcpt(FOREIGN)[0] == 250
        s.rset()
        refused = s.sendmail(USER, [USER], msg)
        assert refused == {}
    finally:
        s.quit()
    data = sub.find_message(USER, mid)
    assert received_with(data) == "ESMTPSA"


def test_msmtp_as_a_real_client(sub, tmp_path):
    port = sub.ports["submission_listen"]
    conf = tmp_path / "msmtprc"
    conf.write_text(
        "defaults\n"
        "account mailbag\n"
        "host %s\n"
        "port %d\n"
        "tls on\n"
        "tls_starttls on\n"
        "tls_trust_file %s\n"
        "tls_host_override %s\n"
        "auth on\n"
        "user %s\n"
        "password %s\n"
        "from %s\n"
        "account default : mailbag\n"
        % (sub.host, port, sub.conf["tls_cert_file"], sub.hostname, USER, PASSWORD, USER))
    os.chmod(conf, 0o600)
    mid = "<msmtp-1@test.example.net>"
    msg = ("From: Demo <%s>\nTo: %s\nSubject: via msmtp\nMessage-ID: %s\n\nsent by msmtp\n"
           % (USER, USER, mid))
    r = subprocess.run(["msmtp", "-C", str(conf), "-t"], input=msg, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    data = sub.find_message(USER, mid)
    assert b"sent by msmtp" in data
    assert received_with(data) == "ESMTPSA"


def test_mail_before_auth_is_530_and_auth_needs_tls(sub):
    port = sub.ports["submission_listen"]
    c = raw(sub, port)
    assert c.reply()[0] == 220
    code, lines = c.cmd("EHLO laptop.example.net")
    assert code == 250 and not any(l.upper().startswith("AUTH") for l in lines), lines
    # RFC 6409 4.3, RFC 4954 6.
    code, lines = c.cmd("MAIL FROM:<%s>" % USER)
    assert code == 530 and lines[0].startswith("5.7.0"), (code, lines)
    # In clear the password is not even taken (RFC 4954 6: 538 5.7.11).
    code, lines = c.cmd("AUTH PLAIN " + plain(USER, PASSWORD))
    assert code == 538, (code, lines)
    starttls(c, sub)
    assert c.cmd("EHLO laptop.example.net")[0] == 250
    assert c.cmd("MAIL FROM:<%s>" % USER)[0] == 530
    assert c.cmd("AUTH PLAIN " + plain(USER, PASSWORD))[0] == 235
    assert c.cmd("MAIL FROM:<%s>" % USER)[0] == 250
    c.close()


def test_sender_login_check(sub):
    c = raw(sub, sub.ports["submissions_listen"], implicit_tls=True)
    assert c.reply()[0] == 220
    assert c.cmd("EHLO laptop.example.net")[0] == 250
    assert c.cmd("AUTH PLAIN " + plain(USER, PASSWORD))[0] == 235
    code, lines = c.cmd("MAIL FROM:<president@example.test>")
    assert code == 554 and lines[0].startswith("5.7.1"), (code, lines)
    code, lines = c.cmd("MAIL FROM:<someone@far.example>")
    assert code == 554, (code, lines)
    assert c.cmd("MAIL FROM:<>")[0] == 250  # the null sender (receipts, bounces)
    assert c.cmd("RSET")[0] == 250
    assert c.cmd("MAIL FROM:<DEMO@Example.Test>")[0] == 250
    c.close()


def test_wrong_passwords_are_delayed_then_the_address_is_blocked(make_mailbag):
    m = make_mailbag(conf={"relay_networks": "", "smtpd_auth_failure_limit": "3",
                           "smtpd_auth_block_time": "1m"})
    port = m.ports["submission_listen"]
    ip = source_ip(m, 21)
    c = raw(m, port, source=ip)
    assert c.reply()[0] == 220
    assert c.cmd("EHLO laptop.example.net")[0] == 250
    starttls(c, m)
    assert c.cmd("EHLO laptop.example.net")[0] == 250
    took = []
    for _ in range(2):
        t0 = time.monotonic()
        code, lines = c.cmd("AUTH PLAIN " + plain(USER, "wrong-password"))
        took.append(time.monotonic() - t0)
        assert code == 535 and lines[0].startswith("5.7.8"), (code, lines)
    # The delay grows: about 1 s, then about 2 s.
    assert took[0] >= 0.9 and took[1] >= 1.9 and took[1] > took[0], took
    # The third failure blocks the address: 421, and the connection is closed.
    code, lines = c.cmd("AUTH PLAIN " + plain(USER, "wrong-again"))
    assert code == 421 and lines[0].startswith("4.7.0"), (code, lines)
    assert closed_by_server(c)
    c.close()
    # New connections from that address are refused at once, even with the right
    # password, on every port; another address is not affected.
    for p in (port, m.port):
        b = raw(m, p, source=ip)
        code, lines = b.reply()
        assert code == 421 and lines[0].startswith("4.7.0"), (code, lines)
        b.close()
    other = raw(m, port, source=source_ip(m, 22))
    assert other.reply()[0] == 220
    other.close()
    line = m.wait_for_log("smtpd", r"authentication failed for demo@example\.test from \[%s\]" % re.escape(ip))
    assert "wrong" not in line
    assert "wrong-password" not in m.logs("smtpd") and "wrong-again" not in m.logs("smtpd")


def test_concurrent_logins_all_succeed_and_idle_sessions_stay_responsive(sub):
    port = sub.ports["submission_listen"]
    # An idle session on port 25 that must keep answering while the logins run.
    idle = sub.raw()
    assert idle.cmd("EHLO idle.example.net")[0] == 250
    results = []

    def login(n):
        try:
            s = smtplib.SMTP(sub.host, port, local_hostname="c%d.example.net" % n, timeout=60)
            s.starttls(context=tls_context())
            results.append(s.login(USER, PASSWORD)[0])
            s.quit()
        except Exception as e:  # noqa: BLE001 - reported by the assertion below
            results.append(repr(e))

    threads = [threading.Thread(target=login, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    worst = 0.0
    while any(t.is_alive() for t in threads):
        t0 = time.monotonic()
        assert idle.cmd("NOOP")[0] == 250
        worst = max(worst, time.monotonic() - t0)
        time.sleep(0.01)
    for t in threads:
        t.join()
    assert results == [235] * 12, results
    # A loose bound: a single yescrypt check already takes tens of milliseconds, twelve
    # in a row on the event loop would take far longer.
    assert worst < 1.0, worst
    idle.close()


def test_extra_submission_port_like_5190(make_mailbag):
    m = make_mailbag(start=False, conf={"relay_networks": ""})
    extra = harness.free_port(m.host)
    first = 587 if harness.is_root() else harness.free_port(m.host)
    m.extra_conf["submission_listen"] = "%s:%d, %s:%d" % (m.host, first, m.host, extra)
    m.start()
    for port in (first, extra):
        c = raw(m, port)
        assert c.reply()[0] == 220
        assert c.cmd("EHLO laptop.example.net")[0] == 250
        assert c.cmd("MAIL FROM:<%s>" % USER)[0] == 530
        starttls(c, m)
        assert c.cmd("EHLO laptop.example.net")[0] == 250
        assert c.cmd("AUTH PLAIN " + plain(USER, PASSWORD))[0] == 235
        assert c.cmd("MAIL FROM:<%s>" % USER)[0] == 250
        assert c.cmd("RCPT TO:<%s>" % FOREIGN)[0] == 250
        c.close()


def test_trusted_network_submits_without_auth(make_mailbag):
    # RFC 6409 4.3: authorisation established otherwise ("within a protected subnetwork").
    m = make_mailbag(start=False)
    ip = source_ip(m, 30)
    m.extra_conf["relay_networks"] = "%s/32" % ip
    m.start()
    c = raw(m, m.ports["submission_listen"], source=ip)
    assert c.reply()[0] == 220
    assert c.cmd("EHLO app.example.net")[0] == 250
    assert c.cmd("MAIL FROM:<app@example.net>")[0] == 250
    assert c.cmd("RCPT TO:<%s>" % FOREIGN)[0] == 250
    c.close()
    other = raw(m, m.ports["submission_listen"], source=source_ip(m, 31))
    assert other.reply()[0] == 220
    assert other.cmd("EHLO app.example.net")[0] == 250
    assert other.cmd("MAIL FROM:<app@example.net>")[0] == 530
    other.close()


def test_starttls_injection_is_discarded_on_submission(sub):
    # CVE-2011-0411, RFC 3207 4.2: an AUTH and a MAIL pipelined in clear behind STARTTLS
    # must not be executed inside TLS; after the handshake the session starts over.
    c = raw(sub, sub.ports["submission_listen"])
    assert c.reply()[0] == 220
    assert c.cmd("EHLO laptop.example.net")[0] == 250
    c.send(("STARTTLS\r\nAUTH PLAIN %s\r\nMAIL FROM:<%s>\r\n" % (plain(USER, PASSWORD), USER)).encode())
    code, lines = c.reply()
    assert code == 220, lines
    c.sock, c.buf = tls_context().wrap_socket(c.sock, server_hostname=sub.hostname), b""
    code, lines = c.cmd("EHLO laptop.example.net")
    assert code == 250 and lines[0].startswith(sub.hostname), (code, lines)
    assert "AUTH PLAIN LOGIN" in lines
    assert c.cmd("MAIL FROM:<%s>" % USER)[0] == 530  # the injected AUTH never happened
    c.close()
