# Smarthost: `relayhost` sends all outgoing mail through the ISP's server, here a real
# Postfix on 127.x port 587 that relays only for authenticated clients (SASL through a
# private Dovecot), and offers AUTH only after STARTTLS. remote authenticates with the
# credentials of `relayhost_auth_file` (root-only) and sends them only over TLS whose
# certificate verifies (here against the ISP's private CA, smtp_tls_ca_file) for the
# relayhost name as configured.
import os
import re

import pytest

import harness
import remote_peers
from messages import make_message
from remote_peers import (DovecotAuth, Postfix, Unbound, check_intact, inject, peers,  # noqa: F401
                          remote_log_line, start_remote)

pytestmark = [
    pytest.mark.skipif(not harness.is_root(), reason="needs root: relayhost_auth_file must be root's"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.POSTFIX), reason="postfix not installed"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.DOVECOT), reason="dovecot not installed"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed"),
]


def smarthost(peers, cert_name="smtp.isp.test", self_signed=False, records=None):
    """The ISP's submission server smtp.isp.test:587 for far.test's mailbox carol, with a
    certificate for `cert_name` from the ISP's CA (or self-signed)."""
    auth = peers(DovecotAuth({"relayuser": "relay-secret"}).start())
    pf = Postfix("far.test", ["carol"], hostname="smtp.isp.test", port=587)
    if self_signed:
        cert, key = harness.make_cert(pf.dir, cn=cert_name)
    else:
        pf.ca = harness.make_ca(pf.dir, "ISP Test CA")
        cert, key = harness.make_signed_cert(pf.dir, pf.ca, cert_name)
    pf.extra.update({
        "mynetworks": "192.0.2.254/32",  # nobody relays without AUTH, not even loopback
        "smtpd_tls_cert_file": cert,
        "smtpd_tls_key_file": key,
        "smtpd_tls_security_level": "may",
        "smtpd_tls_auth_only": "yes",
        "smtpd_tls_received_header": "yes",
        "smtpd_sasl_auth_enable": "yes",
        "smtpd_sasl_type": "dovecot",
        "smtpd_sasl_path": auth.socket,
        "smtpd_relay_restrictions": "permit_sasl_authenticated, reject",
        "smtpd_recipient_restrictions": "permit_sasl_authenticated, reject",
    })
    peers(pf.start())
    extra = [r.format(ip=pf.ip) for r in records or []]
    dns = peers(Unbound(["isp.test"], ["smtp.isp.test. A %s" % pf.ip] + extra).start())
    return pf, dns


def auth_file(m, text):
    path = os.path.join(m.dir, "relay-auth")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


def relay_mailbag(make_mailbag, dns, credentials, ca=None, relayhost="[smtp.isp.test]:587"):
    m = make_mailbag(start=False)
    m.extra_conf.update({"dns_resolver": dns.address, "remote_timeout": "10s",
                         "relayhost": relayhost})
    if ca:
        m.extra_conf["smtp_tls_ca_file"] = ca[0]
    if credentials:
        m.extra_conf["relayhost_auth_file"] = auth_file(m, credentials)
    m.start()
    start_remote(m)
    return m


def test_smarthost_with_auth_over_tls(make_mailbag, peers):
    pf, dns = smarthost(peers)
    m = relay_mailbag(make_mailbag, dns, "# ISP account\nrelayuser relay-secret\n", ca=pf.ca)
    mid, msg = make_message("smarthost", 1, to="carol@far.test")
    qid = inject(m, "demo@example.test", ["carol@far.test"], msg, body_8bit=True)
    stored = pf.wait_for_messages("carol", 1, check=m.check_alive)[0]
    check_intact(stored, msg)
    assert b"with ESMTPSA" in stored, stored[:600]  # TLS and AUTH, as Postfix records it
    assert re.search(r"sasl_method=(PLAIN|LOGIN), sasl_username=relayuser", pf.log()), pf.log()
    remote_log_line(m, r"%s: to=<carol@far.test>, relay=smtp\.isp\.test\[%s\]:587, .*status=sent"
                    % (qid, re.escape(pf.ip)))
    assert "relay-secret" not in m.logs("remote")


def test_smarthost_wrong_password_defers(make_mailbag, peers):
    pf, dns = smarthost(peers)
    m = relay_mailbag(make_mailbag, dns, "relayuser wrong-secret\n", ca=pf.ca)
    _, msg = make_message("badauth", 1, to="carol@far.test")
    qid = inject(m, "demo@example.test", ["carol@far.test"], msg, body_8bit=True)
    remote_log_line(m, r"%s: to=<carol@far.test>, relay=none, .*status=deferred \(535 5\.7\.8 .*in reply to AUTH"
                    % qid)
    assert pf.maildir_messages("carol") == []
    assert "wrong-secret" not in m.logs("remote")


def no_password_sent(m, pf, qid, reason):
    """The message is deferred for `reason` and the relayhost never saw AUTH."""
    remote_log_line(m, r"%s: to=<carol@far.test>, relay=.*status=deferred \(TLS handshake failed: .*%s"
                    % (qid, reason))
    assert "sasl_username" not in pf.log() and "sasl_method" not in pf.log(), pf.log()
    assert pf.maildir_messages("carol") == []
    assert "relay-secret" not in m.logs("remote")


def test_smarthost_credentials_need_a_verified_certificate(make_mailbag, peers):
    # A self-signed certificate proves nothing: whoever answers on the relayhost's address
    # (a spoofed route, a hijacked DNS answer) would get the password.
    pf, dns = smarthost(peers, self_signed=True)
    m = relay_mailbag(make_mailbag, dns, "relayuser relay-secret\n")
    _, msg = make_message("unverified", 1, to="carol@far.test")
    qid = inject(m, "demo@example.test", ["carol@far.test"], msg, body_8bit=True)
    no_password_sent(m, pf, qid, r"certificate verify failed \(self-signed certificate\)")


def test_smarthost_credentials_go_to_the_configured_name_only(make_mailbag, peers):
    # relayhost = isp.test:587 looks up MX records; an unsigned answer names
    # evil.isp.test, whose certificate the CA did issue, but for evil.isp.test, not for
    # the configured isp.test. The password must not follow DNS there.
    pf, dns = smarthost(peers, cert_name="evil.isp.test",
                        records=["isp.test. MX 10 evil.isp.test.", "evil.isp.test. A {ip}"])
    m = relay_mailbag(make_mailbag, dns, "relayuser relay-secret\n", ca=pf.ca, relayhost="isp.test:587")
    _, msg = make_message("dnschosen", 1, to="carol@far.test")
    qid = inject(m, "demo@example.test", ["carol@far.test"], msg, body_8bit=True)
    no_password_sent(m, pf, qid, r"certificate verify failed \(hostname mismatch\)")


def test_smarthost_without_credentials_is_refused(make_mailbag, peers):
    pf, dns = smarthost(peers)
    m = relay_mailbag(make_mailbag, dns, None)
    _, msg = make_message("noauth", 1, to="carol@far.test")
    qid = inject(m, "demo@example.test", ["carol@far.test"], msg, body_8bit=True)
    # Postfix refuses the unauthenticated client; that answer is final: a bounce.
    remote_log_line(m, r"%s: to=<carol@far.test>, relay=smtp\.isp\.test\[.*status=bounced \(554 5\.7\.1 " % qid)
    m.wait_for_messages("demo@example.test", 1)


def test_auth_file_must_be_private(make_mailbag, peers):
    dns = peers(Unbound(["isp.test"], []).start())
    m = make_mailbag(start=False)
    path = auth_file(m, "relayuser relay-secret\n")
    os.chmod(path, 0o644)
    m.extra_conf.update({"dns_resolver": dns.address, "relayhost": "[smtp.isp.test]:587",
                         "relayhost_auth_file": path})
    m.start()
    p = m.start_daemon("remote")
    assert p.wait(timeout=20) != 0
    assert "must belong to root and have mode 0600 or 0400" in m.logs("remote")
