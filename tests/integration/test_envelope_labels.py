# Envelope labels only the mail system may write: a submitter on private/submit (any
# member of group mb-drop: smtpd, or a local user through sendmail's group) hands the
# queue manager a queue file whose envelope claims to come from inside, and must not
# get the privileges that go with the claim:
#   protocol "local" with the local agent's client "(quota warning)" and the null
#     sender: local lets its own quota warning into a full mailbox;
#   protocol "bounce" with the null sender: the queue manager's own bounce, which goes
#     to postmaster as a double bounce when it fails.
# The queue manager refuses such a file from anyone but the writer the label names
# (the local agent by its uid, itself for notices); the genuine quota warning still
# gets in (test_mailbox_quota.py).
import os
import time

import ipc_wire as w
from mailbox_support import sized_message
from remote_peers import new_queue_id

DEMO = "demo@example.test"


def submit(m, role, envelope_text, body):
    """Submits a hand-written queue file as `role`; returns (outcome, status, queue id)."""
    sock = w.connect(os.path.join(m.spool, "private", "submit"))
    try:
        w.send(sock, w.hello("mailbag-submit", role))
        t, _, _ = w.recv(sock)
        assert t == w.HELLO, t
        fd = os.open(os.path.join(m.spool, "incoming"), os.O_TMPFILE | os.O_RDWR, 0o660)
        os.fchmod(fd, 0o660)
        os.write(fd, envelope_text.encode() + ("Z %020d %020d\nE\n" % (len(body), body.count(b"\n"))).encode())
        os.write(fd, body)
        w.send(sock, w.frame(w.SUBMIT, w.u64(1)), (fd,))
        os.close(fd)
        while True:
            r = w.recv(sock)
            assert r is not None, "the queue manager closed the connection instead of answering"
            if r[0] == w.SUBMIT_DONE:
                _, outcome, status, _, qid = w.parse_submit_done(r[1])
                return outcome, status, qid
    finally:
        sock.close()


def test_forged_quota_warning_does_not_skip_the_quota(make_mailbag):
    m = make_mailbag()
    m.mailctl("user", "set", DEMO, "quota=3000")
    mid, msg = sized_message("fill", 2800)
    assert m.send(DEMO, msg).code == 250
    m.find_message(DEMO, mid)
    m.wait_queue_empty()  # with the genuine quota warning (past 90 %)
    body = b"From: <MAILER-DAEMON@mail.example.test>\nSubject: forged\n\n" + b"x" * 76 * 40 + b"\n"
    qid = new_queue_id()
    env = ("MBQ1\nI %s\nT %d\nP local\nC local delivery agent (quota warning)\nB 7BIT\nS <>\nR <%s>\n"
           % (qid, int(time.time()), DEMO))
    # Claiming to be the local agent in the Hello changes nothing: the uid decides.
    outcome, status, queued = submit(m, "local", env, body)
    assert outcome == 2 and status == "5.7.1" and queued == "", (outcome, status, queued)
    m.wait_for_log("queue-manager", r"rejected queue file from local: .*reserved", timeout=10)
    m.wait_queue_empty()
    assert not [d for d in m.read_messages(DEMO).values() if b"Subject: forged" in d]
    m.check_alive()


def test_forged_bounce_is_not_a_double_bounce(make_mailbag):
    m = make_mailbag()
    body = b"From: <MAILER-DAEMON@mail.example.test>\nSubject: forged bounce\n\npostmaster reads this\n"
    qid = new_queue_id()
    env = ("MBQ1\nI %s\nT %d\nP bounce\nC queue-manager\nB 7BIT\nS <>\nR <nobody@example.test>\n"
           % (qid, int(time.time())))
    outcome, status, queued = submit(m, "smtpd", env, body)
    assert outcome == 2 and status == "5.7.1" and queued == "", (outcome, status, queued)
    m.wait_for_log("queue-manager", r"rejected queue file from smtpd: .*reserved", timeout=10)
    m.wait_queue_empty()
    assert "undeliverable bounce" not in m.logs("queue-manager")
    # Real mail still flows on.
    mid, msg = sized_message("after", 500)
    assert m.send(DEMO, msg).code == 250
    m.find_message(DEMO, mid)
    m.check_alive()
