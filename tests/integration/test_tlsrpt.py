# TLS reporting (RFC 8460) end to end: a Postfix MX under the recipient domain's MTA-STS
# policy (served over HTTPS on loopback, as in test_mta_sts.py), first in mode enforce
# with a certificate that verifies, then in mode testing through an MX name the
# certificate does not carry; the remote agent records both sessions in spool/tlsrpt;
# `mailctl tlsrpt send --today` finds the domain's `_smtp._tls` TXT record and queues
# the report, which travels to the rua mailbox at the same Postfix. The test parses the
# gzip'd JSON attachment and checks the policies, counts and the result type, the
# RFC 8460 5.3 header fields, and that the report carries a DKIM signature. The record
# also names an https: address, which gets the same report by POST (RFC 8460 5.4).
import email
import gzip
import http.server
import json
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
from test_mta_sts import PolicyServer, policy_text

pytestmark = [
    pytest.mark.skipif(not harness.is_root(), reason="needs root: peers listen on 127.x ports 25 and 443"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.POSTFIX), reason="postfix not installed"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed"),
]

DOMAIN = "sts.test"
REPORT_HOST = "reports." + DOMAIN
REPORT_URI = "https://%s:8443/v1/tlsrpt" % REPORT_HOST


class ReportServer(HttpsPeer):
    """HTTPS on a loopback address, port 8443, for REPORT_HOST with a certificate from
    `ca`: keeps every POST (path, Content-Type, body) and answers `status`."""

    def __init__(self, ca, directory):
        super().__init__(ca, directory, REPORT_HOST, 8443, "reports")
        self.status = 200
        self.posts = []

    def start(self):
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                owner.posts.append((self.path, self.headers.get("Content-Type"), body))
                self.send_response(owner.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        return self.serve(Handler)


def records(pf, web, rs, mx, sts_id, rua="mailto:reports@%s,%s" % (DOMAIN, REPORT_URI)):
    return ["%s. 1 MX 10 %s." % (DOMAIN, mx), "%s. A %s" % (mx, pf.ip), "mta-sts.%s. A %s" % (DOMAIN, web.ip),
            "%s. A %s" % (REPORT_HOST, rs.ip), '_mta-sts.%s. 1 TXT "v=STSv1; id=%s"' % (DOMAIN, sts_id),
            '_smtp._tls.%s. TXT "v=TLSRPTv1; rua=%s"' % (DOMAIN, rua)]


def restart_with(dns, new_records):
    dns.stop()
    os.makedirs(dns.dir, exist_ok=True)
    dns.records = new_records
    dns.start()


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
        rs = peers(ReportServer(ca, tmp).start())
        dns = peers(Unbound([DOMAIN], records(pf, web, rs, "mx.sts.test", "1")).start())
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
        restart_with(dns, records(pf, web, rs, "mx2.sts.test", "2"))
        time.sleep(1.5)  # the old answers' TTL
        qid2 = send("tlsrpt-mismatch", 2)
        remote_log_line(m, r"%s: tls-report: sts\.test: sts policy, mx2\.sts\.test\[%s\]: failure, "
                        r"certificate-host-mismatch" % (qid2, re.escape(pf.ip)))
        day_files = os.listdir(os.path.join(m.spool, "tlsrpt"))
        assert day_files == [time.strftime("%Y-%m-%d", time.gmtime())], day_files

        # Nothing before today: without --today nothing is sent.
        assert "no TLS sessions recorded" in m.mailctl("tlsrpt", "send").stdout
        out = m.mailctl("tlsrpt", "send", "--today").stdout
        assert re.search(r"sts\.test: report \S+ to reports@sts\.test, %s \(2 policies, 1 successful, 1 failed"
                         % re.escape(REPORT_URI), out), out
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
        # RFC 8460 5.4: the same report, POSTed to the https: address.
        assert len(rs.posts) == 1
        path, ctype, body = rs.posts[0]
        assert (path, ctype) == ("/v1/tlsrpt", "application/tlsrpt+gzip")
        assert json.loads(gzip.decompress(body)) == report
        # The sent day is gone; the report's own delivery started a new file.
        assert not any(f.endswith(".sending") for f in os.listdir(os.path.join(m.spool, "tlsrpt")))

        # An https: address alone that does not take the report (a 503): the day is kept
        # and the run says so (EX_TEMPFAIL); the next run delivers it.
        # (The report itself went over the connection still open: one more session.)
        for _ in harness.deadline_loop(30, "the idle connection to Postfix closed"):
            if pf.log().count("disconnect from") >= 3:
                break
        send("tlsrpt-again", 3)
        assert os.listdir(os.path.join(m.spool, "tlsrpt"))
        restart_with(dns, records(pf, web, rs, "mx2.sts.test", "2", rua=REPORT_URI))
        rs.status = 503
        r = m.mailctl("tlsrpt", "send", "--today", check=False)
        assert r.returncode == 75, r.stdout + r.stderr
        assert "report not posted to %s: the server answered 503" % REPORT_URI in r.stdout, r.stdout
        assert "sts.test: no report delivered; kept for the next run" in r.stdout, r.stdout
        assert os.listdir(os.path.join(m.spool, "tlsrpt"))
        rs.status = 200
        out = m.mailctl("tlsrpt", "send", "--today").stdout
        assert re.search(r"sts\.test: report \S+ to %s \(1 policy" % re.escape(REPORT_URI), out), out
        assert len(rs.posts) == 3
        assert json.loads(gzip.decompress(rs.posts[2][2]))["policies"][0]["policy"]["policy-domain"] == DOMAIN
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
