# Remote delivery end to end: Mailbag's `remote` agent, with MX lookups through a real
# unbound serving test zones, delivering to a real Postfix on 127.x:25. Covers delivery
# intact (dot lines, 8-bit, long lines), one transaction for several recipients,
# connection reuse, STARTTLS, the next MX when one is down, deferral while the peer is
# down and delivery once it is back, RFC 3464 bounces for a 5xx answer, a null MX
# (RFC 7505) and an expired lifetime, loop detection, and remote's privileges.
# Port 25 needs root: without it these tests are skipped.
import email
import email.policy
import os
import re
import time

import pytest

import harness
import remote_peers
from messages import make_message
from remote_peers import Postfix, Unbound, check_intact, inject, peers, remote_log_line, sender_mailbag, start_remote  # noqa: F401

pytestmark = [
    pytest.mark.skipif(not harness.is_root(), reason="needs root: peers listen on 127.x port 25"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.POSTFIX), reason="postfix not installed"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed"),
]


def test_delivers_to_postfix_intact_in_one_transaction(make_mailbag, peers):
    pf = peers(Postfix("peer.test", ["alice", "bob"]).start())
    dns = peers(Unbound(["peer.test"], ["peer.test. MX 10 mx.peer.test.", "mx.peer.test. A %s" % pf.ip]).start())
    m = sender_mailbag(make_mailbag, dns)
    mid, msg = make_message("remote", 1, to="alice@peer.test")
    qid = inject(m, "demo@example.test", ["alice@peer.test", "Bob@Peer.Test"], msg, body_8bit=True)

    a = pf.wait_for_messages("alice", 1, check=m.check_alive)
    b = pf.wait_for_messages("bob", 1, check=m.check_alive)
    check_intact(a[0], msg)
    check_intact(b[0], msg)
    # Both recipients in one transaction: Postfix queued one message for both.
    log = pf.log()
    assert len(re.findall(r"client=localhost\[127\.0\.0\.1\]", log)) == 1, log
    line = remote_log_line(m, r"%s: to=<alice@peer.test>, relay=mx\.peer\.test\[%s\]:25, .*status=sent \(250 2\.0\.0 "
                           % (qid, re.escape(pf.ip)))
    assert "in reply to BDAT" in line  # Postfix offers CHUNKING: one "BDAT n LAST" (RFC 3030 2)
    m.wait_queue_empty()


def test_utf8_domain_is_looked_up_and_sent_as_a_labels(make_mailbag, peers):
    # RFC 5891 5: the MX of bücher.test is the MX of its A-label form xn--bcher-kva.test.
    # RFC 6531 3.2: a server that does not offer SMTPUTF8 (this Postfix) may get an
    # address whose local part is ASCII with its domain in A-labels; one with a UTF-8
    # local part has no such form and bounces with 5.6.7.
    pf = peers(Postfix("xn--bcher-kva.test", ["anna"], extra={"smtputf8_enable": "no"}).start())
    dns = peers(Unbound(["xn--bcher-kva.test"], ["xn--bcher-kva.test. MX 10 mx.xn--bcher-kva.test.",
                                                 "mx.xn--bcher-kva.test. A %s" % pf.ip]).start())
    m = sender_mailbag(make_mailbag, dns)
    _, msg = make_message("idna", 1, to="anna@xn--bcher-kva.test")
    qid = inject(m, "demo@example.test", ["anna@b\u00fccher.test"], msg, body_8bit=True, smtputf8=True)
    check_intact(pf.wait_for_messages("anna", 1, check=m.check_alive)[0], msg)
    # Logs show bytes outside ASCII as \\xNN escapes.
    remote_log_line(m, r"%s: to=<anna@b\\xc3\\xbccher\.test>, relay=mx\.xn--bcher-kva\.test\[%s\]:25, .*status=sent"
                    % (qid, re.escape(pf.ip)))
    # Postfix logs the delivery a moment after the file is in the Maildir.
    deadline = time.time() + 20
    while "to=<anna@xn--bcher-kva.test>, relay=virtual" not in pf.log() and time.time() < deadline:
        time.sleep(0.1)
    assert "to=<anna@xn--bcher-kva.test>, relay=virtual" in pf.log(), pf.log()

    _, msg2 = make_message("idna", 2, to="anna@xn--bcher-kva.test")
    qid2 = inject(m, "demo@example.test", ["j\u00f6rg@b\u00fccher.test"], msg2, body_8bit=True, smtputf8=True)
    remote_log_line(m, r"%s: to=<j\\xc3\\xb6rg@b\\xc3\\xbccher\.test>, .*status=bounced \(SMTPUTF8 is required" % qid2)
    m.wait_queue_empty()


def test_connection_reused_for_the_next_message(make_mailbag, peers):
    pf = peers(Postfix("peer.test", ["alice"]).start())
    dns = peers(Unbound(["peer.test"], ["peer.test. MX 10 mx.peer.test.", "mx.peer.test. A %s" % pf.ip]).start())
    m = sender_mailbag(make_mailbag, dns)
    for n in range(3):
        _, msg = make_message("reuse", n, to="alice@peer.test")
        inject(m, "demo@example.test", ["alice@peer.test"], msg, body_8bit=True)
        pf.wait_for_messages("alice", n + 1, check=m.check_alive)
    # One connection carried all three (remote keeps it idle for a few seconds, then
    # says QUIT). The other connection in the log is the start-up probe's.
    rx = re.compile(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=\d+ .*mail=3 rcpt=3 bdat=3 quit=1")
    for _ in harness.deadline_loop(30, "postfix to log one session with three messages"):
        if rx.search(pf.log()):
            break
    assert pf.log().count("]: connect from") == 2, pf.log()


def test_destination_concurrency_limit(make_mailbag, peers):
    # With remote_destination_concurrency = 1, messages queued together for one domain
    # wait for the single connection and then share it.
    pf = peers(Postfix("peer.test", ["alice"]).start())
    dns = peers(Unbound(["peer.test"], ["peer.test. MX 10 mx.peer.test.", "mx.peer.test. A %s" % pf.ip]).start())
    m = sender_mailbag(make_mailbag, dns, remote_destination_concurrency="1")
    for n in range(4):
        _, msg = make_message("limit", n, to="alice@peer.test")
        inject(m, "demo@example.test", ["alice@peer.test"], msg, body_8bit=True)
    pf.wait_for_messages("alice", 4, check=m.check_alive)
    rx = re.compile(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=\d+ .*mail=4 rcpt=4 bdat=4 quit=1")
    for _ in harness.deadline_loop(30, "postfix to log one session with four messages"):
        if rx.search(pf.log()):
            break
    assert pf.log().count("]: connect from") == 2, pf.log()


def test_starttls_with_the_peer(make_mailbag, peers):
    pf = Postfix("peer.test", ["alice"])
    cert, key = harness.make_cert(pf.dir, cn="mx.peer.test")
    pf.extra.update({"smtpd_tls_cert_file": cert, "smtpd_tls_key_file": key,
                     "smtpd_tls_security_level": "may", "smtpd_tls_received_header": "yes"})
    peers(pf.start())
    dns = peers(Unbound(["peer.test"], ["peer.test. MX 10 mx.peer.test.", "mx.peer.test. A %s" % pf.ip]).start())
    m = sender_mailbag(make_mailbag, dns)
    _, msg = make_message("tls", 1, to="alice@peer.test")
    inject(m, "demo@example.test", ["alice@peer.test"], msg, body_8bit=True)
    stored = pf.wait_for_messages("alice", 1, check=m.check_alive)[0]
    check_intact(stored, msg)
    assert b"with ESMTPS" in stored, stored[:800]
    remote_log_line(m, r"mx\.peer\.test\[%s\]:25: TLS established: TLSv1\.[23]" % re.escape(pf.ip))


def test_tls_required_but_not_offered_defers(make_mailbag, peers):
    pf = peers(Postfix("peer.test", ["alice"]).start())
    dns = peers(Unbound(["peer.test"], ["peer.test. MX 10 mx.peer.test.", "mx.peer.test. A %s" % pf.ip]).start())
    m = sender_mailbag(make_mailbag, dns, smtp_tls_policy="encrypt")
    _, msg = make_message("notls", 1, to="alice@peer.test")
    qid = inject(m, "demo@example.test", ["alice@peer.test"], msg, body_8bit=True)
    remote_log_line(m, r"%s: to=<alice@peer.test>, relay=none, .*status=deferred \(TLS is required, but was not "
                       r"offered by the server" % qid)
    assert pf.maildir_messages("alice") == []


def test_tls_verify_refuses_an_untrusted_certificate(make_mailbag, peers):
    pf = Postfix("peer.test", ["alice"])
    cert, key = harness.make_cert(pf.dir, cn="mx.peer.test")  # self-signed: not trusted
    pf.extra.update({"smtpd_tls_cert_file": cert, "smtpd_tls_key_file": key, "smtpd_tls_security_level": "may"})
    peers(pf.start())
    dns = peers(Unbound(["peer.test"], ["peer.test. MX 10 mx.peer.test.", "mx.peer.test. A %s" % pf.ip]).start())
    m = sender_mailbag(make_mailbag, dns, smtp_tls_policy="verify")
    _, msg = make_message("verify", 1, to="alice@peer.test")
    qid = inject(m, "demo@example.test", ["alice@peer.test"], msg, body_8bit=True)
    remote_log_line(m, r"%s: to=<alice@peer.test>, relay=none, .*status=deferred \(TLS handshake failed: "
                       r".*certificate verify failed" % qid)
    assert pf.maildir_messages("alice") == []


def test_next_mx_when_the_best_is_down(make_mailbag, peers):
    pf = peers(Postfix("peer.test", ["alice"]).start())
    dead = harness.unique_loopback()  # nothing listens there
    dns = peers(Unbound(["peer.test"], ["peer.test. MX 10 mx1.peer.test.", "peer.test. MX 20 mx2.peer.test.",
                                        "mx1.peer.test. A %s" % dead, "mx2.peer.test. A %s" % pf.ip]).start())
    m = sender_mailbag(make_mailbag, dns)
    _, msg = make_message("nextmx", 1, to="alice@peer.test")
    qid = inject(m, "demo@example.test", ["alice@peer.test"], msg, body_8bit=True)
    check_intact(pf.wait_for_messages("alice", 1, check=m.check_alive)[0], msg)
    remote_log_line(m, r"connect to mx1\.peer\.test\[%s\]:25: Connection refused" % re.escape(dead))
    remote_log_line(m, r"%s: to=<alice@peer.test>, relay=mx2\.peer\.test\[%s\]:25, .*status=sent"
                    % (qid, re.escape(pf.ip)))


def test_peer_down_defers_then_delivers_when_back(make_mailbag, peers):
    pf = Postfix("peer.test", ["alice"])
    peers(pf)
    dns = peers(Unbound(["peer.test"], ["peer.test. MX 10 mx.peer.test.", "mx.peer.test. A %s" % pf.ip]).start())
    m = sender_mailbag(make_mailbag, dns)
    _, msg = make_message("down", 1, to="alice@peer.test")
    qid = inject(m, "demo@example.test", ["alice@peer.test"], msg, body_8bit=True)
    # The log says why (Postfix's "connect to host[ip]:port: reason" shape).
    remote_log_line(m, r"%s: to=<alice@peer.test>, relay=none, .*status=deferred \(connect to mx\.peer\.test\[%s\]:25: "
                       r"Connection refused\)" % (qid, re.escape(pf.ip)))
    assert qid in m.queue_files()
    pf.start()
    check_intact(pf.wait_for_messages("alice", 1, timeout=60, check=m.check_alive)[0], msg)
    remote_log_line(m, r"%s: to=<alice@peer.test>, .*status=sent" % qid)
    m.wait_queue_empty()


def parse_report(data):
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    assert msg.get_content_type() == "multipart/report", data[:500]
    assert msg.get_param("report-type") == "delivery-status"
    parts = msg.get_payload()
    status = [p for p in parts if p.get_content_type() == "message/delivery-status"]
    assert status, [p.get_content_type() for p in parts]
    # message/delivery-status: per-message fields, then one block per recipient.
    blocks = status[0].get_payload()
    fields = {}
    for b in blocks:
        for k, v in b.items():
            fields.setdefault(k.lower(), []).append(v)
    return msg, parts, fields


def test_5xx_answer_bounces_to_the_local_sender(make_mailbag, peers):
    pf = peers(Postfix("peer.test", ["alice"]).start())
    dns = peers(Unbound(["peer.test"], ["peer.test. MX 10 mx.peer.test.", "mx.peer.test. A %s" % pf.ip]).start())
    m = sender_mailbag(make_mailbag, dns)
    mid, msg = make_message("bounce", 1, to="nosuch@peer.test")
    qid = inject(m, "demo@example.test", ["nosuch@peer.test", "alice@peer.test"], msg, body_8bit=True)
    pf.wait_for_messages("alice", 1, check=m.check_alive)
    remote_log_line(m, r"%s: to=<nosuch@peer.test>, relay=mx\.peer\.test\[.*status=bounced \(550 5\.1\.1 " % qid)
    paths = m.wait_for_messages("demo@example.test", 1)
    with open(paths[0], "rb") as f:
        data = f.read()
    report, parts, fields = parse_report(data)
    assert [v.strip() for v in fields["final-recipient"]] == ["rfc822; nosuch@peer.test"]
    assert fields["action"] == ["failed"]
    assert fields["status"] == ["5.1.1"]
    diag = fields["diagnostic-code"][0]
    assert diag.startswith("smtp; 550 5.1.1 <nosuch@peer.test>"), diag
    assert "in reply to RCPT TO" in diag
    # The original (or its headers) comes back with the report.
    assert mid.encode() in data


def test_null_mx_bounces_at_once(make_mailbag, peers):
    dns = peers(Unbound(["nullmx.test"], ["nullmx.test. MX 0 ."]).start())
    m = sender_mailbag(make_mailbag, dns)
    _, msg = make_message("nullmx", 1, to="x@nullmx.test")
    qid = inject(m, "demo@example.test", ["x@nullmx.test"], msg, body_8bit=True)
    remote_log_line(m, r"%s: to=<x@nullmx.test>, relay=none, .*status=bounced \(Recipient address has null MX" % qid)
    paths = m.wait_for_messages("demo@example.test", 1)
    with open(paths[0], "rb") as f:
        _, _, fields = parse_report(f.read())
    assert fields["status"] == ["5.1.10"]


def test_unknown_domain_bounces(make_mailbag, peers):
    dns = peers(Unbound(["peer.test"], ["peer.test. MX 10 mx.peer.test."]).start())
    m = sender_mailbag(make_mailbag, dns)
    _, msg = make_message("nxdomain", 1, to="x@nosuch.peer.test")
    qid = inject(m, "demo@example.test", ["x@nosuch.peer.test"], msg, body_8bit=True)
    remote_log_line(m, r"%s: to=<x@nosuch.peer.test>, relay=none, .*status=bounced \(Host or domain name not found"
                    % qid)
    m.wait_for_messages("demo@example.test", 1)


def test_mail_to_ourselves_is_a_loop(make_mailbag, peers):
    m = make_mailbag(start=False)
    dns = peers(Unbound(["loop.test"], ["loop.test. MX 10 mx.loop.test.", "mx.loop.test. A %s" % m.host]).start())
    m.extra_conf.update({"dns_resolver": dns.address, "remote_timeout": "10s"})
    m.start()
    start_remote(m)
    _, msg = make_message("loop", 1, to="x@loop.test")
    qid = inject(m, "demo@example.test", ["x@loop.test"], msg, body_8bit=True)
    remote_log_line(m, r"%s: to=<x@loop.test>, relay=none, .*status=deferred \(mail for loop\.test loops back to "
                       r"myself\)" % qid)


def test_lifetime_expiry_bounces(make_mailbag, peers):
    pf = Postfix("peer.test", ["alice"])
    peers(pf)  # never started: the peer stays down
    dns = peers(Unbound(["peer.test"], ["peer.test. MX 10 mx.peer.test.", "mx.peer.test. A %s" % pf.ip]).start())
    m = sender_mailbag(make_mailbag, dns, queue_lifetime="8s")
    _, msg = make_message("expire", 1, to="alice@peer.test")
    qid = inject(m, "demo@example.test", ["alice@peer.test"], msg, body_8bit=True)
    remote_log_line(m, r"%s: to=<alice@peer.test>, .*status=deferred \(connect to" % qid)
    paths = m.wait_for_messages("demo@example.test", 1, timeout=120)
    with open(paths[0], "rb") as f:
        _, _, fields = parse_report(f.read())
    assert fields["action"] == ["failed"]
    assert fields["status"][0].startswith("4."), fields["status"]  # the last (temporary) reason
    assert "connect to mx.peer.test" in fields["diagnostic-code"][0]
    m.wait_queue_empty()


def test_remote_runs_as_mb_remote_without_privileges(make_mailbag, peers):
    dns = peers(Unbound(["peer.test"], []).start())
    m = sender_mailbag(make_mailbag, dns)
    st = {}
    with open("/proc/%d/status" % m.pid("remote")) as f:
        for line in f:
            k, _, v = line.partition(":")
            st[k] = v.strip()
    uid = harness.uid_of("mb-remote")
    assert st["Uid"].split() == [str(uid)] * 4
    assert st["Groups"].split() in ([], [st["Gid"].split()[0]])  # no shared groups
    assert st["CapEff"] == "0000000000000000"
    assert st["NoNewPrivs"] == "1"
