# The built-in checks (smtpd/checks/, checks(8)) against a real unbound serving test
# zones, on loopback: DNS lists (hit, miss), SPF (pass, fail from a 127.x client whose
# record must really be read, softfail, none, temperror from a zone that fails), DKIM
# (RSA and Ed25519 signatures made here with python3-dkim, tampered, unsigned,
# malformed signature and key), DMARC (pass, reject, quarantine), the Authentication-
# Results header with a forged one removed, and DNS timeouts giving the configured
# temperror answer. Each client connects from its own 127.x address so the lists and
# SPF records can name it.
import base64
import os
import socket
import subprocess
import tempfile

import pytest

import harness
import remote_peers

pytestmark = [
    pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed"),
    pytest.mark.skipif(not harness.is_root(), reason="needs root (port 25, privilege drop)"),
]

dkim = pytest.importorskip("dkim")
nacl_signing = pytest.importorskip("nacl.signing")

USER = "demo@example.test"


def txt(name, text):
    """A TXT record, split into strings of at most 200 characters (RFC 1035 limit 255)."""
    parts = [text[i:i + 200] for i in range(0, len(text), 200)]
    return "%s TXT %s" % (name, " ".join('"%s"' % p for p in parts))


class Keys:
    def __init__(self):
        d = tempfile.mkdtemp(prefix="mb-dkim-")
        key = os.path.join(d, "rsa.pem")
        subprocess.run(["openssl", "genrsa", "-out", key, "1024"], check=True, capture_output=True)
        self.rsa_private = open(key, "rb").read()
        der = subprocess.run(["openssl", "rsa", "-in", key, "-pubout", "-outform", "DER"], check=True,
                             capture_output=True).stdout
        self.rsa_public = base64.b64encode(der).decode()
        sk = nacl_signing.SigningKey.generate()
        self.ed_private = base64.b64encode(bytes(sk))
        self.ed_public = base64.b64encode(bytes(sk.verify_key)).decode()


class Blackhole:
    """A UDP socket that never answers: a name server that times out."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]


class ChecksUnbound(remote_peers.Unbound):
    """The test zones, plus a zone unbound refuses (SERVFAIL for the resolver asking it)
    and one forwarded to a server that never answers (timeouts)."""

    def __init__(self, zones, records, refused, blackhole_zone, blackhole_port):
        super().__init__(zones, records)
        self.refused = refused
        self.blackhole_zone = blackhole_zone
        self.blackhole_port = blackhole_port

    def _write(self):
        path = super()._write()
        text = open(path).read()
        extra = ['  local-zone: "%s." always_refuse' % self.refused,
                 '  do-not-query-localhost: no',
                 '  local-zone: "test." nodefault']
        text = text.replace("remote-control:", "\n".join(extra) + "\nforward-zone:\n  name: \"%s.\"\n"
                            "  forward-addr: 127.0.0.1@%d\nremote-control:" % (self.blackhole_zone, self.blackhole_port))
        with open(path, "w") as f:
            f.write(text)
        return path


@pytest.fixture(scope="module")
def world():
    keys = Keys()
    client_ip = harness.unique_loopback()    # listed in bl.test, allowed by the SPF records
    listed_ip = harness.unique_loopback()
    rev = lambda ip: ".".join(reversed(ip.split(".")))
    records = [
        # DNS lists (RFC 5782): listed_ip is on bl.test, client_ip only with a code the
        # filter ignores.
        "%s.bl.test. A 127.0.0.2" % rev(listed_ip),
        "%s.bl.test. A 127.0.0.99" % rev(client_ip),
        # SPF
        txt("pass.test.", "v=spf1 ip4:%s -all" % client_ip),
        txt("fail.test.", "v=spf1 ip4:192.0.2.1 -all"),   # must FAIL from 127.x
        txt("soft.test.", "v=spf1 ~all"),
        "none.test. A 192.0.2.9",
        txt("client.pass.test.", "v=spf1 ip4:%s -all" % client_ip),
        # DKIM keys
        txt("rsa._domainkey.signed.test.", "v=DKIM1; k=rsa; p=" + keys.rsa_public),
        txt("ed._domainkey.signed.test.", "v=DKIM1; k=ed25519; p=" + keys.ed_public),
        txt("bad._domainkey.signed.test.", "v=DKIM1; k=rsa; p=!!not-base64!!"),
        txt("signed.test.", "v=spf1 -all"),
        # DMARC
        txt("_dmarc.signed.test.", "v=DMARC1; p=reject"),
        txt("reject.test.", "v=spf1 -all"),
        txt("_dmarc.reject.test.", "v=DMARC1; p=reject"),
        txt("quar.test.", "v=spf1 -all"),
        txt("_dmarc.quar.test.", "v=DMARC1; p=quarantine"),
        txt("_dmarc.pass.test.", "v=DMARC1; p=reject; aspf=r"),
    ]
    zones = ["bl.test", "pass.test", "fail.test", "soft.test", "none.test", "signed.test", "reject.test",
             "quar.test"]
    hole = Blackhole()
    dns = ChecksUnbound(zones, records, "broken.test", "slow.test", hole.port).start()
    yield {"keys": keys, "client": client_ip, "listed": listed_ip, "dns": dns}
    dns.stop()
    hole.sock.close()


def make_mb(world, **conf):
    c = {
        "dns_resolver": world["dns"].address,
        "relay_networks": "10.0.0.0/8",  # the 127.x clients are strangers here
        "dnsbl_zones": "bl.test=127.0.0.2..11",
        "spf_check": "yes",
        "dkim_check": "yes",
        "dmarc_check": "yes",
        "filter_timeout": "3s",
        "filter_data_timeout": "5s",
    }
    c.update(conf)
    return harness.Mailbag(conf=c).start()


@pytest.fixture(scope="module")
def mb(world):
    m = make_mb(world)
    yield m
    m.cleanup()


def message(frm, subject="checks", body="Hello.\r\n", extra=""):
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@test>\r\nDate: Mon, 07 Dec 2026 06:00:00 +0000\r\n%s\r\n%s"
            % (frm, USER, subject, os.urandom(6).hex(), extra, body)).encode()


def sign(world, msg, domain="signed.test", selector="rsa", ed=False):
    k = world["keys"]
    if ed:
        sig = dkim.sign(msg, selector.encode(), domain.encode(), k.ed_private, signature_algorithm=b"ed25519-sha256",
                        include_headers=[b"from", b"to", b"subject"])
    else:
        sig = dkim.sign(msg, selector.encode(), domain.encode(), k.rsa_private,
                        include_headers=[b"from", b"to", b"subject"])
    return sig + msg


def deliver(mb, world, msg, mail_from, helo="client.pass.test", ip=None):
    s = mb.smtp_from(ip or world["client"], helo=helo)
    try:
        return mb.send(USER, msg, mail_from=mail_from, conn=s)
    finally:
        try:
            s.quit()
        except Exception:
            s.close()


def stored(mb, sent, check_alive=True, folder=""):
    """The delivered message, from the inbox or from a Maildir++ folder (".Junk")."""
    assert sent.code == 250, sent
    for _ in harness.deadline_loop(30, "message %s delivered" % sent.queue_id):
        for sub in ("new", "cur"):
            d = os.path.join(mb.maildir(USER), folder, sub)
            for name in os.listdir(d) if os.path.isdir(d) else []:
                with open(os.path.join(d, name), "rb") as f:
                    data = f.read()
                if sent.queue_id.encode() in data:
                    return data
        if check_alive:
            mb.check_alive()


def authres(data):
    return harness.header_values(data, "Authentication-Results")


def test_dnsbl_hit_and_miss(mb, world):
    s = mb.smtp_from(world["listed"])
    code, text = s.mail("a@pass.test")
    s.close()
    assert code == 554 and b"blocked using bl.test" in text, (code, text)
    # client_ip answers 127.0.0.99, outside the filter: not listed.
    sent = deliver(mb, world, message("a@pass.test"), "a@pass.test")
    assert sent.code == 250, sent
    log = mb.logs("smtpd")
    assert "dnsbl=listed dns.zone=bl.test" in log


def test_spf_results(mb, world):
    results = {}
    for sender in ("a@pass.test", "a@fail.test", "a@soft.test", "a@none.test", "a@broken.test"):
        sent = deliver(mb, world, message(sender), sender)
        ar = " ".join(authres(stored(mb, sent)))
        results[sender] = ar
    assert "spf=pass smtp.mailfrom=a@pass.test" in results["a@pass.test"]
    # From 127.x: the record is really read (no localhost shortcut) and says fail.
    assert "spf=fail" in results["a@fail.test"] and "smtp.mailfrom=a@fail.test" in results["a@fail.test"]
    assert "spf=softfail" in results["a@soft.test"]
    assert "spf=none" in results["a@none.test"]
    assert "spf=temperror" in results["a@broken.test"]
    assert "spf=pass smtp.helo=client.pass.test" in results["a@pass.test"]


def test_spf_fail_refused_when_configured(world):
    m = make_mb(world, spf_reject_fail="yes", dkim_check="no", dmarc_check="no")
    try:
        s = m.smtp_from(world["client"])
        code, text = s.mail("a@fail.test")
        assert code == 550 and b"5.7.23" in text, (code, text)
        code, _ = s.mail("a@pass.test")
        assert code == 250
        s.close()
    finally:
        m.cleanup()


def test_dkim_rsa_ed25519_tampered_unsigned_malformed(mb, world):
    cases = {
        "rsa": sign(world, message("x@signed.test")),
        "ed": sign(world, message("x@signed.test"), selector="ed", ed=True),
        "tampered": sign(world, message("x@signed.test")).replace(b"Hello.", b"Hullo."),
        "unsigned": message("x@pass.test"),
        "badkey": sign(world, message("x@signed.test"), selector="bad"),
        "badsig": b"DKIM-Signature: v=1; a=rsa-sha256; d=signed.test; s=rsa; h=from; bh=AAAA; b=\r\n"
                  + message("x@signed.test"),
    }
    ar = {}
    for name, msg in cases.items():
        sent = deliver(mb, world, msg, "x@pass.test")
        if name in ("tampered", "badkey", "badsig"):
            # From signed.test with p=reject and no passing aligned identity: refused.
            assert sent.code == 550 and "5.7.1" in str(sent.text), (name, sent)
            continue
        ar[name] = " ".join(authres(stored(mb, sent)))
    assert "dkim=pass header.d=signed.test header.s=rsa header.a=rsa-sha256" in ar["rsa"]
    assert "dkim=pass header.d=signed.test header.s=ed header.a=ed25519-sha256" in ar["ed"]
    assert "dkim=none" in ar["unsigned"]
    log = mb.logs("smtpd")
    assert "dkim=fail header.d=signed.test" in log  # tampered
    assert "dkim=permerror header.d=signed.test header.s=bad" in log
    assert "dmarc=pass" in ar["rsa"] and "dmarc=pass" in ar["ed"]


def test_dmarc_pass_reject_quarantine(mb, world):
    sent = deliver(mb, world, message("x@pass.test"), "x@pass.test")
    assert "dmarc=pass" in " ".join(authres(stored(mb, sent)))
    sent = deliver(mb, world, message("x@reject.test"), "x@reject.test")
    assert sent.code == 550 and "DMARC" in str(sent.text), sent
    sent = deliver(mb, world, message("x@quar.test"), "x@quar.test")
    # RFC 7489 6.3 p=quarantine: into the recipient's Junk folder, not the inbox.
    ar = " ".join(authres(stored(mb, sent, folder=".Junk")))
    assert "dmarc=fail (p=quarantine dis=quarantine) header.from=quar.test" in ar
    assert "%s: DMARC quarantine: into the Junk folder" % sent.queue_id in mb.logs("smtpd")
    assert not any(sent.queue_id.encode() in m for m in mb.read_messages(USER).values())


def test_forged_authentication_results_removed(mb, world):
    forged = "Authentication-Results: mail.example.test; spf=pass smtp.mailfrom=x@pass.test\r\n" \
             "Authentication-Results: other.example; dkim=pass header.d=x.test\r\n"
    sent = deliver(mb, world, message("x@soft.test", extra=forged), "x@soft.test")
    ar = authres(stored(mb, sent))
    ours = [v for v in ar if v.strip().startswith("mail.example.test")]
    assert len(ours) == 1 and "spf=softfail" in ours[0], ar
    assert any("other.example" in v for v in ar)


def test_dmarc_reject_off_records_only(world):
    m = make_mb(world, dmarc_reject="no")
    try:
        sent = deliver(m, world, message("x@reject.test"), "x@reject.test")
        assert "dmarc=fail (p=reject dis=reject)" in " ".join(authres(stored(m, sent)))
    finally:
        m.cleanup()


@pytest.mark.parametrize("action", ["defer", "accept"])
def test_dns_timeout_gives_configured_answer(world, action):
    m = make_mb(world, checks_temperror=action, filter_timeout="2s", dkim_check="no", dmarc_check="no")
    try:
        s = m.smtp_from(world["client"], helo="client.slow.test")
        code, text = s.mail("a@slow.test")
        s.close()
        if action == "defer":
            assert code == 451, (code, text)
        else:
            assert code == 250, (code, text)
    finally:
        m.cleanup()


def test_no_check_configured_never_contacts_the_checks_process(world):
    m = harness.Mailbag(conf={"dns_resolver": world["dns"].address}).start()
    try:
        assert not m.alive("checks")
        sent = m.send(USER, message("x@fail.test"), mail_from="x@fail.test")
        data = stored(m, sent)
        assert not authres(data)
    finally:
        m.cleanup()


@pytest.mark.parametrize("action", ["defer", "accept"])
def test_checks_process_down_gives_configured_answer(world, action):
    m = make_mb(world, checks_temperror=action, dkim_check="no", dmarc_check="no")
    try:
        m.kill("checks")
        sent = deliver(m, world, message("a@pass.test"), "a@pass.test")
        if action == "defer":
            assert sent.code == 451, sent
        else:
            # Accepted without verdicts: the header says so, smtpd logs the temperror.
            assert authres(stored(m, sent, check_alive=False)) == ["mail.example.test; none"]
            assert "checks=temperror" in m.logs("smtpd")
    finally:
        m.cleanup()
