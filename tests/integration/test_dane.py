# DANE for outgoing SMTP (RFC 7672) end to end: a test zone signed here with
# ldns-signzone, served with its signatures by a private unbound (auth-zone), its key
# given to Mailbag's resolver as the trust anchor (dns_trust_anchor), and a real Postfix
# with STARTTLS on 127.x:25 as the receiving MX. Covers: a matching DANE-EE(3) record
# (delivered, logged as verified), a wrong one (deferred with the reason, still queued), a
# bogus signature on the TLSA records (host skipped, deferred), an unsigned zone
# (opportunistic TLS as usual), a malformed record (TLS still required) and a DANE-TA(2)
# record for a private CA. And the tools:
# `mailctl tls tlsa` prints the record of tls_cert_file, `mailctl check-dns` finds a
# published record that does not match it and says what to publish.
import os
import re
import shutil
import subprocess
import tempfile

import pytest

import harness
import remote_peers
from messages import make_message
from remote_peers import Postfix, Unbound, check_intact, inject, peers, remote_log_line, sender_mailbag  # noqa: F401

LDNS_KEYGEN = "/usr/bin/ldns-keygen"
LDNS_SIGNZONE = "/usr/bin/ldns-signzone"

pytestmark = [
    pytest.mark.skipif(not harness.is_root(), reason="needs root: peers listen on 127.x port 25"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.POSTFIX), reason="postfix not installed"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed"),
    pytest.mark.skipif(not remote_peers.have(LDNS_SIGNZONE), reason="ldnsutils not installed"),
]

ZONE = "dane.test"
MX = "mx.dane.test"


spki_sha256 = harness.spki_sha256


class SignedZone:
    """ZONE with an MX to MX at `ip` and `tlsa` (RDATA text, or None), signed with a fresh
    KSK and ZSK; `anchor` is the DS record file for dns_trust_anchor."""

    def __init__(self, ip, tlsa):
        self.dir = tempfile.mkdtemp(prefix="mb-zone-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        lines = ["$ORIGIN %s." % ZONE, "$TTL 300",
                 "@ IN SOA ns.%s. admin.%s. 1 3600 600 86400 300" % (ZONE, ZONE),
                 "@ IN NS ns.%s." % ZONE, "ns IN A 127.0.0.1",
                 "@ IN MX 10 %s." % MX, "mx IN A %s" % ip]
        if tlsa:
            lines.append("_25._tcp.mx IN TLSA %s" % tlsa)
        self.unsigned = os.path.join(self.dir, "zone")
        with open(self.unsigned, "w") as f:
            f.write("\n".join(lines) + "\n")
        ksk = self._keygen("-k")
        zsk = self._keygen()
        subprocess.run([LDNS_SIGNZONE, "-n", "-f", self.path, self.unsigned, ksk, zsk], cwd=self.dir,
                       check=True, capture_output=True)
        self.anchor = os.path.join(self.dir, "anchor.ds")
        shutil.copy(os.path.join(self.dir, ksk + ".ds"), self.anchor)
        os.chmod(self.anchor, 0o644)

    @property
    def path(self):
        return os.path.join(self.dir, "zone.signed")

    def _keygen(self, *flags):
        r = subprocess.run([LDNS_KEYGEN, "-a", "ECDSAP256SHA256"] + list(flags) + [ZONE], cwd=self.dir,
                           check=True, capture_output=True, text=True)
        return r.stdout.strip()

    def tamper_tlsa_signature(self):
        """Flips a character of the TLSA RRset's signature: the records become bogus."""
        with open(self.path) as f:
            lines = f.read().split("\n")
        for i, line in enumerate(lines):
            fields = line.split()
            if len(fields) > 4 and fields[3] == "RRSIG" and fields[4] == "TLSA":
                sig = fields[-1]
                fields[-1] = ("B" if sig[0] != "B" else "C") + sig[1:]
                lines[i] = "\t".join(fields)
                break
        else:
            raise AssertionError("no TLSA signature in the signed zone")
        with open(self.path, "w") as f:
            f.write("\n".join(lines))

    def stop(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def dane_setup(make_mailbag, peers, tlsa_for, cert_dir_setup=None, tamper=False):
    """A Postfix with a self-signed certificate (or what `cert_dir_setup` makes), the
    signed zone with the TLSA record `tlsa_for(cert, extra)` gives, its unbound, and a
    Mailbag that trusts the zone's key."""
    pf = Postfix(ZONE, ["alice"], hostname=MX)
    if cert_dir_setup:
        cert, key, extra = cert_dir_setup(pf.dir)
    else:
        cert, key = harness.make_cert(pf.dir, cn=MX)
        extra = None
    pf.extra.update({"smtpd_tls_cert_file": cert, "smtpd_tls_key_file": key,
                     "smtpd_tls_security_level": "may", "smtpd_tls_received_header": "yes"})
    peers(pf.start())
    zone = peers(SignedZone(pf.ip, tlsa_for(cert, extra)))
    if tamper:
        zone.tamper_tlsa_signature()
    dns = peers(Unbound([], [], auth_zones={ZONE: zone.path}).start())
    m = sender_mailbag(make_mailbag, dns, dns_trust_anchor=zone.anchor, remote_timeout="30s")
    return pf, m


def test_matching_dane_ee_record_gives_verified_delivery(make_mailbag, peers):
    pf, m = dane_setup(make_mailbag, peers, lambda cert, _: "3 1 1 " + spki_sha256(cert))
    _, msg = make_message("dane-ee", 1, to="alice@dane.test")
    qid = inject(m, "demo@example.test", ["alice@dane.test"], msg, body_8bit=True)
    stored = pf.wait_for_messages("alice", 1, timeout=60, check=m.check_alive)[0]
    check_intact(stored, msg)
    assert b"with ESMTPS" in stored, stored[:800]
    remote_log_line(m, r"dane: mx\.dane\.test\[%s\]:25: 1 usable TLSA record, TLS must match them" % re.escape(pf.ip),
                    timeout=60)
    # One line per decision, with the queue id of the message the connection was made for.
    remote_log_line(m, r"%s: dane: mx\.dane\.test\[%s\]:25: verified \(DANE-EE, matched at depth 0\)"
                    % (qid, re.escape(pf.ip)))
    remote_log_line(m, r"%s: to=<alice@dane.test>, relay=mx\.dane\.test\[.*status=sent" % qid)


def test_wrong_tlsa_record_defers_and_keeps_the_message(make_mailbag, peers):
    pf, m = dane_setup(make_mailbag, peers, lambda cert, _: "3 1 1 " + "ab" * 32)
    _, msg = make_message("dane-wrong", 1, to="alice@dane.test")
    qid = inject(m, "demo@example.test", ["alice@dane.test"], msg, body_8bit=True)
    remote_log_line(m, r"%s: to=<alice@dane.test>, relay=none, .*status=deferred \(TLS handshake failed: "
                       r"DANE: TLSA records not matched, host not used: .*" % qid, timeout=60)
    assert pf.maildir_messages("alice") == []
    assert any(qid in f for f in m.queue_files()), m.queue_files()
    # Never in clear after a failed DANE handshake: no MAIL command in any session.
    assert not re.search(r"disconnect from .* mail=", pf.log()), pf.log()[-2000:]


def test_bogus_tlsa_signature_skips_the_host(make_mailbag, peers):
    pf, m = dane_setup(make_mailbag, peers, lambda cert, _: "3 1 1 " + spki_sha256(cert), tamper=True)
    _, msg = make_message("dane-bogus", 1, to="alice@dane.test")
    qid = inject(m, "demo@example.test", ["alice@dane.test"], msg, body_8bit=True)
    remote_log_line(m, r"%s: dane: mx\.dane\.test\[%s\]:25: TLSA bogus, host skipped" % (qid, re.escape(pf.ip)),
                    timeout=60)
    remote_log_line(m, r"%s: to=<alice@dane.test>, relay=none, .*status=deferred \(DANE: TLSA bogus, host skipped"
                    % qid)
    assert pf.maildir_messages("alice") == []
    # Not even a connection: only Postfix's own readiness probe is in its log.
    assert pf.log().count("]: connect from") == 1, pf.log()[-2000:]


def test_unsigned_zone_falls_back_to_opportunistic_tls(make_mailbag, peers):
    pf = Postfix("plain.test", ["alice"], hostname="mx.plain.test")
    cert, key = harness.make_cert(pf.dir, cn="mx.plain.test")
    pf.extra.update({"smtpd_tls_cert_file": cert, "smtpd_tls_key_file": key,
                     "smtpd_tls_security_level": "may", "smtpd_tls_received_header": "yes"})
    peers(pf.start())
    zone = peers(SignedZone(harness.unique_loopback(), None))  # signed, but not this domain's
    dns = peers(Unbound(["plain.test"], ["plain.test. MX 10 mx.plain.test.", "mx.plain.test. A %s" % pf.ip],
                        auth_zones={ZONE: zone.path}).start())
    m = sender_mailbag(make_mailbag, dns, dns_trust_anchor=zone.anchor, remote_timeout="30s")
    _, msg = make_message("dane-unsigned", 1, to="alice@plain.test")
    qid = inject(m, "demo@example.test", ["alice@plain.test"], msg, body_8bit=True)
    stored = pf.wait_for_messages("alice", 1, timeout=60, check=m.check_alive)[0]
    check_intact(stored, msg)
    assert b"with ESMTPS" in stored, stored[:800]
    remote_log_line(m, r"dane: mx\.plain\.test\[%s\]:25: MX records not DNSSEC-signed, no DANE" % re.escape(pf.ip))
    remote_log_line(m, r"%s: to=<alice@plain.test>, relay=mx\.plain\.test\[.*status=sent" % qid)


def test_malformed_tlsa_record_means_tls_without_authentication(make_mailbag, peers):
    # A SHA2-256 "digest" of two bytes can never match: RFC 7672 2.2 treats the RRset as
    # present but unusable, so TLS is still required (without authentication).
    pf, m = dane_setup(make_mailbag, peers, lambda cert, _: "3 1 1 abcd")
    _, msg = make_message("dane-malformed", 1, to="alice@dane.test")
    qid = inject(m, "demo@example.test", ["alice@dane.test"], msg, body_8bit=True)
    stored = pf.wait_for_messages("alice", 1, timeout=60, check=m.check_alive)[0]
    assert b"with ESMTPS" in stored, stored[:800]
    remote_log_line(m, r"dane: mx\.dane\.test\[%s\]:25: TLSA records present but none usable \(0 unusable, 1 "
                       r"malformed\), TLS required without authentication" % re.escape(pf.ip))
    remote_log_line(m, r"%s: to=<alice@dane.test>, relay=mx\.dane\.test\[.*status=sent" % qid)


def _ca_signed(directory):
    ca = harness.make_ca(directory)
    cert, key = harness.make_signed_cert(directory, ca, MX)
    chain = os.path.join(directory, "chain.pem")
    with open(chain, "w") as out:
        for p in (cert, ca[0]):
            with open(p) as f:
                out.write(f.read())
    return chain, key, ca[0]


def test_dane_ta_record_for_a_private_ca(make_mailbag, peers):
    pf, m = dane_setup(make_mailbag, peers, lambda cert, ca: "2 1 1 " + spki_sha256(ca), cert_dir_setup=_ca_signed)
    _, msg = make_message("dane-ta", 1, to="alice@dane.test")
    qid = inject(m, "demo@example.test", ["alice@dane.test"], msg, body_8bit=True)
    check_intact(pf.wait_for_messages("alice", 1, timeout=60, check=m.check_alive)[0], msg)
    remote_log_line(m, r"dane: mx\.dane\.test\[%s\]:25: verified \(DANE-TA, matched at depth 1\)" % re.escape(pf.ip))
    remote_log_line(m, r"%s: to=<alice@dane.test>, relay=mx\.dane\.test\[.*status=sent" % qid)


def test_mailctl_tls_tlsa_prints_the_record_of_the_certificate(make_mailbag):
    m = make_mailbag()
    digest = spki_sha256(m.conf["tls_cert_file"])
    r = m.mailctl("tls", "tlsa", "MX.Dane.Test.")
    assert r.stdout == "_25._tcp.mx.dane.test. IN TLSA 3 1 1 %s\n" % digest, r.stdout + r.stderr
    assert m.mailctl("tls", "tlsa").stdout == "_25._tcp.%s. IN TLSA 3 1 1 %s\n" % (m.hostname, digest)
    r = m.mailctl("tls", "tlsa", "not a host", check=False)
    assert r.returncode == 2 and "not a host name" in r.stderr, r.stderr


def test_check_dns_says_what_to_publish_for_a_wrong_tlsa_record(make_mailbag, peers):
    m = make_mailbag(start=False, domains=("example.test", ZONE))
    m.hostname = MX
    cert, _ = harness.make_cert(m.dir)  # the one the harness configures as tls_cert_file
    digest = spki_sha256(cert)
    zone = peers(SignedZone(m.host, "3 1 1 " + "cd" * 32))
    dns = peers(Unbound([], [], auth_zones={ZONE: zone.path}).start())
    m.extra_conf.update({"dns_resolver": dns.address, "dns_trust_anchor": zone.anchor})
    m.start()
    r = m.mailctl("check-dns", ZONE, check=False)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "TLSA         _25._tcp.mx.dane.test: 3 1 1 %s (DNSSEC-signed)\n" % ("cd" * 32) in r.stdout, r.stdout
    assert ("no TLSA record at _25._tcp.mx.dane.test matches this server's certificate (tls_cert_file): DANE "
            "senders will not deliver here; publish: _25._tcp.mx.dane.test. IN TLSA 3 1 1 %s" % digest) in \
        " ".join(r.stdout.split()), r.stdout
