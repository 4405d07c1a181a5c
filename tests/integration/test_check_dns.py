# mailctl check-dns DOMAIN against a real unbound serving test zones, reverse zones
# for 127.x addresses included: the nslookup checks of a mail domain's setup - MX
# records, the MX hosts' addresses, their PTR records and whether those resolve back,
# whether this server is the MX - compared with the configuration (hostname,
# smtp_listen, the domains in accounts.mdb, relay_domains), the SPF record, the DANE
# record this server's MX name should publish, and the MTA-STS and TLS reporting records
# to publish (a published MTA-STS policy is checked in test_tlsrpt.py).
# Exit codes: 0 OK, 1 problems, 64 not a domain, 75 the resolver does not answer.
import re
import subprocess

import pytest

import harness
import remote_peers
from remote_peers import Unbound, peers  # noqa: F401

pytestmark = pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed")


def rev(ip):
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa"


@pytest.fixture
def world(make_mailbag, peers):
    """A Mailbag for dnscheck.test (hostname mx.dnscheck.test) and local2.test, backup
    MX for backup.test, and an unbound with the zones the tests look at."""
    m = make_mailbag(start=False, domains=("example.test", "dnscheck.test", "local2.test"),
                     conf={"relay_domains": "backup.test"})
    m.hostname = "mx.dnscheck.test"
    isp = harness.unique_loopback()    # the ISP's spooling server, relay1.isp.test
    liar = harness.unique_loopback()   # PTR liar.isp.test, which points elsewhere
    other = harness.unique_loopback()
    zones = ["dnscheck.test", "isp.test", "local2.test", "backup.test", "nomx.test", "nullmx.test",
             "mxalias.test", "twospf.test", "hijack.test", rev(m.host), rev(isp), rev(liar)]
    records = [
        # A small site's layout: this server first, the ISP's spooling server second.
        "dnscheck.test. MX 10 mx.dnscheck.test.",
        "dnscheck.test. MX 20 relay1.isp.test.",
        'dnscheck.test. TXT "v=spf1 mx -all"',
        "mx.dnscheck.test. A %s" % m.host,
        "relay1.isp.test. A %s" % isp,
        "alias.isp.test. CNAME relay1.isp.test.",
        "liar.isp.test. A %s" % other,
        "%s. PTR mx.dnscheck.test." % rev(m.host),
        "%s. PTR relay1.isp.test." % rev(isp),
        "%s. PTR liar.isp.test." % rev(liar),
        "local2.test. MX 10 relay1.isp.test.",
        "backup.test. MX 10 relay1.isp.test.",
        "backup.test. MX 20 mx.dnscheck.test.",
        "nomx.test. A %s" % liar,
        "nullmx.test. MX 0 .",
        "mxalias.test. MX 10 alias.isp.test.",
        "twospf.test. MX 10 relay1.isp.test.",
        'twospf.test. TXT "v=spf1 -all"',
        'twospf.test. TXT "v=spf1 " "mx -all"',
        "hijack.test. MX 10 mx.dnscheck.test.",
    ]
    dns = peers(Unbound(zones, records).start())
    m.extra_conf["dns_resolver"] = dns.address
    m.start()
    return {"mb": m, "isp": isp, "liar": liar, "other": other}


def check(m, domain):
    return m.mailctl("check-dns", domain, check=False)


def test_the_seed_setup_is_ok(world):
    m, isp = world["mb"], world["isp"]
    r = check(m, "DNSCheck.test.")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    # The MTA-STS id suggested for a new record: the time of the check (UTC).
    sts_id = re.search(r'_mta-sts\.dnscheck\.test\. IN TXT "v=STSv1; id=(\d{14})"', r.stdout).group(1)
    assert lines[0] == "domain       dnscheck.test: a local domain of this server"
    assert re.match(r"this server  mx\.dnscheck\.test \[%s, .*127\.0\.0\.1" % re.escape(m.host), lines[1]), lines[1]
    assert lines[2:] == [
        "MX           10 mx.dnscheck.test",
        "             20 relay1.isp.test",
        "host         mx.dnscheck.test (MX 10, this server's hostname)",
        "  address    %s (this server)" % m.host,
        "  PTR        mx.dnscheck.test (resolves back to %s: forward-confirmed)" % m.host,
        "host         relay1.isp.test (MX 20)",
        "  address    %s" % isp,
        "  PTR        relay1.isp.test (resolves back to %s: forward-confirmed)" % isp,
        "this server  is the best MX (mx.dnscheck.test)",
        "TLSA         _25._tcp.mx.dnscheck.test: none; to use DANE, sign the zone (DNSSEC) and publish: "
        "_25._tcp.mx.dnscheck.test. IN TLSA 3 1 1 %s" % harness.spki_sha256(m.conf["tls_cert_file"]),
        "SPF          v=spf1 mx -all",
        "DKIM         no key: this server signs none of its mail (mailctl dkim generate dnscheck.test)",
        "DMARC        none; to ask receivers for reports, publish: _dmarc.dnscheck.test. IN TXT "
        "\"v=DMARC1; p=none; rua=mailto:postmaster@dnscheck.test\"",
        "MTA-STS      none; to have senders require verified TLS to the MX hosts (RFC 8461), publish "
        "_mta-sts.dnscheck.test. IN TXT \"v=STSv1; id=%s\" and serve at "
        "https://mta-sts.dnscheck.test/.well-known/mta-sts.txt (HTTPS, a certificate for mta-sts.dnscheck.test, "
        "text/plain):" % sts_id,
        "             version: STSv1",
        "             mode: testing",
        "             mx: mx.dnscheck.test",
        "             mx: relay1.isp.test",
        "             max_age: 604800",
        "TLS-RPT      none; to receive senders' TLS reports (RFC 8460), publish: _smtp._tls.dnscheck.test. IN TXT "
        "\"v=TLSRPTv1; rua=mailto:postmaster@dnscheck.test\"",
        "OK",
    ], r.stdout


def test_backup_mx_and_null_mx_are_ok(world):
    m = world["mb"]
    r = check(m, "backup.test")
    assert r.returncode == 0, r.stdout
    assert "domain       backup.test: in relay_domains: this server is a backup MX for it\n" in r.stdout
    assert "this server  is a backup MX (mx.dnscheck.test, preference 20)\n" in r.stdout
    r = check(m, "nullmx.test")
    assert r.returncode == 0, r.stdout
    assert "MX           0 . (null MX: this domain accepts no mail, RFC 7505)\n" in r.stdout
    assert r.stdout.endswith("\nSPF          none\nOK\n"), r.stdout


def problems(r):
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout
    i = out.rfind(" problem")
    assert i >= 0, out
    return [ln[4:] for ln in out[i:].splitlines()[1:] if ln.startswith("  - ")]


def test_problems_are_listed(world):
    m, liar, other = world["mb"], world["liar"], world["other"]
    # A local domain whose only MX is somebody else's.
    p = problems(check(m, "local2.test"))
    assert p == ["no MX of local2.test points at this server (by hostname or address): its mail will not arrive here"]
    # No MX: the domain's A (RFC 5321 5.1), whose PTR does not resolve back.
    r = check(m, "nomx.test")
    assert "MX           none: mail goes to the domain's A/AAAA (RFC 5321 5.1)\n" in r.stdout
    assert "  PTR        liar.isp.test (does not resolve back to %s)\n" % liar in r.stdout
    assert problems(r) == ["%s (nomx.test): the PTR name liar.isp.test does not resolve back to %s "
                           "(no forward-confirmed reverse DNS)" % (liar, liar)]
    assert other not in r.stdout
    # An MX that is an alias.
    p = problems(check(m, "mxalias.test"))
    assert p == ["MX alias.isp.test is an alias (CNAME) of relay1.isp.test: an MX must name the host itself "
                 "(RFC 2181 10.3, RFC 5321 5.1)"]
    # Two SPF records (RFC 7208 3.2); character-strings are joined (RFC 7208 3.3).
    r = check(m, "twospf.test")
    assert "SPF          v=spf1 -all\n             v=spf1 mx -all\n" in r.stdout
    assert problems(r) == ["twospf.test has 2 SPF records: receivers treat that as an error (RFC 7208 3.2)"]
    # Our MX, but not our domain.
    p = problems(check(m, "hijack.test"))
    assert p == ["an MX of hijack.test points at this server, but hijack.test is neither a local domain nor in "
                 "relay_domains: its mail is refused here"]
    # A name that does not exist.
    assert problems(check(m, "gone.dnscheck.test")) == ["gone.dnscheck.test does not exist in the DNS (NXDOMAIN)"]


def test_bad_domain_and_dead_resolver(world, tmp_path):
    m = world["mb"]
    r = check(m, "not a domain")
    assert r.returncode == 64 and "not a domain name" in r.stderr
    # A resolver that does not answer: exit 75, and what failed.
    ip = harness.unique_loopback()
    conf = tmp_path / "dead.conf"
    with open(m.conf_path) as f:
        text = re.sub(r"(?m)^dns_resolver = .*$", "dns_resolver = %s:%d" % (ip, harness.free_port(ip)), f.read())
    conf.write_text(text)
    r = subprocess.run([harness.bin_path("mailctl"), "-c", str(conf), "check-dns", "dnscheck.test"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 75, r.stdout + r.stderr
    assert "incomplete: 1 lookup(s) failed, try again later:\n  - MX of dnscheck.test: " in r.stdout, r.stdout
