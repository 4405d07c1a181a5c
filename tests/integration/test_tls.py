# TLS defaults: on the implicit-TLS ports (465 submissions, RFC 8314; 995
# POP3S) and after STARTTLS/STLS (25, 110), only TLS 1.2 and 1.3 are spoken, and with
# TLS 1.2 only ECDHE key exchange with AEAD ciphers (forward secrecy, no CBC, RC4, 3DES,
# NULL, anonymous or export suites; RFC 7525 / RFC 9325 4.1-4.2). A client of our own
# (Python's ssl, with its security level lowered so that it offers what old clients
# offer) tries every protocol version and every TLS 1.2 cipher suite it knows, one at a
# time. The full testssl.sh scan is `make test-tls` (test_tls_testssl.py).
import poplib
import smtplib
import socket
import ssl

import pytest

import harness

# ssl.TLSVersion.TLSv1 and TLSv1_1 are deprecated: that is the point.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# What common/tls/tls.cpp allows for TLS 1.2 (OpenSSL names).
GOOD_TLS12 = {
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
}
VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


def client(version=None, cipher=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers((cipher or "ALL:COMPLEMENTOFALL") + ":@SECLEVEL=0")
    if version is not None:
        ctx.minimum_version = version
        ctx.maximum_version = version
    return ctx


def handshake(host, port, ctx, wrap=None):
    """(protocol, cipher) the server agreed to, or None if it refused."""
    try:
        if wrap:
            return wrap(ctx)
        with socket.create_connection((host, port), timeout=10) as raw:
            with ctx.wrap_socket(raw) as s:
                return s.version(), s.cipher()[0]
    except (ssl.SSLError, ConnectionResetError, smtplib.SMTPException, poplib.error_proto) as e:
        return None if not isinstance(e, ssl.SSLCertVerificationError) else ("?", "?")


def tls12_client_ciphers():
    ctx = client(ssl.TLSVersion.TLSv1_2)
    return sorted({c["name"] for c in ctx.get_ciphers() if c["protocol"] in ("TLSv1.2", "TLSv1.0", "SSLv3")})


@pytest.fixture(scope="module")
def server():
    m = harness.Mailbag()
    try:
        m.start()
        m.start_pop3d()
        yield m
    finally:
        m.cleanup()


def ports(m):
    return {"submissions": m.ports["submissions_listen"], "pop3s": m.ports["pop3s_listen"]}


@pytest.mark.parametrize("service", ["submissions", "pop3s"])
def test_only_tls12_and_tls13(server, service):
    port = ports(server)[service]
    got = {name: handshake(server.host, port, client(v)) for name, v in VERSIONS.items()}
    assert got["TLSv1"] is None and got["TLSv1.1"] is None, got
    assert got["TLSv1.2"] and got["TLSv1.2"][0] == "TLSv1.2", got
    assert got["TLSv1.3"] and got["TLSv1.3"][0] == "TLSv1.3", got


@pytest.mark.parametrize("service", ["submissions", "pop3s"])
def test_tls12_offers_only_ecdhe_aead_suites(server, service):
    port = ports(server)[service]
    offered = tls12_client_ciphers()
    # The client really offers the weak ones (else the test proves nothing).
    assert len(offered) > 20 and any("CBC" in c or c.endswith("-SHA") for c in offered), offered
    accepted = set()
    for c in offered:
        try:
            ctx = client(ssl.TLSVersion.TLSv1_2, c)
        except ssl.SSLError:
            continue  # this OpenSSL cannot offer it at all
        r = handshake(server.host, port, ctx)
        if r:
            accepted.add(r[1])
    assert accepted, "no TLS 1.2 suite accepted"
    assert accepted <= GOOD_TLS12, sorted(accepted - GOOD_TLS12)


def test_starttls_and_stls_have_the_same_floor(server):
    m = server

    def smtp_starttls(ctx):
        with smtplib.SMTP(m.host, m.port, timeout=10) as s:
            s.ehlo("client.example.net")
            s.starttls(context=ctx)
            return s.sock.version(), s.sock.cipher()[0]

    def pop3_stls(ctx):
        p = poplib.POP3(m.host, m.ports["pop3_listen"], timeout=10)
        try:
            p.stls(context=ctx)
            return p.sock.version(), p.sock.cipher()[0]
        finally:
            try:
                p.quit()
            except (poplib.error_proto, OSError):
                pass

    for wrap in (smtp_starttls, pop3_stls):
        assert handshake(None, None, client(ssl.TLSVersion.TLSv1_1), wrap) is None, wrap.__name__
        assert handshake(None, None, client(ssl.TLSVersion.TLSv1_2, "AES128-SHA"), wrap) is None, wrap.__name__
        r = handshake(None, None, client(ssl.TLSVersion.TLSv1_2), wrap)
        assert r and r[1] in GOOD_TLS12, (wrap.__name__, r)
