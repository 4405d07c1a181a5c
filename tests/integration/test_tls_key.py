# The TLS private key in its own process (mailbag-tlskey, common/tlskey; the callers'
# side in common/tls/remote_key.cpp): smtpd and pop3d hold only the certificate, and the
# signature of every handshake is made by the key daemon. Shown here: TLS 1.2 and 1.3
# with RSA (PKCS #1 v1.5 and PSS signatures) and ECDSA certificates on every TLS port;
# a stopped or stuck key daemon makes handshakes fail quickly and cleanly while plain
# text still works, and they work again once it is back; SIGHUP serves a new certificate
# to new connections while a running session goes on; a certificate for another key is
# refused with a log line; garbage, huge frames and foreign uids on the key socket.
import os
import poplib
import shutil
import signal
import smtplib
import socket
import ssl
import struct
import subprocess
import time

import pytest

import harness
from ipc_wire import RawPeer, frame, s, u64, u8
from procmem import memory_contains, private_exponent_slices

KEY_OP, KEY_OP_DONE = 70, 71


def make_pair(directory, kind, stem):
    """A self-signed certificate and key: kind "rsa" (2048) or "ec" (P-256)."""
    cert, key = os.path.join(directory, stem + ".pem"), os.path.join(directory, stem + "-key.pem")
    newkey = ["-newkey", "rsa:2048"] if kind == "rsa" else ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    subprocess.run(["openssl", "req", "-x509"] + newkey + ["-nodes", "-subj", "/CN=mail.example.test", "-days", "30",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


def install_pair(m, cert, key, for_reload=False):
    """Replaces the instance's cert.pem and key.pem (the files its config names). For a
    reload the key must be readable by the key daemon's user: group mb-tlskey, 0640."""
    for src, name in ((cert, "cert.pem"), (key, "key.pem")):
        tmp = os.path.join(m.dir, name + ".new")
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o644 if name == "cert.pem" else 0o640 if for_reload else 0o600)
        if for_reload and name == "key.pem" and harness.is_root():
            shutil.chown(tmp, group="mb-tlskey")
        os.rename(tmp, os.path.join(m.dir, name))


def start(kind, conf=None):
    m = harness.Mailbag(conf=conf)
    cert, key = make_pair(m.dir, kind, "first")
    install_pair(m, cert, key)
    m.start()
    m.start_pop3d()
    return m


def ctx(version=None):
    c = ssl._create_unverified_context()
    if version:
        c.minimum_version = c.maximum_version = version
    return c


def implicit(m, key, version=None, timeout=10):
    """(protocol, DER certificate) of a handshake on port `key` (a *_listen name)."""
    with socket.create_connection((m.host, m.ports[key]), timeout=timeout) as raw:
        with ctx(version).wrap_socket(raw) as t:
            return t.version(), t.getpeercert(binary_form=True)


def starttls(m, version=None):
    with smtplib.SMTP(m.host, m.port, timeout=10) as c:
        c.ehlo("client.example.net")
        c.starttls(context=ctx(version))
        c.ehlo("client.example.net")
        return c.sock.version()


def stls(m, version=None):
    p = poplib.POP3(m.host, m.ports["pop3_listen"], timeout=10)
    try:
        p.stls(context=ctx(version))
        return p.sock.version()
    finally:
        p.quit()


def cert_der(path):
    return ssl.PEM_cert_to_DER_cert(open(path).read().split("-----END CERTIFICATE-----")[0]
                                    + "-----END CERTIFICATE-----\n")


def s_client_sigalg(m, sigalgs):
    """The peer signature type OpenSSL's client saw over TLS 1.2 on port 465."""
    r = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (m.host, m.ports["submissions_listen"]),
                        "-tls1_2", "-sigalgs", sigalgs], input="", capture_output=True, text=True, timeout=30)
    for line in r.stdout.splitlines() + r.stderr.splitlines():
        if line.startswith("Peer signature type:"):
            return line.split(":", 1)[1].strip()
    return None


@pytest.fixture(scope="module", params=["rsa", "ec"])
def server(request):
    m = start(request.param)
    m.kind = request.param
    try:
        yield m
    finally:
        m.cleanup()


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_every_tls_port_works_with_the_key_in_the_key_daemon(server, version):
    m = server
    want = "TLSv1.2" if version == ssl.TLSVersion.TLSv1_2 else "TLSv1.3"
    der = cert_der(os.path.join(m.dir, "cert.pem"))
    for key in ("submissions_listen", "pop3s_listen"):
        got, peer = implicit(m, key, version)
        assert got == want and peer == der, key
    assert starttls(m, version) == want
    assert stls(m, version) == want
    # smtpd and pop3d never opened the key; the key daemon did the signing.
    assert "key" not in " ".join(os.listdir("/proc/%d/fd" % m.pid("smtpd")))
    assert "started: %s" % ("RSA 2048" if m.kind == "rsa" else "EC prime256v1") in m.logs("mailbag-tlskey")


def test_rsa_pkcs1_and_pss_signatures_in_tls12(server):
    if server.kind != "rsa":
        assert s_client_sigalg(server, "ECDSA+SHA256") == "ECDSA"
        return
    # PKCS #1 v1.5 (the key daemon pads) and PSS (the caller pads, the daemon does raw RSA).
    assert s_client_sigalg(server, "RSA+SHA256") == "RSA"
    assert s_client_sigalg(server, "RSA-PSS+SHA256") == "RSA-PSS"


def test_a_stopped_or_stuck_key_daemon_fails_handshakes_cleanly():
    m = start("ec")
    try:
        assert implicit(m, "submissions_listen")[0] == "TLSv1.3"
        # Stuck: no answer within smtpd's deadline (2 s); the client gets an alert, no hang.
        os.kill(m.pid("mailbag-tlskey"), signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            with pytest.raises((ssl.SSLError, ConnectionResetError)):
                implicit(m, "submissions_listen", timeout=20)
            assert time.monotonic() - t0 < 10
        finally:
            os.kill(m.pid("mailbag-tlskey"), signal.SIGCONT)
        m.wait_for_log("smtpd", "key daemon at .*timed out")
        # Stopped: refused at once.
        m.kill("mailbag-tlskey")
        for key in ("submissions_listen", "pop3s_listen"):
            t0 = time.monotonic()
            with pytest.raises((ssl.SSLError, ConnectionResetError)):
                implicit(m, key, timeout=20)
            assert time.monotonic() - t0 < 5, key
        with pytest.raises((ssl.SSLError, smtplib.SMTPException, ConnectionResetError)):
            starttls(m)
        # The plain-text parts serve on.
        with smtplib.SMTP(m.host, m.port, timeout=10) as c:
            assert c.ehlo("client.example.net")[0] == 250
            assert c.noop()[0] == 250
        p = poplib.POP3(m.host, m.ports["pop3_listen"], timeout=10)
        assert p.getwelcome().startswith(b"+OK")
        p.quit()
        m.wait_for_log("smtpd", "TLS handshake without a signature: key daemon at")
        m.wait_for_log("pop3d", "TLS handshake without a signature: key daemon at")
        # Back again: the callers reconnect by themselves.
        m.start_daemon("mailbag-tlskey")
        assert implicit(m, "submissions_listen")[0] == "TLSv1.3"
        assert implicit(m, "pop3s_listen")[0] == "TLSv1.3"
        assert starttls(m) == "TLSv1.3"
        assert m.alive("smtpd") and m.alive("pop3d")
    finally:
        m.cleanup()


def test_sighup_serves_a_new_certificate_to_new_connections_only():
    m = start("rsa")
    try:
        old = cert_der(os.path.join(m.dir, "cert.pem"))
        # A session that is open across the reload.
        c = smtplib.SMTP(m.host, m.port, timeout=10)
        c.ehlo("client.example.net")
        c.starttls(context=ctx())
        c.ehlo("client.example.net")
        assert c.sock.getpeercert(binary_form=True) == old
        if harness.is_root():  # the first key is root's alone: the daemon says so at start
            assert "a reload (SIGHUP) cannot re-read it" in m.logs("mailbag-tlskey")
        cert, key = make_pair(m.dir, "ec", "second")
        install_pair(m, cert, key, for_reload=True)
        for name in ("mailbag-tlskey", "smtpd", "pop3d"):
            os.kill(m.pid(name), signal.SIGHUP)
        m.wait_for_log("mailbag-tlskey", "reload: EC prime256v1 key")
        m.wait_for_log("smtpd", "TLS reload: new connections get")
        m.wait_for_log("pop3d", "TLS reload: new connections get")
        new = cert_der(cert)
        assert implicit(m, "submissions_listen")[1] == new
        assert implicit(m, "pop3s_listen")[1] == new
        # The old session still works (its context and handshake are done).
        assert c.noop()[0] == 250
        assert c.mail("a@example.net")[0] == 250
        c.quit()
    finally:
        m.cleanup()


def test_a_certificate_for_another_key_is_refused_and_the_old_one_serves_on():
    m = start("ec")
    try:
        old = cert_der(os.path.join(m.dir, "cert.pem"))
        other_cert, _ = make_pair(m.dir, "ec", "other")
        shutil.copyfile(other_cert, os.path.join(m.dir, "cert.pem"))  # the key stays
        os.kill(m.pid("smtpd"), signal.SIGHUP)
        m.wait_for_log("smtpd", "TLS reload refused: the key daemon holds key [0-9a-f]+, the certificate", timeout=30)
        assert implicit(m, "submissions_listen")[1] == old
        assert starttls(m) == "TLSv1.3"
    finally:
        m.cleanup()


def test_tls_key_daemon_no_keeps_the_key_in_smtpd_and_pop3d():
    m = start("rsa", conf={"tls_key_daemon": "no"})
    try:
        assert not m.alive("mailbag-tlskey")
        assert implicit(m, "submissions_listen")[0] == "TLSv1.3"
        assert implicit(m, "pop3s_listen")[0] == "TLSv1.3"
        if harness.is_root():
            # The memory probe test_hardening.py relies on finds the key where it is.
            d = private_exponent_slices(os.path.join(m.dir, "key.pem"))
            assert memory_contains(m.pid("smtpd"), d) and memory_contains(m.pid("pop3d"), d)
        # No reload of the key is possible after the drop: SIGHUP keeps the old pair.
        if harness.is_root():
            os.kill(m.pid("smtpd"), signal.SIGHUP)
            m.wait_for_log("smtpd", "TLS reload: .*key.pem.*; keeping the certificate in use")
            assert implicit(m, "submissions_listen")[0] == "TLSv1.3"
    finally:
        m.cleanup()


class KeyPeer(RawPeer):
    """A raw client of private/tlskey."""

    def __init__(self, m, hello_first=True):
        super().__init__(os.path.join(m.spool, "private", "tlskey"), "mailbag-tlskey", hello_first)

    def op(self, rid, kind, key_id, data):
        self.sock.send(frame(KEY_OP, u64(rid) + u8(kind) + s(key_id) + s(data)))
        t, p = self.recv()
        assert t == KEY_OP_DONE
        r_id, result = struct.unpack(">QB", p[:9])
        (n,) = struct.unpack(">I", p[9:13])
        return r_id, result, p[13:13 + n]


def test_the_key_socket_refuses_garbage_huge_frames_and_stale_key_ids(server):
    m = server
    p = KeyPeer(m)
    rid, result, key_id = p.op(1, 0, b"", b"")  # which key do you hold?
    assert (rid, result, len(key_id)) == (1, 0, 32)
    stale = bytes(32)
    rid, result, _ = p.op(2, 3 if m.kind == "ec" else 1, stale, b"\x01" * 32)
    assert result == 1  # key mismatch, with the daemon's key id
    p.close()
    bad = [
        b"\x00\x00",
        frame(KEY_OP, b"\x00" * 5),
        frame(KEY_OP, u64(1) + u8(9) + s(key_id) + s(b"x")),             # unknown op
        frame(KEY_OP, u64(1) + u8(1) + s(b"short") + s(b"x")),           # key id not 32 bytes
        frame(KEY_OP, u64(1) + u8(3) + s(key_id) + s(b"x" * 65)),        # digest too long
        frame(KEY_OP, u64(1) + u8(1) + s(key_id) + s(b"x" * 100000)),    # block too long
        frame(KEY_OP, u64(1) + u8(1) + s(key_id) + s(b"x") + b"tail"),   # trailing bytes
        frame(KEY_OP_DONE, u64(1) + u8(0) + s(b"") + s(b"") + s(b"")),  # an answer sent to the daemon
        struct.pack(">IH", 100, KEY_OP) + b"short",                      # length lies
        frame(KEY_OP, u64(1) + u8(1) + s(key_id) + s(b"x" * 200000)),    # over the frame limit
    ]
    for i, data in enumerate(bad):
        p = KeyPeer(m)
        try:
            p.sock.send(data)
        except OSError:
            pass  # over the socket's limit: the kernel refuses it already
        assert p.closed(), (i, data[:40])
        p.close()
    p = KeyPeer(m, hello_first=False)
    p.sock.send(frame(KEY_OP, u64(1) + u8(0) + s(b"") + s(b"")))
    assert p.closed()
    p.close()
    p = KeyPeer(m)
    with open("/dev/null", "rb") as f:
        p.sock.sendmsg([frame(KEY_OP, u64(1) + u8(0) + s(b"") + s(b""))],
                       [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", f.fileno()))])
    assert p.closed()
    p.close()
    assert m.alive("mailbag-tlskey")
    assert "dropped: bad request" in m.logs("mailbag-tlskey")
    assert implicit(m, "submissions_listen")[0] == "TLSv1.3"


@pytest.mark.skipif(not harness.is_root(), reason="needs root (daemons drop to mb-* users)")
def test_a_process_other_than_smtpd_or_pop3d_is_refused(server):
    m = server
    uid = str(harness.uid_of("mb-remote"))
    r = harness.probe_socket_as("mb-remote", "mb-auth", os.path.join(m.spool, "private", "tlskey"))
    assert r.stdout.strip() == "closed", r.stdout + r.stderr
    m.wait_for_log("mailbag-tlskey", "refusing uid %s" % uid)
    r = harness.probe_socket_as("mb-remote", None, os.path.join(m.spool, "private", "tlskey"))
    assert "PermissionError" in r.stderr, r.stdout + r.stderr
