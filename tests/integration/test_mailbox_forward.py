# Forwarding to another domain, end to end over the network: a user's redirection (and
# an alias with a remote target) goes out through `remote` to a real Postfix, with the
# envelope sender rewritten by SRS so that SPF at the destination checks our domain, not
# the original sender's; when the destination refuses it, the bounce comes back to the
# SRS address, and the local agent sends it on to the original sender (another real
# Postfix), with the null sender. DNS from a real unbound. Needs root (port 25).
import re

import pytest

import harness
import remote_peers
from messages import make_message
from remote_peers import Postfix, Unbound, check_intact, peers, sender_mailbag  # noqa: F401

pytestmark = [
    pytest.mark.skipif(not harness.is_root(), reason="needs root: peers listen on 127.x port 25"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.POSTFIX), reason="postfix not installed"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed"),
]

DEMO = "demo@example.test"


def test_forward_with_srs_and_the_bounce_back_to_the_original_sender(make_mailbag, peers):
    far = peers(Postfix("far.example", ["carol"]).start())
    origin = peers(Postfix("origin.example", ["sender"]).start())
    dns = peers(Unbound(["far.example", "origin.example"], [
        "far.example. MX 10 mx.far.example.", "mx.far.example. A %s" % far.ip,
        "origin.example. MX 10 mx.origin.example.", "mx.origin.example. A %s" % origin.ip]).start())
    m = sender_mailbag(make_mailbag, dns)
    m.mailctl("user", "set", DEMO, "forward=carol@far.example")
    m.mailctl("alias", "add", "sales@example.test", "carol@far.example", "nobody@far.example")

    mid, msg = make_message("fwd", 1)
    assert m.send(DEMO, msg, mail_from="sender@origin.example").code == 250
    m.find_message(DEMO, mid)  # a copy is kept by default
    got = far.wait_for_messages("carol", 1, check=m.check_alive)[0]
    check_intact(got, msg)
    rp = re.match(rb"Return-Path: <([^>]+)>\n", got)
    assert rp and re.fullmatch(rb"SRS0=[A-Z2-7]{6}=[A-Z2-7]{2}=origin\.example=sender@example\.test", rp.group(1)), got[:300]
    assert b"\nDelivered-To: demo@example.test\n" in got

    # The alias: carol gets it, nobody@far.example is refused by Postfix (550 5.1.1); our
    # bounce goes to the SRS address, comes back to us and on to sender@origin.example.
    mid2, msg2 = make_message("fwd", 2, to="sales@example.test")
    assert m.send("sales@example.test", msg2, mail_from="sender@origin.example").code == 250
    far.wait_for_messages("carol", 2, check=m.check_alive)
    back = origin.wait_for_messages("sender", 1, timeout=60, check=m.check_alive)[0]
    assert back.startswith(b"Return-Path: <>\n"), back[:200]
    assert b"nobody@far.example" in back and b"5.1.1" in back
    assert mid2.encode() in back  # the returned headers name the original message
    m.wait_for_log("local", r"to=<SRS0=[^>]+@example\.test>, relay=local, .*status=sent \(forwarded as")
