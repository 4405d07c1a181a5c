# TLS reporting (RFC 8460) end to end: a Postfix MX under the recipient domain's MTA-STS
# policy (served over HTTPS on loopback, as in test_mta_sts.py), first in mode enforce
# with a certificate that verifies, then in mode testing through an MX name the
# certificate does not carry; the remote agent records both sessions in spool/tlsrpt;
# `mailctl tlsrpt send --today` finds the domain's `_smtp._tls` TXT record and queues
# the report, which travels to the rua mailbox at the same Postfix. The test parses the
# gzip'd JSON attachment and checks the policies, counts and the result type, the
# RFC 8460 5.3 header fields, and that the report carries a DKIM signature.
import email
import gzip
import json
import os
import re
import shutil
import tempfile
import time

import pytest

import harness
import remote_peers
from messages import make_message
from remote_peers import Postfix, Unbound, inject, peers, remote_log_line, sender_mailbag  # noqa: F401
from test_mta_sts import PolicyServer, policy_text

pytestmark = [
    pytest.mark.skipif(not harness.is_root(), reason="needs root: peers listen on 127.x ports 25 and 443"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.POSTFIX), reason="postfix not installed"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed"),
]

DOMAIN = "sts.test"


def records(pf, web, mx, sts_id):
    return ["%s. 1 MX 10 %s." % (DOMAIN, mx), "%s. A %s" % (mx, pf.ip), "mta-sts.%s. A %s" % (DOMAIN, web.ip),
            '_mta-sts.%s. 1 TXT "v=STSv1; id=%s"' % (DOMAIN, sts_id),
            '_smtp._tls.%s. TXT "v=TLSRPTv1; rua=mailto:reports@%s"' % (DOMAIN, DOMAIN)]


def test_sessions_are_counted_and_the_daily_report_is_mailed(make_mailbag, peers):
    tmp = tempfile.mkdtemp(prefix="mb-tlsrpt-", dir="/tmp")
    os.chmod(tmp, 0o755)
    try:
        ca = harness.make_ca(tmp)
        pf = Postfix(DOMAIN, ["alice", "reports"], hostname="mx.sts.test")
        cert, key = harness.make_signed_cert(pf.dir, ca, "mx.sts.test")
        pf.extra.update({"smtpd_tls_cert_file": cert, "smtpd_tls_key_file": key, "smtpd_tls_security_level": "may"})
        peers(pf.start())
        web = peers(PolicyServer(ca, tmp).start())
        dns = peers(Unbound([DOMAIN], records(pf, web, "mx.sts.test", "1")).start())
        m = sender_mailbag(make_mailbag, dns, smtp_tls_ca_file=ca[0])
        m.mailctl("dkim", "generate", "example.test", "--selector", "r1")
        m.start_daemon("dkim")

        def send(tag, n):
            _, msg = make_message(tag, 1, to="alice@%s" % DOMAIN)
            qid = inject(m, "demo@example.test", ["alice@%s" % DOMAIN], msg)
            pf.wait_for_messages("alice", n, timeout=60, check=m.check_alive)
            return qid

        # Mode enforce, certificate from the CA for the MX: a successful session.
        qid = send("tlsrpt-ok", 1)
        remote_log_line(m, r"%s: tls-report: sts\.test: sts policy, mx\.sts\.test\[%s\]: success"
                        % (qid, re.escape(pf.ip)))
        # The idle connection (kept a few seconds for more mail) ends first: the next
        # message looks its destination up afresh.
        for _ in harness.deadline_loop(30, "the idle connection to Postfix closed"):
            if pf.log().count("disconnect from") >= 2:
                break
        # Mode testing, and the MX is now mx2.sts.test, a name the certificate does not
        # carry: delivered, and counted as a failure.
        web.body = policy_text(mode="testing", mx=("*.sts.test",))
        dns.stop()
        os.makedirs(dns.dir, exist_ok=True)
        dns.records = records(pf, web, "mx2.sts.test", "2")
        dns.start()
        time.sleep(1.5)  # the old answers' TTL
        qid2 = send("tlsrpt-mismatch", 2)
        remote_log_line(m, r"%s: tls-report: sts\.test: sts policy, mx2\.sts\.test\[%s\]: failure, "
                        r"certificate-host-mismatch" % (qid2, re.escape(pf.ip)))
        day_files = os.listdir(os.path.join(m.spool, "tlsrpt"))
        assert day_files == [time.strftime("%Y-%m-%d", time.gmtime())], day_files

        # Nothing before today: without --today nothing is sent.
        assert "no TLS sessions recorded" in m.mailctl("tlsrpt", "send").stdout
        out = m.mailctl("tlsrpt", "send", "--today").stdout
        assert re.search(r"sts\.test: report \S+ to reports@sts\.test \(2 policies, 1 successful, 1 failed", out), out
        pf.wait_for_messages("reports", 1, timeout=60, check=m.check_alive)
        raw = pf.maildir_messages("reports")[0]
        msg = email.message_from_bytes(raw)
        assert msg["TLS-Report-Domain"] == DOMAIN
        assert msg["TLS-Report-Submitter"] == "mail.example.test"
        assert msg["Subject"].startswith("Report Domain: sts.test Submitter: mail.example.test Report-ID: <")
        assert re.search(rb"DKIM-Signature:[^:]*\bd=example\.test;", raw), raw[:800]
        assert msg.get_content_type() == "multipart/report"
        assert msg.get_param("report-type") == "tlsrpt"
        parts = [p for p in msg.walk() if p.get_content_type() == "application/tlsrpt+gzip"]
        assert len(parts) == 1
        assert parts[0].get_filename().endswith(".json.gz")
        report = json.loads(gzip.decompress(parts[0].get_payload(decode=True)))
        day = time.strftime("%Y-%m-%d", time.gmtime())
        assert report["date-range"] == {"start-datetime": day + "T00:00:00Z", "end-datetime": day + "T23:59:59Z"}
        assert report["contact-info"] == "postmaster@mail.example.test"
        assert report["report-id"] in msg["Subject"]
        by_mode = {}
        for p in report["policies"]:
            assert p["policy"]["policy-type"] == "sts"
            assert p["policy"]["policy-domain"] == DOMAIN
            mode = [s for s in p["policy"]["policy-string"] if s.startswith("mode: ")][0]
            by_mode[mode] = p
        assert sorted(by_mode) == ["mode: enforce", "mode: testing"]
        ok = by_mode["mode: enforce"]
        assert ok["policy"]["mx-host"] == ["mx.sts.test"]
        assert ok["summary"] == {"total-successful-session-count": 1, "total-failure-session-count": 0}
        assert "failure-details" not in ok
        bad = by_mode["mode: testing"]
        assert bad["policy"]["mx-host"] == ["*.sts.test"]
        assert bad["summary"] == {"total-successful-session-count": 0, "total-failure-session-count": 1}
        assert bad["failure-details"] == [{"result-type": "certificate-host-mismatch",
                                           "receiving-mx-hostname": "mx2.sts.test", "receiving-ip": pf.ip,
                                           "failed-session-count": 1}]
        # The sent day is gone; the report's own delivery started a new file.
        assert not any(f.endswith(".sending") for f in os.listdir(os.path.join(m.spool, "tlsrpt")))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_check_dns_fetches_the_policy_and_reads_the_tlsrpt_record(make_mailbag, peers):
    # mailctl check-dns for a local domain with MTA-STS: the policy is fetched over HTTPS
    # as a sender would, and an MX host it does not name is a problem; the TLSRPT record
    # is shown with its address.
    tmp = tempfile.mkdtemp(prefix="mb-tlsrpt-", dir="/tmp")
    os.chmod(tmp, 0o755)
    try:
        ca = harness.make_ca(tmp)
        web = peers(PolicyServer(ca, tmp).start())
        web.body = policy_text(mx=("mx9.sts.test",))
        m = make_mailbag(start=False, domains=("example.test", DOMAIN), conf={"smtp_tls_ca_file": ca[0]})
        dns = peers(Unbound([DOMAIN, "example.test"], [
            "%s. MX 10 mail.example.test." % DOMAIN, "mail.example.test. A %s" % m.host,
            "mta-sts.%s. A %s" % (DOMAIN, web.ip), '_mta-sts.%s. TXT "v=STSv1; id=7"' % DOMAIN,
            '_smtp._tls.%s. TXT "v=TLSRPTv1; rua=mailto:tls@%s"' % (DOMAIN, DOMAIN)]).start())
        m.extra_conf["dns_resolver"] = dns.address
        m.start()
        r = m.mailctl("check-dns", DOMAIN, check=False)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "\nMTA-STS      id 7, mode enforce, max_age 86400, mx mx9.sts.test\n" in r.stdout, r.stdout
        assert "\nTLS-RPT      reports to tls@sts.test\n" in r.stdout, r.stdout
        assert ("MX host mail.example.test is not named by the MTA-STS policy of sts.test "
                "(https://mta-sts.sts.test/.well-known/mta-sts.txt): senders refuse to deliver there") in r.stdout
        assert web.requests == 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
