# DKIM signing end to end: keys made with `mailctl dkim`, their records served by a
# real unbound, messages submitted through port 587 with AUTH (or sendmail's way) and
# delivered by the remote agent to a real Postfix, whose stored copy an independent
# verifier (python3-dkim, Debian's dkimpy, in /usr/bin/python3) checks against the DNS:
# RSA and Ed25519 signatures verify, a tampered copy does not, a rotation switches the
# selector while the old one still verifies, a bounce is signed for the domain it
# claims, a From: without a key goes unsigned, and a broken key or a signer that is down
# defers the message (never lost, never sent unsigned) until it is fixed.
import os
import re
import smtplib
import ssl
import subprocess

import pytest

import harness
import remote_peers
from remote_peers import Postfix, Unbound, inject, peers, remote_log_line, start_remote  # noqa: F401

pytestmark = [
    pytest.mark.skipif(not harness.is_root(), reason="needs root: peers listen on 127.x port 25"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.POSTFIX), reason="postfix not installed"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed"),
    pytest.mark.skipif(subprocess.run(["/usr/bin/python3", "-c", "import dkim, dns.resolver, nacl"]).returncode != 0,
                       reason="python3-dkim, python3-dnspython or python3-nacl not installed"),
]

USER, PASSWORD = "demo@example.test", "demo-secret"

# dkimpy's verifier, asking the test's unbound for the key records.
VERIFY = r"""
import sys, dkim, dns.resolver
r = dns.resolver.Resolver(configure=False)
r.nameservers = [sys.argv[1]]
r.port = int(sys.argv[2])
def txt(name, timeout=5):
    try:
        ans = r.resolve(name.decode() if isinstance(name, bytes) else name, "TXT", lifetime=timeout)
    except Exception:
        return None
    return b"".join(ans[0].strings)
msg = sys.stdin.buffer.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
try:
    print("pass" if dkim.DKIM(msg).verify(dnsfunc=txt) else "fail")
except dkim.DKIMException as e:  # a body hash mismatch is raised, not returned
    print("fail")
"""


def make_message(tag, n, to, sender):
    """A message from `sender` (its From:) with the header fields a signature covers."""
    mid = "<%s.%d@dkim.test>" % (tag, n)
    head = ["From: Demo <%s>" % sender, "To: <%s>" % to, "Subject: Hello %s %d" % (tag, n),
            "Message-ID: %s" % mid, "Date: Mon, 07 Dec 2026 06:00:00 +0000", "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8"]
    body = ["Hello from %s." % tag, "", ".a line with a leading dot", "trailing space   ", "", ""]
    return mid, ("\r\n".join(head) + "\r\n\r\n" + "\r\n".join(body) + "\r\n").encode()


def verify(dns, data):
    r = subprocess.run(["/usr/bin/python3", "-c", VERIFY, dns.ip, str(dns.port)], input=data,
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode().strip()


def signature_tags(data):
    value = harness.header_values(data, "DKIM-Signature")
    assert len(value) == 1, data[:2000]
    flat = re.sub(r"\s+", "", value[0])
    return dict(t.split("=", 1) for t in flat.split(";") if "=" in t)


def dkim_record(out):
    """The zone-file line mailctl printed, as unbound local-data."""
    line = [ln for ln in out.splitlines() if "._domainkey." in ln and " IN TXT " in ln]
    assert line, out
    return line[-1].replace(" IN TXT ", " TXT ")


class Setup:
    """Postfix for peer.test; an unbound with its MX for Mailbag; a second unbound with
    example.test's key records for the verifier, started again with each new record."""

    def __init__(self, make_mailbag, peers):
        self.pf = peers(Postfix("peer.test", ["alice", "carol"]).start())
        self.mx_dns = peers(Unbound(["peer.test"], ["peer.test. MX 10 mx.peer.test.",
                                                    "mx.peer.test. A %s" % self.pf.ip]).start())
        self.peers = peers
        self.records = []
        self.dns = None
        self.m = make_mailbag(conf={"dns_resolver": self.mx_dns.address, "remote_timeout": "10s"})

    def start(self):
        """Starts the signer and remote."""
        self.m.start_daemon("dkim")
        start_remote(self.m)
        return self

    def publish(self, out):
        """Serves the record mailctl printed, with those published before."""
        self.records.append(dkim_record(out))
        if self.dns:
            self.dns.stop()
        self.dns = self.peers(Unbound(["example.test"], ["example.test. MX 10 mail.example.test.",
                                                         "mail.example.test. A %s" % self.m.host] + self.records).start())

    def submit(self, mid_tag, n, to="alice@peer.test", sender=USER):
        """Through port 587: STARTTLS, AUTH, then the message."""
        mid, msg = make_message(mid_tag, n, to=to, sender=sender)
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        s = smtplib.SMTP(self.m.host, self.m.ports["submission_listen"], timeout=60)
        try:
            s.starttls(context=ctx)
            s.login(USER, PASSWORD)
            assert s.sendmail(USER, [to], msg) == {}
        finally:
            s.quit()
        return mid, msg

    def received(self, user, mid, timeout=30):
        """The copy of message `mid` in `user`'s Maildir at Postfix."""
        for _ in harness.deadline_loop(timeout, "%s for %s at postfix" % (mid, user)):
            for data in self.pf.maildir_messages(user):
                if mid.encode() in data:
                    return data
            self.m.check_alive()

    def check_dns(self):
        """mailctl check-dns example.test against the unbound that serves its records."""
        conf = os.path.join(self.m.dir, "check-dns.conf")
        with open(self.m.conf_path) as f, open(conf, "w") as g:
            for line in f:
                g.write(line if not line.startswith("dns_resolver") else "dns_resolver = %s\n" % self.dns.address)
        r = subprocess.run([harness.bin_path("mailctl"), "-c", conf, "check-dns", "example.test"],
                           capture_output=True, text=True, timeout=120)
        return r.stdout + r.stderr


def test_submitted_mail_is_signed_and_verifies_tampered_fails(make_mailbag, peers):
    s = Setup(make_mailbag, peers)
    out = s.m.mailctl("dkim", "generate", "example.test", "--selector", "sel1").stdout
    assert re.search(r'^sel1\._domainkey\.example\.test\. IN TXT "v=DKIM1; k=rsa; p=[^"]{200,}" "', out, re.M), out
    s.publish(out)
    s.start()
    mid, _ = s.submit("dkim-587", 1)
    data = s.received("alice", mid)
    tags = signature_tags(data)
    assert (tags["a"], tags["c"], tags["d"], tags["s"]) == ("rsa-sha256", "relaxed/relaxed", "example.test", "sel1")
    assert tags["h"].startswith("from:from:"), tags["h"]
    assert verify(s.dns, data) == "pass"
    # A changed body and a changed Subject both fail.
    body_at = data.index(b"\n\n")
    assert verify(s.dns, data[:body_at] + data[body_at:].replace(b"Hello", b"Hullo", 1)) == "fail"
    subj = re.sub(rb"(?m)^Subject: .*$", b"Subject: changed", data, count=1)
    assert subj != data and verify(s.dns, subj) == "fail"
    s.m.wait_for_log("dkim", r"signed d=example\.test s=sel1 rsa-sha256 \(authenticated user\)")
    # check-dns finds the published record matching the key.
    report = s.check_dns()
    assert "sel1 (signs): published, matches the key" in report, report
    assert "DMARC        none; to ask receivers for reports, publish: _dmarc.example.test." in report


def test_rotation_switches_selector_and_ed25519_verifies(make_mailbag, peers):
    s = Setup(make_mailbag, peers)
    s.publish(s.m.mailctl("dkim", "generate", "example.test", "--selector", "old").stdout)
    s.start()
    mid, msg = make_message("dkim-rot", 1, to="alice@peer.test", sender=USER)
    inject(s.m, USER, ["alice@peer.test"], msg)  # sendmail's way: "local submission"
    first = s.received("alice", mid)
    assert signature_tags(first)["s"] == "old"
    out = s.m.mailctl("dkim", "rotate", "example.test", "--selector", "new", "--algorithm", "ed25519").stdout
    assert 'new._domainkey.example.test. IN TXT "v=DKIM1; k=ed25519; p=' in out, out
    s.publish(out)
    mid2, msg2 = make_message("dkim-rot", 2, to="alice@peer.test", sender=USER)
    inject(s.m, USER, ["alice@peer.test"], msg2)
    second = s.received("alice", mid2)
    tags = signature_tags(second)
    assert (tags["s"], tags["a"]) == ("new", "ed25519-sha256")
    assert verify(s.dns, second) == "pass"
    # The retiring key is still published: mail signed before the rotation verifies.
    assert verify(s.dns, first) == "pass"
    listing = s.m.mailctl("dkim", "list").stdout
    assert "example.test old rsa retiring" in listing and "example.test new ed25519 active" in listing


def test_bounce_is_signed_and_foreign_from_is_not(make_mailbag, peers):
    s = Setup(make_mailbag, peers)
    s.publish(s.m.mailctl("dkim", "generate", "example.test", "--selector", "b1", "--algorithm", "ed25519").stdout)
    s.start()
    # To a user Postfix does not have: the bounce goes back to carol@peer.test, from
    # MAILER-DAEMON@mail.example.test, signed by the parent domain's key.
    mid, msg = make_message("dkim-bounce", 1, to="nobody@peer.test", sender="carol@peer.test")
    inject(s.m, "carol@peer.test", ["nobody@peer.test"], msg)
    bounce = s.received("carol", mid)
    assert b"MAILER-DAEMON@mail.example.test" in bounce, bounce[:1500]
    assert signature_tags(bounce)["d"] == "example.test"
    assert verify(s.dns, bounce) == "pass"
    s.m.wait_for_log("dkim", r"signed d=example\.test s=b1 ed25519-sha256 \(queue manager notice\)")
    # A From: of a domain without a key: sent as it is.
    mid2, msg2 = make_message("dkim-foreign", 2, to="alice@peer.test", sender="someone@elsewhere.test")
    inject(s.m, "someone@elsewhere.test", ["alice@peer.test"], msg2)
    plain = s.received("alice", mid2)
    assert not harness.header_values(plain, "DKIM-Signature")
    s.m.wait_for_log("dkim", r"not signed: no key for elsewhere\.test")


def test_broken_key_or_signer_down_defers_never_loses(make_mailbag, peers):
    s = Setup(make_mailbag, peers)
    s.publish(s.m.mailctl("dkim", "generate", "example.test", "--selector", "k1").stdout)
    s.start()
    keydir = os.path.join(s.m.data, "dkim")
    keyfile = os.path.join(keydir, "k1._domainkey.example.test.key")
    good = open(keyfile, "rb").read()
    # The wrong type of key where an RSA key belongs; `keys` touched so the signer reloads.
    wrong = subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519"], capture_output=True, check=True).stdout
    with open(keyfile, "wb") as f:
        f.write(wrong)
    os.utime(os.path.join(keydir, "keys"))
    mid, msg = make_message("dkim-broken", 1, to="alice@peer.test", sender=USER)
    qid = inject(s.m, USER, ["alice@peer.test"], msg)
    s.m.wait_for_log("dkim", r"DKIM key k1 for example\.test cannot be used: .*the key is not an rsa key")
    s.m.wait_for_log("dkim", r"%s: cannot sign, the message waits: DKIM key k1 of example\.test cannot be used" % qid)
    remote_log_line(s.m, r"%s: deferred: DKIM signing: DKIM key k1 of example\.test cannot be used" % qid)
    assert any(qid in f for f in s.m.queue_files())
    assert not s.pf.maildir_messages("alice")
    # Repaired: the next attempt goes out signed.
    with open(keyfile, "wb") as f:
        f.write(good)
    os.utime(os.path.join(keydir, "keys"))
    s.m.mailctl("queue", "flush", qid)
    data = s.received("alice", mid)
    assert verify(s.dns, data) == "pass"

    # The signer down: deferred, with the queue id and why; delivered once it is back.
    s.m.kill("dkim")
    mid2, msg2 = make_message("dkim-down", 2, to="alice@peer.test", sender=USER)
    qid2 = inject(s.m, USER, ["alice@peer.test"], msg2)
    remote_log_line(s.m, r"%s: deferred: DKIM signer: " % qid2)
    assert any(qid2 in f for f in s.m.queue_files())
    s.m.start_daemon("dkim")
    s.m.mailctl("queue", "flush", qid2)
    data2 = s.received("alice", mid2)
    assert verify(s.dns, data2) == "pass"
