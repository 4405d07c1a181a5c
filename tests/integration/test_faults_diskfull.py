# Disk full (fault injection): the spool, then the Maildirs, on a small tmpfs of
# their own that the test fills up (root only; each tmpfs is unmounted after the test,
# pass or fail).
#   - spool full: smtpd answers 452 4.3.1 (RFC 3463 3.4: "mail system full"; RFC 5321
#     4.2.5: 452 is a transient "insufficient system storage"), nothing acknowledged
#     before is lost, and mail flows again as soon as space is freed;
#   - Maildir file system full: local defers with 4.3.1 (never a bounce), the message
#     stays queued, and it is delivered once space is freed.
import errno
import grp
import os
import re

import pytest

import harness
from faults_support import fill, status_of, tmpfs  # noqa: F401
from messages import make_message

pytestmark = pytest.mark.skipif(not harness.is_root(), reason="needs root: mounts a tmpfs")

USER = "demo@example.test"


def test_spool_full_gives_452_and_loses_nothing(make_mailbag, tmpfs):
    m = make_mailbag(start=False)
    tmpfs(m.spool, "4m", mode="0755")
    m.start()
    m.kill("local")  # what gets 250 stays in the queue, on the full file system
    acked = []
    for n in range(3):
        mid, msg = make_message("before-full", n)
        r = m.send(USER, msg)
        assert r.code == 250, r
        acked.append(mid)

    filler = fill(m.spool)
    small = make_message("full", 1)[1]
    big = make_message("full", 2, size_hint=200_000)[1]  # written while it is received
    for msg in (small, big):
        r = m.send(USER, msg)
        assert status_of(r) == (452, "4.3.1"), r
    # The session stays usable after the refusal: RSET and a second try on one connection.
    s = m.smtp()
    s.ehlo()
    r = m.send(USER, small, conn=s)
    assert r.code == 452, r
    assert s.noop()[0] == 250
    s.quit()
    assert re.search(r"insufficient system storage|No space left", m.logs("smtpd")), m.logs("smtpd")
    assert m.alive("smtpd") and m.alive("queue-manager")

    os.unlink(filler)
    mid, msg = make_message("after-full", 1)
    r = m.send(USER, msg)
    assert r.code == 250, r
    acked.append(mid)
    m.start_daemon("local")
    for mid in acked:
        m.find_message(USER, mid)
    m.wait_queue_empty()
    assert len(m.maildir_messages(USER)) == len(acked)


def test_no_inode_left_in_the_spool_gives_452(make_mailbag, tmpfs):
    # Blocks are free but the inode table is full: the queue file cannot even be created
    # (O_TMPFILE fails with ENOSPC at DATA). Nothing is left behind, and mail flows once
    # inodes are free again.
    m = make_mailbag(start=False)
    tmpfs(m.spool, "4m", mode="0755", nr_inodes="64")
    m.start()
    fillers = []
    d = os.path.join(m.spool, "fill")
    os.makedirs(d)
    try:
        for i in range(1000):
            p = os.path.join(d, str(i))
            open(p, "w").close()
            fillers.append(p)
    except OSError as e:
        assert e.errno == errno.ENOSPC, e
    r = m.send(USER, make_message("inodes", 1)[1])
    assert status_of(r) == (452, "4.3.1"), r
    assert not m.queue_files()
    for p in fillers:
        os.unlink(p)
    mid, msg = make_message("inodes", 2)
    assert m.send(USER, msg).code == 250
    m.find_message(USER, mid)


def test_maildir_full_defers_and_delivers_later(make_mailbag, tmpfs):
    m = make_mailbag(start=False)
    tmpfs(m.mail, "1m", mode="0770", uid=harness.uid_of("mb-vmail"),
          gid=grp.getgrnam("mb-mail").gr_gid)
    m.start()
    first, msg = make_message("maildir-full", 0)
    assert m.send(USER, msg).code == 250
    m.find_message(USER, first)  # the Maildir exists now

    filler = fill(m.mail)
    waiting = []
    for n in range(1, 4):
        mid, msg = make_message("maildir-full", n, size_hint=20_000)
        r = m.send(USER, msg)
        assert r.code == 250, r
        waiting.append((mid, r.queue_id))
    for _, qid in waiting:
        m.wait_for_log("local", r"%s: to=<%s>, relay=local, .*status=deferred \(4\.3\.1 " % (qid, re.escape(USER)))
    # Deferred, not bounced: the messages are still queued and nobody got a notice.
    assert sorted(m.queue_files()) == sorted(q for _, q in waiting)
    for name in ("local", "queue-manager"):
        assert "status=bounced" not in m.logs(name), m.logs(name)
    assert len(m.maildir_messages(USER)) == 1
    m.check_alive()

    os.unlink(filler)
    for mid, _ in waiting:
        m.find_message(USER, mid, timeout=30)
    m.wait_queue_empty()
    assert len(m.maildir_messages(USER)) == 4
    # Nothing half-written was left in tmp/ by the failed attempts.
    assert os.listdir(os.path.join(m.maildir(USER), "tmp")) == []
