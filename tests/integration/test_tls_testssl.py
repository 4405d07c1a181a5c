# testssl.sh (Debian package testssl.sh) against a private Mailbag: the implicit-TLS
# ports 465 (smtpd) and 995 (pop3d), every check of a default run (protocols, cipher
# categories, forward secrecy, server preferences, vulnerabilities such as Heartbleed,
# ROBOT, CRIME, BREACH, POODLE, SWEET32, FREAK, LOGJAM, BEAST, LUCKY13, RC4). No finding
# may be HIGH or CRITICAL. About a minute per port, so it is not part of `make test`:
# `make test-tls` runs it (MAILBAG_TESTSSL=1); the fast protocol and cipher checks of
# test_tls.py run everywhere.
#
# The certificate is one of a private CA made here (passed to testssl with --add-ca),
# naming the address it is tested on, valid for a year and with CRL and OCSP URIs, so
# that what remains are findings about the server's TLS, not about a throwaway
# self-signed test certificate (those would be HIGH: chain of trust, name mismatch,
# expiry within 30 days, no revocation information).
import json
import os
import shutil
import subprocess

import pytest

import harness

pytestmark = [
    pytest.mark.skipif(os.environ.get("MAILBAG_TESTSSL") != "1",
                       reason="slow (minutes): run with make test-tls (MAILBAG_TESTSSL=1)"),
    pytest.mark.skipif(not shutil.which("testssl"), reason="testssl.sh not installed"),
]

BAD = {"HIGH", "CRITICAL", "FATAL"}


def make_ca_and_cert(directory, ip):
    """ca.pem, and cert.pem/key.pem for `ip` and mail.example.test, signed by it."""
    def run(*args):
        subprocess.run(args, check=True, cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365", "-subj", "/CN=Mailbag test CA",
        "-keyout", "ca-key.pem", "-out", "ca.pem",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    with open(os.path.join(directory, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:mail.example.test,IP:%s\n" % ip)
        f.write("basicConstraints=critical,CA:FALSE\n")
        f.write("keyUsage=critical,digitalSignature,keyEncipherment\n")
        f.write("extendedKeyUsage=serverAuth\n")
        f.write("crlDistributionPoints=URI:http://ca.example.test/ca.crl\n")
        f.write("authorityInfoAccess=OCSP;URI:http://ocsp.example.test/\n")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=mail.example.test",
        "-keyout", "key.pem", "-out", "server.csr")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
        "-CAcreateserial", "-days", "365", "-sha256", "-extfile", "ext.cnf", "-out", "cert.pem")
    os.chmod(os.path.join(directory, "key.pem"), 0o600)
    return os.path.join(directory, "ca.pem")


@pytest.fixture(scope="module")
def server():
    m = harness.Mailbag()
    try:
        m.ca = make_ca_and_cert(m.dir, m.host)
        m.start()
        m.start_pop3d()
        yield m
    finally:
        m.cleanup()


@pytest.mark.parametrize("service", ["submissions_listen", "pop3s_listen"])
def test_testssl_finds_nothing_high(server, service):
    m = server
    target = "%s:%d" % (m.host, m.ports[service])
    out = os.path.join(m.dir, "testssl-%s.json" % service)
    r = subprocess.run(["testssl", "--quiet", "--color", "0", "--warnings", "batch", "--add-ca", m.ca,
                        "--openssl-timeout", "10", "--jsonfile", out, target],
                       capture_output=True, text=True, timeout=900)
    with open(out) as f:
        findings = json.load(f)
    print(r.stdout[-6000:])
    bad = [x for x in findings if x.get("severity") in BAD]
    notable = [(x["id"], x["severity"], x["finding"]) for x in findings if x.get("severity") in ("MEDIUM", "LOW")]
    print("MEDIUM/LOW findings on %s: %s" % (target, notable))
    assert not bad, "\n".join("%s %s: %s" % (x["id"], x["severity"], x["finding"]) for x in bad)
    # It really looked: protocols and vulnerabilities are in the report.
    ids = {x["id"] for x in findings}
    assert {"TLS1_2", "TLS1_3", "heartbleed", "ROBOT"} <= ids, sorted(ids)
