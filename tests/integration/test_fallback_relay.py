# fallback_relay: mail that cannot be delivered directly for a temporary reason is handed
# to the fallback servers in order (the LAN gateway of a small office's mail server);
# a permanent refusal by the destination is final and never goes there.
# Port 25 needs root: without it these tests are skipped.
import re

import pytest

import harness
import remote_peers
from messages import make_message
from remote_peers import Postfix, Unbound, check_intact, inject, peers, remote_log_line, sender_mailbag  # noqa: F401

pytestmark = [
    pytest.mark.skipif(not harness.is_root(), reason="needs root: peers listen on 127.x port 25"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.POSTFIX), reason="postfix not installed"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed"),
]


def test_mx_down_the_second_fallback_takes_the_mail(make_mailbag, peers):
    mx_ip = harness.unique_loopback()        # nothing listens: connection refused
    dead_fallback = harness.unique_loopback()  # nor here
    gateway = peers(Postfix("dest.test", ["bob"]).start())
    dns = peers(Unbound(["dest.test"], ["dest.test. MX 10 mx.dest.test.", "mx.dest.test. A %s" % mx_ip]).start())
    m = sender_mailbag(make_mailbag, dns, fallback_relay="[%s]:25, [%s]" % (dead_fallback, gateway.ip))
    mid, msg = make_message("fallback", 1, to="bob@dest.test")
    qid = inject(m, "alice@example.test", ["bob@dest.test"], msg, body_8bit=True)
    got = gateway.wait_for_messages("bob", 1, check=m.check_alive)
    check_intact(got[0], msg)
    log = m.logs("remote")
    # One line per handover, with the queue id and the reason; then the delivery.
    assert re.search(r"%s: to=<bob@dest\.test>, handed to fallback relay %s:25: connect to "
                     r"mx\.dest\.test\[%s\]:25: Connection refused" % (qid, re.escape(dead_fallback),
                                                                       re.escape(mx_ip)), log), log
    assert re.search(r"%s: to=<bob@dest\.test>, handed to fallback relay %s:25: " % (qid, re.escape(gateway.ip)),
                     log), log
    remote_log_line(m, r"%s: to=<bob@dest\.test>, relay=\[%s\]:25, .*status=sent" % (qid, re.escape(gateway.ip)))
    m.wait_queue_empty()


def test_a_permanent_refusal_is_final_and_no_fallback_is_asked(make_mailbag, peers):
    mx = peers(Postfix("dest.test", ["bob"]).start())
    gateway = peers(Postfix("dest.test", ["nobody", "bob"]).start())
    dns = peers(Unbound(["dest.test"], ["dest.test. MX 10 mx.dest.test.", "mx.dest.test. A %s" % mx.ip]).start())
    m = sender_mailbag(make_mailbag, dns, fallback_relay="[%s]" % gateway.ip)
    _, msg = make_message("fallback-perm", 1, to="nobody@dest.test")
    qid = inject(m, "alice@example.test", ["nobody@dest.test"], msg, body_8bit=True)
    remote_log_line(m, r"%s: to=<nobody@dest\.test>, relay=mx\.dest\.test\[%s\]:25, .*status=bounced"
                    % (qid, re.escape(mx.ip)))
    assert "fallback" not in m.logs("remote")
    assert gateway.maildir_messages("nobody") == []


def test_all_fallbacks_down_the_mail_waits_with_both_reasons(make_mailbag, peers):
    mx_ip = harness.unique_loopback()
    fallback = harness.unique_loopback()
    dns = peers(Unbound(["dest.test"], ["dest.test. MX 10 mx.dest.test.", "mx.dest.test. A %s" % mx_ip]).start())
    m = sender_mailbag(make_mailbag, dns, fallback_relay="[%s]" % fallback)
    _, msg = make_message("fallback-down", 1, to="bob@dest.test")
    qid = inject(m, "alice@example.test", ["bob@dest.test"], msg, body_8bit=True)
    remote_log_line(m, r"%s: to=<bob@dest\.test>, relay=none, .*status=deferred \(connect to mx\.dest\.test\[%s\]"
                       r":25: Connection refused; fallback relay: connect to \[%s\]:25: Connection refused\)"
                    % (qid, re.escape(mx_ip), re.escape(fallback)))
    assert len(m.queue_files()) == 1
