# Crash recovery of outgoing mail: 5 SMTP clients relay 600 messages (from the loopback
# network, which may relay) through smtpd to a real Postfix peer (tests/integration/
# remote_peers.py) while the remote delivery agent, the queue manager and smtpd are killed
# in turn with SIGKILL at random points of the load and restarted. Afterwards:
#   - every attempt that got 250 is in the peer's Maildir, byte for byte;
#   - nothing the peer holds is partial or unknown;
#   - a message may arrive twice only through the documented window (man queue-manager 8,
#     DURABILITY): the peer accepted it, but the agent or the queue manager died before
#     the delivery was recorded, so the queue manager delivers it again. So every extra
#     copy must belong to a kill of remote or the queue manager: its first copy reached
#     the peer within a few seconds of such a kill (Postfix writes the Maildir file a
#     moment after it accepted the message), and no message arrives more often than once
#     plus the number of such kills. (local closes this window itself: it finds the
#     queue id in the Maildir; an SMTP peer offers no such check.)
import os

import pytest

import harness
import remote_peers
from crashload import Load, run_with_kills
from harness import message_id
from remote_peers import Postfix, Unbound, check_intact, peers, sender_mailbag  # noqa: F401

pytestmark = [
    pytest.mark.skipif(not harness.is_root(), reason="needs root: the peer listens on 127.x port 25"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.POSTFIX), reason="postfix not installed"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed"),
]

TOTAL = 600
KILLS = 6
VICTIMS = ("remote", "queue-manager", "smtpd")
NEAR_KILL = 3.0  # seconds between a kill and the first copy of a message it duplicated


def peer_copies(pf):
    """[(Message-ID, bytes, mtime)] of every message in alice's Maildir at the peer."""
    out = []
    base = os.path.join(pf.dir, "vmail", pf.domain, "alice")
    for sub in ("new", "cur"):
        d = os.path.join(base, sub)
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            continue
        for n in names:
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                data = f.read()
            out.append((message_id(data), data, os.stat(p).st_mtime))
    return out


def test_kill9_remote_queue_manager_and_smtpd_during_outgoing_load(make_mailbag, peers):
    pf = peers(Postfix("peer.test", ["alice"]).start())
    dns = peers(Unbound(["peer.test"], ["peer.test. MX 10 mx.peer.test.",
                                        "mx.peer.test. A %s" % pf.ip]).start())
    m = sender_mailbag(make_mailbag, dns, remote_destination_concurrency="4")
    load = Load(m, to="alice@peer.test", total=TOTAL)

    kills = run_with_kills(m, load, VICTIMS, KILLS)
    acked = {mid for mid, st in load.attempts.items() if st == "acked"}

    for _ in harness.deadline_loop(
            180, lambda: "acknowledged messages at the peer (missing %d; our queue: %d files)"
            % (len(acked - {c[0] for c in peer_copies(pf)}), len(m.queue_files()))):
        if acked <= {c[0] for c in peer_copies(pf)}:
            break
        m.check_alive()
    m.wait_queue_empty(timeout=120)
    # Postfix stores what it accepted a moment later: wait until its count stands still.
    last, still = -1, 0
    for _ in harness.deadline_loop(30, "the peer's Maildir to settle", 0.2, 0.2):
        n = len(peer_copies(pf))
        still = still + 1 if n == last else 0
        last = n
        if still >= 5:
            break

    copies = {}
    for mid, data, mtime in peer_copies(pf):
        assert mid in load.sent, "unknown or partial message at the peer: %r" % data[:300]
        check_intact(data, load.sent[mid])
        copies.setdefault(mid, []).append(mtime)
    assert not acked - set(copies), "acknowledged but lost: %s" % sorted(acked - set(copies))[:20]
    recorders = [t for _, v, t in kills if v in ("remote", "queue-manager")]
    dups = {mid: sorted(t) for mid, t in copies.items() if len(t) > 1}
    print("kills (after N acked, victim):", [k[:2] for k in kills])
    print("delivered twice (the window between delivery and its record):", sorted(dups))
    for mid, times in dups.items():
        assert len(times) <= 1 + len(recorders), (mid, times, kills)
        assert any(abs(times[0] - t) <= NEAR_KILL for t in recorders), \
            "%s delivered %d times, first copy at %.2f, not near a kill of remote or the queue " \
            "manager %s" % (mid, len(times), times[0], recorders)
