# relay_domain_settings: what a backup MX allows each relay domain -- who may release
# its queue with ETRN (release=), how much of its mail the queue holds (max_queued=),
# and how long it waits for the primary (lifetime=).
import re

import pytest

import harness
import remote_peers
from messages import make_message
from remote_peers import Unbound, inject, peers, remote_log_line, start_remote  # noqa: F401


def etrn(conn, node):
    code, text = conn.docmd("ETRN", node)
    return code, text.decode()


def test_release_networks_decide_who_may_etrn_a_relay_domain(make_mailbag):
    primary_ip = harness.unique_loopback()
    # 127.0.0.1 is in etrn_networks (relay_networks, the default), but primary.test has
    # its own release networks: only its primary's address may start it.
    m = make_mailbag(conf={"relay_domains": "primary.test, other.test",
                           "relay_domain_settings": "primary.test;release=%s/32+192.0.2.0/24" % primary_ip})
    with m.smtp_from("127.0.0.1") as s:
        code, text = etrn(s, "primary.test")
        assert code == 459 and text.startswith("4.7.1 Node primary.test not allowed: client not authorized"), text
        assert etrn(s, "other.test")[0] in (250, 251, 252, 253)  # etrn_networks still rule it
    with m.smtp_from(primary_ip) as s:
        assert etrn(s, "primary.test")[0] in (250, 251, 252, 253)
        code, text = etrn(s, "other.test")  # 127.0.0.0/8 is in etrn_networks
        assert code in (250, 251, 252, 253), text
    logs = m.logs("smtpd")
    assert re.search(r"reject: ETRN primary\.test from \[127\.0\.0\.1\]: 459 4\.7\.1 ", logs), logs[-2000:]
    assert not re.search(r"reject: ETRN primary\.test from \[%s\]" % re.escape(primary_ip), logs)


def test_max_queued_refuses_mail_past_a_relay_domains_share_of_the_queue(make_mailbag):
    # No remote agent runs: what is accepted for the relay domains stays queued.
    m = make_mailbag(conf={"relay_domains": "primary.test, other.test",
                           "relay_domain_settings": "primary.test;max_queued=8K"})
    # Two messages of 5 KB do not fit in 8 KB.
    _, msg1 = make_message("maxq", 1, to="boss@primary.test", size_hint=5000)
    assert len(msg1) > 4500
    assert m.send("boss@primary.test", msg1).code == 250
    _, msg2 = make_message("maxq", 2, to="boss@primary.test", size_hint=5000)
    r = m.send("boss@primary.test", msg2)
    text = r.text.decode() if isinstance(r.text, bytes) else r.text
    assert r.code == 451 and "4.3.1" in text and "primary.test" in text, (r.code, text)
    # Another relay domain, and the same message to it: no limit there.
    _, msg3 = make_message("maxq", 3, to="boss@other.test", size_hint=5000)
    assert m.send("boss@other.test", msg3).code == 250
    assert len(m.queue_files()) == 2
    assert re.search(r"over the relay domain's max_queued", m.logs("queue-manager")), m.logs("queue-manager")[-2000:]


@pytest.mark.skipif(not harness.is_root(), reason="needs root: DNS peers on 127.x")
@pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed")
def test_a_relay_domains_lifetime_expires_its_recipients_only(make_mailbag, peers):
    dead = harness.unique_loopback()
    dns = peers(Unbound(["primary.test", "other.test"],
                        ["primary.test. MX 10 mx.primary.test.", "other.test. MX 10 mx.primary.test.",
                         "mx.primary.test. A %s" % dead]).start())
    m = make_mailbag(conf={"dns_resolver": dns.address, "remote_timeout": "10s",
                           "relay_domains": "primary.test, other.test",
                           "relay_domain_settings": "primary.test;lifetime=3s"})
    start_remote(m)
    _, msg = make_message("lifetime", 1, to="boss@primary.test")
    qid = inject(m, "someone@example.net", ["boss@primary.test", "boss@other.test"], msg, body_8bit=True)
    line = m.wait_for_log("queue-manager", r"%s: to=<boss@primary\.test>, relay=none, .*status=bounced "
                                           r"\(message expired after 0 hours in the queue" % qid, timeout=30)
    assert line
    # The other relay domain keeps the default lifetime: still waiting.
    assert not re.search(r"%s: to=<boss@other\.test>.*status=bounced" % qid, m.logs("queue-manager"))
    assert qid in m.queue_files()
