# Delivery status notifications asked for with DSN (RFC 3461) over SMTP, with the real
# daemons, a real Postfix as the remote peer and unbound for its MX: NOTIFY=SUCCESS gets
# a success notice (Action: delivered for a local mailbox; for the Postfix peer, which
# offers DSN, the requests are passed on and Postfix's own notice comes back instead of
# a "relayed" one; a peer without DSN gets "relayed"), NOTIFY=NEVER suppresses the bounce that
# NOTIFY=FAILURE gets, RET=FULL returns the whole message and RET=HDRS its headers,
# NOTIFY=DELAY gets the delay warning and a recipient without DELAY does not, ENVID and
# ORCPT come back as Original-Envelope-Id and Original-Recipient (RFC 3464 2.2.1, 2.3.1),
# and malformed parameters are refused with 501.
import email
import email.policy

import pytest

import harness
import remote_peers
from messages import make_message
from remote_peers import Postfix, Unbound, peers, remote_log_line, sender_mailbag  # noqa: F401

pytestmark = [
    pytest.mark.skipif(not harness.is_root(), reason="needs root: peers listen on 127.x port 25"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.POSTFIX), reason="postfix not installed"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed"),
]

SENDER = "demo@example.test"


def report(data):
    """(message, per-message fields, [per-recipient field dicts]) of a notice."""
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    assert msg.get_content_type() == "multipart/report", data[:400]
    status = [p for p in msg.get_payload() if p.get_content_type() == "message/delivery-status"][0]
    blocks = status.get_payload()
    return msg, dict((k.lower(), v) for k, v in blocks[0].items()), [
        dict((k.lower(), v) for k, v in b.items()) for b in blocks[1:]]


def notices(m, n):
    """The n notices in the sender's mailbox (the other messages there are not reports)."""
    out = []
    for _ in harness.deadline_loop(30, "%d notices for %s" % (n, SENDER)):
        out = []
        for p in m.maildir_messages(SENDER):
            data = open(p, "rb").read()
            if b"report-type=delivery-status" in data:
                out.append(data)
        if len(out) >= n:
            return out


def send(m, rcpts, mail_options=(), tag="dsn"):
    """Sends over SMTP (the MX port, from a relay network); rcpts: [(address, [options])]."""
    mid, msg = make_message(tag, 1, to=rcpts[0][0])
    s = m.smtp()
    s.ehlo("client.example.net")
    assert s.has_extn("dsn")
    code, _ = s.mail(SENDER, list(mail_options))
    assert code == 250
    for addr, opts in rcpts:
        code, text = s.rcpt(addr, list(opts))
        assert code == 250, (addr, code, text)
    code, _ = s.data(msg)
    assert code == 250
    s.quit()
    return mid, msg


def test_notify_success_passed_on_to_a_dsn_peer_with_envid_and_orcpt(make_mailbag, peers):
    # RFC 3461 5.2.1: Postfix offers DSN, so RET, ENVID, NOTIFY and ORCPT go on to it
    # unchanged and its own success notice comes back (Postfix sends it to our MX);
    # Mailbag's notice names only the recipient it delivered itself.
    pf = Postfix("peer.test", ["alice"])
    dns = peers(Unbound(["peer.test"], ["peer.test. MX 10 mx.peer.test.", "mx.peer.test. A %s" % pf.ip]).start())
    m = sender_mailbag(make_mailbag, dns)
    pf.extra["transport_maps"] = "inline:{example.test=smtp:[%s]:%d}" % (m.host, m.port)
    peers(pf.start())
    mid, _ = send(m, [("alice@peer.test", ["NOTIFY=SUCCESS", "ORCPT=rfc822;Alice+2Bx@peer.test"]),
                      (SENDER, ["NOTIFY=SUCCESS,FAILURE"])],
                  mail_options=["RET=HDRS", "ENVID=QQ+2B314159"])
    pf.wait_for_messages("alice", 1, check=m.check_alive)
    m.wait_for_log("queue-manager", r"no success notice for recipients whose next hop took the DSN request on")
    got = {}
    for data in notices(m, 2):
        msg, head, rcpts = report(data)
        assert msg["Subject"] is not None
        assert head["original-envelope-id"] == "QQ+314159"  # ENVID went through unchanged
        got[head["reporting-mta"].split(";")[1].strip()] = rcpts
        assert mid.encode() in data  # RET=HDRS: the headers come back
    ours = got.pop(m.hostname)
    assert [(r["final-recipient"], r["action"]) for r in ours] == [("rfc822; " + SENDER, "delivered")]
    [theirs] = got.values()  # Postfix's report
    assert [r["action"] for r in theirs] == ["delivered"]
    assert theirs[0]["original-recipient"].replace(" ", "") == "rfc822;Alice+x@peer.test"  # ORCPT went on
    m.wait_queue_empty()


def test_notify_success_to_a_peer_without_dsn_is_relayed(make_mailbag, peers):
    # RFC 3461 5.2.2: a server without DSN gets no DSN parameters, and the sender hears
    # "relayed" from us.
    pf = peers(Postfix("peer.test", ["alice"], extra={"smtpd_discard_ehlo_keywords": "dsn"}).start())
    dns = peers(Unbound(["peer.test"], ["peer.test. MX 10 mx.peer.test.", "mx.peer.test. A %s" % pf.ip]).start())
    m = sender_mailbag(make_mailbag, dns)
    send(m, [("alice@peer.test", ["NOTIFY=SUCCESS", "ORCPT=rfc822;Alice+2Bx@peer.test"])], tag="nodsn")
    pf.wait_for_messages("alice", 1, check=m.check_alive)
    m.wait_queue_empty()
    [data] = notices(m, 1)
    _, _, rcpts = report(data)
    assert [(r["action"], r["original-recipient"]) for r in rcpts] == [("relayed", "rfc822; Alice+x@peer.test")]


def test_notify_never_suppresses_and_failure_returns_the_full_message(make_mailbag, peers):
    pf = peers(Postfix("peer.test", ["alice"]).start())
    dns = peers(Unbound(["peer.test"], ["peer.test. MX 10 mx.peer.test.", "mx.peer.test. A %s" % pf.ip]).start())
    m = sender_mailbag(make_mailbag, dns)
    mid, msg = send(m, [("nosuch@peer.test", ["NOTIFY=NEVER"]), ("gone@peer.test", ["NOTIFY=FAILURE"]),
                        ("alice@peer.test", [])], mail_options=["RET=FULL"], tag="never")
    pf.wait_for_messages("alice", 1, check=m.check_alive)
    remote_log_line(m, r"to=<nosuch@peer.test>, .*status=bounced")
    m.wait_queue_empty()
    [data] = notices(m, 1)
    _, _, rcpts = report(data)
    assert [r["final-recipient"] for r in rcpts] == ["rfc822; gone@peer.test"]
    assert rcpts[0]["action"] == "failed"
    # RET=FULL: the whole message, body included, as message/rfc822.
    assert b"Content-Type: message/rfc822" in data
    body_line = msg.split(b"\r\n\r\n", 1)[1].split(b"\r\n")[0]
    assert body_line in data
    m.wait_for_log("queue-manager", r"no non-delivery notice for recipients whose NOTIFY excludes FAILURE")


def test_notify_delay_gets_the_warning_only_where_asked(make_mailbag, peers):
    # The MX answers nothing (no server on its address): the message stays deferred.
    dns = peers(Unbound(["down.test"], ["down.test. MX 10 mx.down.test.", "mx.down.test. A 127.0.0.254"]).start())
    m = sender_mailbag(make_mailbag, dns, delay_warning_time="2s")
    send(m, [("a@down.test", ["NOTIFY=DELAY"]), ("b@down.test", ["NOTIFY=FAILURE"])], tag="delay")
    [data] = notices(m, 1)
    msg, _, rcpts = report(data)
    assert msg["Subject"].startswith("Delayed Mail")
    assert [r["final-recipient"] for r in rcpts] == ["rfc822; a@down.test"]
    assert rcpts[0]["action"] == "delayed"


def test_malformed_dsn_parameters_are_501(mb):
    c = mb.raw()
    assert c.cmd("EHLO client.example.net")[0] == 250
    assert c.cmd("MAIL FROM:<%s> RET=BODY" % SENDER)[0] == 501
    assert c.cmd("MAIL FROM:<%s> ENVID=%s" % (SENDER, "x" * 101))[0] == 501
    assert c.cmd("MAIL FROM:<%s> RET=FULL ENVID=a+2Bb" % SENDER)[0] == 250
    for bad in ("NOTIFY=NEVER,SUCCESS", "NOTIFY=SOMETIMES", "ORCPT=rfc822", "ORCPT=rfc822;a=b",
                "ORCPT=rfc822;" + "a" * 500):
        assert c.cmd("RCPT TO:<%s> %s" % (SENDER, bad))[0] == 501, bad
    assert c.cmd("RCPT TO:<%s> NOTIFY=FAILURE,DELAY ORCPT=rfc822;demo@example.test" % SENDER)[0] == 250
    assert c.cmd("QUIT")[0] == 221
    c.close()
