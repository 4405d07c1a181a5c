# MTA-STS (RFC 8461) for outgoing SMTP end to end: a private unbound serves the MX, the
# `_mta-sts` TXT record and the policy host's address; the policy host is an HTTPS server
# (Python's http.server with ssl) on 127.x:443 with a certificate from a CA made here,
# which Mailbag trusts through smtp_tls_ca_file; the MX is a real Postfix with STARTTLS.
# Covers: enforce with a listed MX and a certificate from the CA (delivered, verified,
# the policy cached on disk and used after a restart of remote with the policy host
# gone), enforce with an MX the policy does not name and with a self-signed certificate
# (deferred, the log says why), testing mode with a bad certificate (delivered, the
# failure logged), policies that are huge, slow, redirected, of the wrong type or
# broken (the fetch fails with a clear line; without a cached policy the mail goes as
# if there were none; with one, the cached policy still holds).
import http.server
import os
import re
import shutil
import tempfile
import time

import pytest

import harness
import remote_peers
from https_peer import HttpsPeer
from messages import make_message
from remote_peers import Postfix, Unbound, inject, peers, remote_log_line, sender_mailbag  # noqa: F401

pytestmark = [
    pytest.mark.skipif(not harness.is_root(), reason="needs root: peers listen on 127.x ports 25 and 443"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.POSTFIX), reason="postfix not installed"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed"),
]

DOMAIN = "sts.test"
MX = "mx.sts.test"
POLICY_HOST = "mta-sts.sts.test"


def policy_text(mode="enforce", mx=(MX,), max_age=86400):
    return "version: STSv1\r\nmode: %s\r\n%smax_age: %d\r\n" % (
        mode, "".join("mx: %s\r\n" % m for m in mx), max_age)


class PolicyServer(HttpsPeer):
    """HTTPS on `ip`:443 for POLICY_HOST with a certificate from `ca`. What it answers
    is set through the attributes: body, content_type, status, location, delay."""

    def __init__(self, ca, directory):
        super().__init__(ca, directory, POLICY_HOST, 443, "policy")
        self.body = policy_text()
        self.content_type = "text/plain"
        self.status = 200
        self.location = None
        self.delay = 0
        self.requests = 0

    def start(self):
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                owner.requests += 1
                if owner.delay:
                    time.sleep(owner.delay)
                body = owner.body.encode() if isinstance(owner.body, str) else owner.body
                try:
                    self.send_response(owner.status)
                    if owner.location:
                        self.send_header("Location", owner.location)
                    self.send_header("Content-Type", owner.content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if self.path == "/.well-known/mta-sts.txt":
                        self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (the size limit, the timeout)

            def log_message(self, *args):
                pass

        return self.serve(Handler)


class Setup:
    """The CA, the Postfix MX (certificate from the CA for MX, or self-signed), the policy
    server, unbound with the records, and a Mailbag trusting the CA."""

    def __init__(self, make_mailbag, peers, mx_cert="ca", sts_id="1", **conf):
        self.dir = tempfile.mkdtemp(prefix="mb-sts-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.ca = harness.make_ca(self.dir)
        self.pf = Postfix(DOMAIN, ["alice"], hostname=MX)
        if mx_cert == "ca":
            cert, key = harness.make_signed_cert(self.pf.dir, self.ca, MX)
        else:
            cert, key = harness.make_cert(self.pf.dir, cn=MX)
        self.pf.extra.update({"smtpd_tls_cert_file": cert, "smtpd_tls_key_file": key,
                              "smtpd_tls_security_level": "may", "smtpd_tls_received_header": "yes"})
        peers(self.pf.start())
        self.web = peers(PolicyServer(self.ca, self.dir).start())
        self.dns = peers(Unbound([DOMAIN], self.records(sts_id)).start())
        c = {"smtp_tls_ca_file": self.ca[0], "remote_timeout": "10s"}
        c.update(conf)
        self.m = sender_mailbag(make_mailbag, self.dns, **c)
        peers(self)

    def records(self, sts_id):
        # A short TTL, so that remote's resolver asks again after the id changes.
        return ["%s. MX 10 %s." % (DOMAIN, MX), "%s. A %s" % (MX, self.pf.ip),
                "%s. A %s" % (POLICY_HOST, self.web.ip),
                '_mta-sts.%s. 1 TXT "v=STSv1; id=%s"' % (DOMAIN, sts_id)]

    def change_id(self, sts_id):
        """Serves the TXT record with a new id (unbound restarted on the same address)."""
        self.dns.stop()
        os.makedirs(self.dns.dir, exist_ok=True)
        self.dns.records = self.records(sts_id)
        self.dns.start()
        time.sleep(1.5)  # the old answer's TTL

    def send(self, tag):
        _, msg = make_message(tag, 1, to="alice@%s" % DOMAIN)
        return inject(self.m, "demo@example.test", ["alice@%s" % DOMAIN], msg, body_8bit=True)

    def cache_file(self):
        return os.path.join(self.m.spool, "mta-sts", DOMAIN)

    def stop(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def delivered(s, qid, n):
    s.pf.wait_for_messages("alice", n, timeout=60, check=s.m.check_alive)
    remote_log_line(s.m, r"%s: to=<alice@sts.test>, relay=mx\.sts\.test\[.*status=sent" % qid, timeout=30)


def test_enforce_verified_delivery_and_the_cache_survives_a_restart(make_mailbag, peers):
    s = Setup(make_mailbag, peers)
    qid = s.send("sts-enforce")
    delivered(s, qid, 1)
    remote_log_line(s.m, r"mta-sts: sts\.test: policy fetched from https://mta-sts\.sts\.test/\.well-known/"
                         r"mta-sts\.txt: id 1, mode enforce, max_age 86400, mx mx\.sts\.test")
    remote_log_line(s.m, r"%s: mta-sts: mx\.sts\.test\[%s\]:25: certificate verified for mx\.sts\.test "
                         r"\(policy mode enforce\)" % (qid, re.escape(s.pf.ip)))
    assert b"with ESMTPS" in s.pf.maildir_messages("alice")[0]
    with open(s.cache_file()) as f:
        assert f.read().startswith("MBSTS1\nid 1\n")
    assert os.stat(s.cache_file()).st_uid == harness.uid_of("mb-remote")
    # The policy host goes away; remote restarts: the cached policy still applies.
    s.web.stop()
    s.m.restart("remote")
    s.m.wait_for_log("queue-manager", r"remote delivery agent connected")
    qid2 = s.send("sts-cached")
    delivered(s, qid2, 2)
    remote_log_line(s.m, r"mta-sts: sts\.test: cached policy id 1, mode enforce, valid for \d+s more")
    remote_log_line(s.m, r"%s: mta-sts: mx\.sts\.test\[.*certificate verified" % qid2)
    assert s.web.requests == 1


def test_enforce_refuses_an_mx_not_in_the_policy(make_mailbag, peers):
    s = Setup(make_mailbag, peers)
    s.web.body = policy_text(mx=("mail.sts.test", "*.other.test"))
    qid = s.send("sts-wrong-mx")
    remote_log_line(s.m, r"%s: mta-sts: sts\.test: MX host mx\.sts\.test is not in the policy "
                         r"\(mx: mail\.sts\.test, \*\.other\.test\), not used" % qid, timeout=60)
    remote_log_line(s.m, r"%s: to=<alice@sts.test>, relay=none, .*status=deferred \(MTA-STS: no MX host of "
                         r"sts\.test matches its policy" % qid)
    assert s.pf.maildir_messages("alice") == []
    assert any(qid in f for f in s.m.queue_files())
    assert s.pf.log().count("]: connect from") == 1, s.pf.log()[-2000:]  # only Postfix's readiness probe


def test_enforce_refuses_a_certificate_that_does_not_verify(make_mailbag, peers):
    s = Setup(make_mailbag, peers, mx_cert="self-signed")
    qid = s.send("sts-bad-cert")
    remote_log_line(s.m, r"%s: to=<alice@sts.test>, relay=none, .*status=deferred \(TLS handshake failed: "
                         r"MTA-STS: certificate not verified, host not used: .*" % qid, timeout=60)
    remote_log_line(s.m, r"%s: mta-sts: mx\.sts\.test\[.*host not used under the enforce policy" % qid)
    assert s.pf.maildir_messages("alice") == []
    assert not re.search(r"disconnect from .* mail=", s.pf.log()), s.pf.log()[-2000:]


def test_testing_mode_delivers_and_records_the_failure(make_mailbag, peers):
    s = Setup(make_mailbag, peers, mx_cert="self-signed")
    s.web.body = policy_text(mode="testing")
    qid = s.send("sts-testing")
    delivered(s, qid, 1)
    remote_log_line(s.m, r"%s: mta-sts: mx\.sts\.test\[.*testing: certificate would not be accepted under "
                         r"enforce: .*; delivering, since the mode is testing" % qid)


BAD_POLICIES = {
    "huge": (dict(body="version: STSv1\nmode: enforce\nmx: nowhere.test\nmax_age: 86400\n" + "#" * 200000),
             r"answer larger than 64 KB"),
    "slow": (dict(delay=8), r"timed out after 5s"),
    "redirect": (dict(status=301, location="https://elsewhere.test/policy"),
                 r"HTTP 301 redirect to https://elsewhere\.test/policy \(not followed, RFC 8461 3\.3\)"),
    "html": (dict(content_type="text/html"), r"Content-Type is text/html, not text/plain"),
    "broken": (dict(body="version: STSv1\nmode: enforce\nmx: nowhere.test\n"), r"bad policy: no max_age field"),
}


@pytest.mark.parametrize("kind", sorted(BAD_POLICIES))
def test_bad_policy_without_a_cached_one_delivers_as_if_none(make_mailbag, peers, kind):
    s = Setup(make_mailbag, peers, mx_cert="self-signed", remote_timeout="5s")
    attrs, why = BAD_POLICIES[kind]
    for k, v in attrs.items():
        setattr(s.web, k, v)
    qid = s.send("sts-bad-" + kind)
    delivered(s, qid, 1)
    remote_log_line(s.m, r"mta-sts: sts\.test: policy fetch from https://mta-sts\.sts\.test/\.well-known/"
                         r"mta-sts\.txt failed: .*%s.*; no cached policy: delivering as if the domain had none "
                         r"\(RFC 8461 5\)" % why)


def test_bad_policy_with_a_cached_one_keeps_the_cached_policy(make_mailbag, peers):
    s = Setup(make_mailbag, peers, remote_timeout="5s")
    s.web.body = policy_text(mx=("mail.sts.test",))  # enforce, and mx.sts.test not named
    qid = s.send("sts-first")
    remote_log_line(s.m, r"%s: to=<alice@sts.test>, relay=none, .*status=deferred \(MTA-STS: no MX host" % qid,
                    timeout=60)
    # A new id makes remote fetch again; the broken answer leaves the cached policy in force.
    s.web.body = "this is not a policy\n"
    s.change_id("2")
    qid2 = s.send("sts-second")
    remote_log_line(s.m, r"mta-sts: sts\.test: policy fetch from .* failed: bad policy: .*; using the cached "
                         r"policy id 1, mode enforce", timeout=60)
    remote_log_line(s.m, r"%s: to=<alice@sts.test>, relay=none, .*status=deferred \(MTA-STS: no MX host" % qid2)
    # While the id differs from the cached one and fetching it fails, the next fetch
    # waits (here remote_timeout, 5s): the queue's retries in between use the cached
    # policy without asking the policy host.
    remote_log_line(s.m, r"mta-sts: sts\.test: policy id 2 not fetched again before \d+s \(1 failed fetch, the "
                         r"last: bad policy: .*\); using the cached policy id 1", timeout=30)
    assert s.web.requests == 2
    # Once the policy host serves a good policy, it replaces the cached one and both go.
    s.web.body = policy_text()
    s.pf.wait_for_messages("alice", 2, timeout=60, check=s.m.check_alive)
    remote_log_line(s.m, r"mta-sts: sts\.test: policy fetched from .*: id 2, mode enforce, max_age 86400, "
                         r"mx mx\.sts\.test")


def test_tls_required_no_header_ignores_the_policy(make_mailbag, peers):
    # RFC 8689 5: "TLS-Required: No" asks the sender to ignore the recipient domain's TLS
    # policy: under enforce, a certificate that does not verify no longer stops the mail.
    s = Setup(make_mailbag, peers, mx_cert="self-signed")
    _, msg = make_message("sts-tls-required-no", 1, to="alice@%s" % DOMAIN)
    msg = b"TLS-Required: No\r\n" + msg
    qid = inject(s.m, "demo@example.test", ["alice@%s" % DOMAIN], msg, body_8bit=True)
    delivered(s, qid, 1)
    remote_log_line(s.m, r"%s: TLS-Required: No: recipient domains' TLS policies \(MTA-STS, DANE\) not applied" % qid)
    assert s.web.requests == 0
