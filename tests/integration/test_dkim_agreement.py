# The built-in DKIM verification (smtpd/checks/, RFC 6376 6) and OpenDKIM, the reference
# implementation, run side by side on the same messages and must agree. OpenDKIM runs as
# a real milter in verify mode (started here, in a temporary directory, on a loopback
# address), asking the same local unbound that serves the test keys; both write an
# Authentication-Results header (RFC 8601), Mailbag's with its host name, OpenDKIM's with
# the authserv-id "opendkim.test", and the test compares the two results per message:
# RSA and Ed25519 (RFC 8463) signatures, a header changed after signing, a body changed
# after signing, relaxed canonicalization across changed white space, an unsigned
# message, and a missing or broken key record (where the two name the failure
# differently; see the end of the test).
import os
import re
import shutil
import socket
import subprocess
import tempfile

import pytest

import harness
import remote_peers
from test_checks import Keys, authres, deliver, dkim, message, sign, stored, txt

pytestmark = [
    pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed"),
    pytest.mark.skipif(not harness.is_root(), reason="needs root (port 25, privilege drop)"),
]

AUTHSERV = "opendkim.test"


@pytest.fixture(scope="module")
def world():
    keys = Keys()
    client_ip = harness.unique_loopback()
    records = [
        txt("rsa._domainkey.signed.test.", "v=DKIM1; k=rsa; p=" + keys.rsa_public),
        txt("ed._domainkey.signed.test.", "v=DKIM1; k=ed25519; p=" + keys.ed_public),
        txt("bad._domainkey.signed.test.", "v=DKIM1; k=rsa; p=!!not-base64!!"),
    ]
    dns = remote_peers.Unbound(["signed.test", "pass.test"], records).start()
    yield {"keys": keys, "client": client_ip, "dns": dns}
    dns.stop()


@pytest.fixture(scope="module")
def opendkim(world):
    exe = shutil.which("opendkim") or "/usr/sbin/opendkim"
    if not os.path.exists(exe):
        pytest.fail("opendkim is not installed (Debian package opendkim, in the Makefile's TEST_PKGS)")
    d = tempfile.mkdtemp(prefix="opendkim-", dir="/tmp")
    host = harness.unique_loopback()
    port = harness.free_port(host)
    dns = world["dns"]
    # OpenDKIM resolves through libunbound: forward everything to the test unbound, which
    # is on a loopback address (refused by default) and serves names under .test (a
    # special-use name that unbound answers itself by default).
    with open(os.path.join(d, "unbound.conf"), "w") as f:
        f.write('server:\n  do-not-query-localhost: no\n  local-zone: "test." nodefault\n'
                'forward-zone:\n  name: "."\n  forward-addr: %s@%d\n' % (dns.ip, dns.port))
    with open(os.path.join(d, "opendkim.conf"), "w") as f:
        f.write("\n".join([
            "Mode v",
            "Socket inet:%d@%s" % (port, host),
            "AuthservID " + AUTHSERV,
            "Background no",
            "Syslog no",
            "AlwaysAddARHeader yes",
            # OpenDKIM signs, and does not verify, mail from its internal hosts (by
            # default 127.0.0.1); the test clients are 127.x addresses.
            "InternalHosts 192.0.2.1",
            "PidFile " + os.path.join(d, "opendkim.pid"),
            "ResolverConfiguration " + os.path.join(d, "unbound.conf"),
        ]) + "\n")
    log = open(os.path.join(d, "stdout.log"), "wb")
    proc = subprocess.Popen([exe, "-f", "-x", os.path.join(d, "opendkim.conf")], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        for _ in harness.deadline_loop(30, "opendkim to listen on %s:%d" % (host, port)):
            if proc.poll() is not None:
                raise RuntimeError("opendkim exited (%s): %s" % (proc.returncode,
                                                                 open(os.path.join(d, "stdout.log")).read()))
            try:
                socket.create_connection((host, port), timeout=1).close()
                break
            except OSError:
                pass
        yield "inet:%s:%d" % (host, port)
    finally:
        harness.stop_group(proc)
        log.close()
        shutil.rmtree(d, ignore_errors=True)


def results(data):
    """{authserv-id: the dkim= result} from the message's Authentication-Results fields."""
    out = {}
    for field in authres(data):
        text = " ".join(field.split())
        serv = text.split(";", 1)[0].strip()
        m = re.search(r"\bdkim=(\w+)", text)
        out[serv] = (m.group(1) if m else None, text)
    return out


def test_builtin_dkim_and_opendkim_agree(world, opendkim):
    m = harness.Mailbag(conf={
        "dns_resolver": world["dns"].address,
        "relay_networks": "10.0.0.0/8",
        "dkim_check": "yes",
        "milters": opendkim,
        "milter_command_timeout": "30s",
    }).start()
    try:
        relaxed = dkim.sign(message("x@signed.test"), b"rsa", b"signed.test", world["keys"].rsa_private,
                            canonicalize=(b"relaxed", b"relaxed"), include_headers=[b"from", b"to", b"subject"])
        cases = {
            "rsa": sign(world, message("x@signed.test")),
            "ed25519": sign(world, message("x@signed.test"), selector="ed", ed=True),
            # relaxed/relaxed (RFC 6376 3.4.2, 3.4.4): white space changed in transit still
            # verifies.
            "relaxed": relaxed + message("x@signed.test").replace(b"Subject: checks", b"Subject:  checks")
                                                    .replace(b"Hello.\r\n", b"Hello. \r\n"),
            "header changed": sign(world, message("x@signed.test")).replace(b"Subject: checks", b"Subject: check"),
            "body changed": sign(world, message("x@signed.test")).replace(b"Hello.", b"Hullo."),
            "no key": sign(world, message("x@signed.test"), selector="gone"),
            "bad key": sign(world, message("x@signed.test"), selector="bad"),
            "unsigned": message("x@pass.test"),
        }
        got = {}
        for name, msg in cases.items():
            sent = deliver(m, world, msg, "x@pass.test")
            r = results(stored(m, sent))
            assert AUTHSERV in r and len(r) == 2, (name, r)  # OpenDKIM's and Mailbag's
            got[name] = (r.pop(AUTHSERV), r.popitem()[1])
        expected = {"rsa": "pass", "ed25519": "pass", "relaxed": "pass", "header changed": "fail",
                    "body changed": "fail", "unsigned": "none"}
        for name, want in expected.items():
            (theirs, their_text), (ours, our_text) = got[name]
            assert ours == theirs == want, (name, our_text, their_text)
            for tag in ("header.d", "header.s", "header.a"):
                t = re.search(tag + r"=(\S+)", their_text)
                if t:
                    assert tag + "=" + t.group(1) in our_text, (name, tag, our_text, their_text)
        # No key record, and a key record whose p= is not base64: RFC 6376 6.1.2 makes
        # both a permanent failure of the signature (asking again gives the same answer),
        # which RFC 8601 2.7.1 writes as permerror, as Mailbag does. OpenDKIM 2.11 says
        # "fail" for the missing key and "temperror" for the broken one; neither passes.
        for name, theirs_allowed in (("no key", ("permerror", "fail")), ("bad key", ("permerror", "temperror"))):
            (theirs, their_text), (ours, our_text) = got[name]
            assert ours == "permerror" and theirs in theirs_allowed, (name, our_text, their_text)
    finally:
        m.cleanup()
