# REQUIRETLS (RFC 8689) end to end. smtpd offers it only on a TLS session and refuses
# the parameter in clear; a message queued with it goes only over verified TLS to a
# server that offers REQUIRETLS, with the parameter passed on. The positive case sends
# from one Mailbag to a second Mailbag (the MX of the recipient domain, with a
# certificate from a CA made here, which the sender trusts through smtp_tls_ca_file);
# Postfix, which does not implement REQUIRETLS, is the peer of the negative cases:
# without STARTTLS, and with verified TLS but no REQUIRETLS: the message bounces with
# 5.7.10 at once, never waits. And the "TLS-Required: No" header field, which makes the
# sender ignore the recipient domain's MTA-STS policy.
import os
import re
import ssl

import pytest

import harness
import remote_peers
from messages import make_message
from remote_peers import Postfix, Unbound, inject, peers, remote_log_line, sender_mailbag  # noqa: F401

pytestmark = [
    pytest.mark.skipif(not harness.is_root(), reason="needs root: peers listen on 127.x port 25"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.POSTFIX), reason="postfix not installed"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed"),
]

DOMAIN = "rt.test"
MX = "mx.rt.test"


def ehlo_lines(conn):
    conn.send(b"EHLO client.example.net\r\n")
    code, lines = conn.reply()
    assert code == 250, lines
    return [l.upper() for l in lines]


def test_smtpd_offers_requiretls_only_under_tls(make_mailbag):
    m = make_mailbag()
    c = m.raw()
    assert not any("REQUIRETLS" in l for l in ehlo_lines(c))
    c.send(b"MAIL FROM:<a@example.net> REQUIRETLS\r\n")
    code, lines = c.reply()
    assert code == 530 and "5.7.10" in lines[0], lines
    c.send(b"STARTTLS\r\n")
    assert c.reply()[0] == 220
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c.sock = ctx.wrap_socket(c.sock)
    assert any(l.strip() == "REQUIRETLS" for l in ehlo_lines(c))
    c.send(b"MAIL FROM:<a@example.net> REQUIRETLS=yes\r\n")
    assert c.reply()[0] == 501
    c.send(b"MAIL FROM:<a@example.net> REQUIRETLS\r\n")
    assert c.reply()[0] == 250
    c.send(b"QUIT\r\n")


def receiving_mailbag(make_mailbag, ca):
    r = make_mailbag(start=False, domains=(DOMAIN,), users=(("alice@" + DOMAIN, "alice-secret"),))
    r.hostname = MX
    # The harness keeps a cert.pem/key.pem that already exists: one from the CA.
    cert, key = harness.make_signed_cert(r.dir, ca, MX)
    os.rename(cert, os.path.join(r.dir, "cert.pem"))
    os.rename(key, os.path.join(r.dir, "key.pem"))
    r.start()
    return r


def test_requiretls_delivered_over_verified_tls_to_a_server_that_offers_it(make_mailbag, peers, tmp_path):
    os.chmod(tmp_path, 0o755)
    ca = harness.make_ca(str(tmp_path))
    r = receiving_mailbag(make_mailbag, ca)
    dns = peers(Unbound([DOMAIN], ["%s. MX 10 %s." % (DOMAIN, MX), "%s. A %s" % (MX, r.host)]).start())
    m = sender_mailbag(make_mailbag, dns, smtp_tls_ca_file=ca[0])
    _, msg = make_message("requiretls-ok", 1, to="alice@" + DOMAIN)
    qid = inject(m, "demo@example.test", ["alice@" + DOMAIN], msg, requiretls=True)
    with open(r.wait_for_messages("alice@" + DOMAIN, 1, timeout=60)[0], "rb") as f:
        stored = f.read()
    assert b"with ESMTPS" in stored, stored[:600]
    remote_log_line(m, r"%s: REQUIRETLS: only verified TLS to servers that offer REQUIRETLS" % qid)
    remote_log_line(m, r"%s: to=<alice@rt.test>, relay=mx\.rt\.test\[.*status=sent" % qid)


@pytest.mark.parametrize("tls", ["none", "verified"])
def test_requiretls_bounces_when_the_peer_cannot_keep_it(make_mailbag, peers, tmp_path, tls):
    os.chmod(tmp_path, 0o755)
    ca = harness.make_ca(str(tmp_path))
    pf = Postfix(DOMAIN, ["alice"], hostname=MX)
    if tls == "verified":
        cert, key = harness.make_signed_cert(pf.dir, ca, MX)
        pf.extra.update({"smtpd_tls_cert_file": cert, "smtpd_tls_key_file": key, "smtpd_tls_security_level": "may"})
    peers(pf.start())
    dns = peers(Unbound([DOMAIN], ["%s. MX 10 %s." % (DOMAIN, MX), "%s. A %s" % (MX, pf.ip)]).start())
    m = sender_mailbag(make_mailbag, dns, smtp_tls_ca_file=ca[0])
    _, msg = make_message("requiretls-" + tls, 1, to="alice@" + DOMAIN)
    # RET=FULL: a bounce of a REQUIRETLS message still returns the headers only.
    qid = inject(m, "demo@example.test", ["alice@" + DOMAIN], msg, requiretls=True, ret_full=True)
    why = (r"REQUIRETLS: TLS is required, but was not offered by the server" if tls == "none" else
           r"REQUIRETLS: the message requires TLS all the way, and the server does not offer REQUIRETLS")
    remote_log_line(m, r"%s: to=<alice@rt.test>, relay=.*status=bounced \(.*%s" % (qid, why), timeout=60)
    assert pf.maildir_messages("alice") == []
    # The sender gets the bounce, with the enhanced status code of RFC 8689 5.
    with open(m.wait_for_messages("demo@example.test", 1, timeout=60)[0], "rb") as f:
        bounce = f.read()
    assert b"5.7.10" in bounce, bounce[:2000]
    # RFC 8689 5: headers only (text/rfc822-headers), whatever RET asked, and the notice
    # itself travels with REQUIRETLS (the Q record of its queue file).
    assert b"text/rfc822-headers" in bounce and b"Message 1 of " not in bounce, bounce[-3000:]
    m.wait_for_log("queue-manager", r"%s: non-delivery notice \S+ to <demo@example\.test> \(REQUIRETLS, "
                                    r"headers only\)" % qid)
    assert not re.search(r"disconnect from .* mail=", pf.log()), pf.log()[-2000:]
