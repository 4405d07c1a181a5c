# End-to-end tests of mailbox quotas (Maildir++ maildirsize): the per-domain default,
# deferral or bounce at delivery (quota_exceeded), the "mailbox full" state answered at
# RCPT with 452 4.2.2, room made over POP3 (pop3d writes the removal into maildirsize),
# the 90 % warning sent once, and maildirsize agreeing with what is really in the Maildir.
import poplib
import re

import harness
from mailbox_support import maildir_usage, maildirsize, sized_message

DEMO = "demo@example.test"
ALICE = "alice@example.test"
USERS = ((DEMO, "demo-secret"), (ALICE, "alice-secret"))


def pop_delete_all(m, user, password):
    import ssl
    import os
    ctx = ssl.create_default_context(cafile=os.path.join(m.dir, "cert.pem"))
    ctx.check_hostname = False
    c = poplib.POP3(m.host, m.ports["pop3_listen"], timeout=30)
    c.stls(ctx)
    c.user(user)
    c.pass_(password)
    n, _ = c.stat()
    for i in range(1, n + 1):
        c.dele(i)
    c.quit()
    return n


def flag_path(m, user):
    import os
    return os.path.join(m.data, "quota", user)


def test_domain_default_quota_and_maildirsize(make_mailbag):
    m = make_mailbag(users=())
    m.mailctl("domain", "set", "example.test", "quota=15M")
    m.mailctl("user", "add", DEMO, input="pw\n")
    assert "quota        15.0 MiB (15728640 bytes)" in m.mailctl("user", "show", DEMO).stdout
    for n in range(3):
        mid, msg = sized_message("dq%d" % n, 2000 + 500 * n)
        assert m.send(DEMO, msg).code == 250
        m.find_message(DEMO, mid)
    m.wait_queue_empty()
    definition, used, count = maildirsize(m, DEMO)
    assert definition == "15728640S"
    assert (used, count) == maildir_usage(m, DEMO)
    assert count == 3
    out = m.mailctl("user", "show", DEMO).stdout
    assert re.search(r"usage +.*\(%d bytes\) in 3 message\(s\), 0%% \(maildirsize\)" % used, out), out


def test_over_quota_defers_452_at_rcpt_and_room_made_over_pop3(make_mailbag):
    m = make_mailbag(users=USERS)
    m.start_pop3d()
    m.mailctl("user", "set", DEMO, "quota=5000")
    mid_a, a = sized_message("qa", 3000)
    mid_b, b = sized_message("qb", 3500)  # A and B exceed 5000 and its 10 % grace
    assert m.send(DEMO, a).code == 250
    m.find_message(DEMO, mid_a)
    # B does not fit: accepted by smtpd (the mailbox is not full yet), deferred by local.
    assert m.send(DEMO, b).code == 250
    m.wait_for_log("local", r"to=<demo@example.test>, relay=local, .*status=deferred \(4\.2\.2 mailbox full")
    assert len(m.maildir_messages(DEMO)) == 1
    # With a smaller quota the mailbox is full: the next try of B flags it, and smtpd
    # answers 452 4.2.2 at RCPT from then on.
    m.mailctl("user", "set", DEMO, "quota=3000")
    for _ in harness.deadline_loop(30, "the mailbox-full flag"):
        if "full         yes" in m.mailctl("user", "show", DEMO).stdout:
            break
    c = m.smtp()
    c.ehlo()
    c.mail("sender@example.net")
    code, text = c.rcpt(DEMO)
    assert (code, text[:5]) == (452, b"4.2.2"), (code, text)
    assert c.rcpt(ALICE)[0] == 250  # others are not affected
    c.quit()
    # POP3 removes A; pop3d writes "-size -1"; local re-checks its flags (at start, then
    # every minute): the flag goes, smtpd accepts again. (B alone is still too big for
    # 3000 bytes with the grace.)
    assert pop_delete_all(m, DEMO, "demo-secret") == 1
    definition, used, count = maildirsize(m, DEMO)
    assert definition == "3000S" and (used, count) == (0, 0), (definition, used, count)
    m.restart("local")
    for _ in harness.deadline_loop(30, "the mailbox-full flag to go"):
        if "full         no" in m.mailctl("user", "show", DEMO).stdout:
            break
    c = m.smtp()
    c.ehlo()
    c.mail("sender@example.net")
    assert c.rcpt(DEMO)[0] == 250
    c.quit()
    # B is still waiting in the queue; more room and it arrives.
    m.mailctl("user", "set", DEMO, "quota=100K")
    m.find_message(DEMO, mid_b, timeout=60)
    m.wait_queue_empty(timeout=60)
    _, used, count = maildirsize(m, DEMO)
    assert (used, count) == maildir_usage(m, DEMO)


def test_over_quota_bounces_when_configured(make_mailbag):
    m = make_mailbag(users=USERS, conf={"quota_exceeded": "bounce"})
    m.mailctl("user", "set", DEMO, "quota=4000")
    mid_a, a = sized_message("ba", 3000, sender=ALICE)
    mid_b, b = sized_message("bb", 3000, sender=ALICE)
    assert m.send(DEMO, a, mail_from=ALICE).code == 250
    m.find_message(DEMO, mid_a)
    assert m.send(DEMO, b, mail_from=ALICE).code == 250
    for _ in harness.deadline_loop(30, "the 5.2.2 bounce to alice"):
        dsns = [d for d in m.read_messages(ALICE).values() if b"delivery-status" in d]
        if dsns:
            break
    assert b"5.2.2" in dsns[0] and b"mailbox full" in dsns[0]
    assert len(m.maildir_messages(DEMO)) == 1


def test_warning_at_90_percent_is_sent_once(make_mailbag):
    m = make_mailbag(users=USERS)
    m.mailctl("user", "set", DEMO, "quota=10000")
    for n in range(2):
        mid, msg = sized_message("w%d" % n, 3000)
        assert m.send(DEMO, msg).code == 250
        m.find_message(DEMO, mid)
    assert not [d for d in m.read_messages(DEMO).values() if b"MAILER-DAEMON" in d]
    mid, msg = sized_message("w2", 3000)  # about 93 %
    assert m.send(DEMO, msg).code == 250
    m.find_message(DEMO, mid)
    for _ in harness.deadline_loop(30, "the quota warning"):
        warnings = [d for d in m.read_messages(DEMO).values() if b"MAILER-DAEMON@mail.example.test" in d]
        if warnings:
            break
    w = warnings[0]
    assert re.search(rb"\nSubject: Your mailbox is 9\d% full\n", w), w[:600]
    assert b"\nAuto-Submitted: auto-generated\n" in w
    assert w.startswith(b"Return-Path: <>\n")
    # The warning went in although it does not fit (it is the one message that must).
    m.wait_queue_empty()  # its verdict, and so its maildirsize line, is in
    _, used, _ = maildirsize(m, DEMO)
    assert used > 10000
    # More room, still above the mark: no second warning.
    m.mailctl("user", "set", DEMO, "quota=11500")
    mid, msg = sized_message("w3", 400)
    assert m.send(DEMO, msg).code == 250
    m.find_message(DEMO, mid)
    m.wait_queue_empty()
    assert len([d for d in m.read_messages(DEMO).values() if b"MAILER-DAEMON@" in d]) == 1
    assert m.logs("local").count("quota warning for demo@example.test queued") == 1
