# Outgoing CHUNKING (RFC 3030 2, 4.2): to a server that offers CHUNKING and PIPELINING the
# remote agent sends the message in pipelined BDAT chunks (one per 64 KB piece of the
# queue file, the last with LAST), with CRLF line ends and without dot stuffing. A
# message of three pieces, full of lines that DATA would have to dot-stuff, arrives byte
# for byte at Postfix (whose verbose log shows the BDAT commands) and at Mailbag's own
# smtpd.
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


def chunky_message(tag, to):
    """About 150 KB: dot lines, a lone "." line and long lines, so that the 64 KB piece
    boundaries fall inside lines of every kind."""
    mid, msg = make_message(tag, 1, to=to)
    head, body = msg.split(b"\r\n\r\n", 1)
    lines = []
    for i in range(3000):
        lines.append(b".dot line %d" % i if i % 3 == 0 else b"x" * (i % 97) + b" line %d" % i)
        if i % 500 == 0:
            lines.append(b".")
    return mid, head + b"\r\n\r\n" + body + b"\r\n".join(lines) + b"\r\n"


def send(m, to, msg):
    s = m.smtp()
    s.sendmail("demo@example.test", [to], msg)
    s.quit()


def test_bdat_to_postfix_byte_exact(make_mailbag, peers):
    pf = peers(Postfix("peer.test", ["alice"], extra={"debug_peer_list": "127.0.0.0/8"}).start())
    dns = peers(Unbound(["peer.test"], ["peer.test. MX 10 mx.peer.test.", "mx.peer.test. A %s" % pf.ip]).start())
    m = sender_mailbag(make_mailbag, dns)
    mid, msg = chunky_message("bdat-postfix", "alice@peer.test")
    send(m, "alice@peer.test", msg)
    [data] = pf.wait_for_messages("alice", 1, check=m.check_alive)
    check_intact(data, msg)
    sizes = [int(n) for n in re.findall(r"< \S+: BDAT (\d+)", pf.log())]
    assert len(sizes) >= 3 and re.search(r"< \S+: BDAT \d+ LAST", pf.log()), sizes
    assert not re.search(r"< \S+: DATA\b", pf.log())
    m.wait_queue_empty()


def test_bdat_to_mailbag_byte_exact(make_mailbag, peers):
    rx = make_mailbag(start=False, users=(("boss@primary.test", "boss-secret"),), domains=("primary.test",))
    rx.hostname = "mx.primary.test"
    rx.start()
    dns = peers(Unbound(["primary.test"], ["primary.test. MX 10 mx.primary.test.",
                                           "mx.primary.test. A %s" % rx.host]).start())
    m = sender_mailbag(make_mailbag, dns)
    mid, msg = chunky_message("bdat-mailbag", "boss@primary.test")
    send(m, "boss@primary.test", msg)
    check_intact(rx.find_message("boss@primary.test", mid, timeout=30), msg)
    m.wait_queue_empty()
