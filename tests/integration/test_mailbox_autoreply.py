# End-to-end tests of the auto-reply (vacation message, RFC 3834): the reply goes
# through the queue with a null envelope sender, Auto-Submitted: auto-replied,
# In-Reply-To and References, From the user and To the envelope sender; once per sender
# per interval (remembered across restarts); never to a list message, a null sender,
# an auto-submitted message, or a message that does not name the user; only between the
# start and end dates.
import harness
from harness import header_values
from mailbox_support import sized_message

DEMO = "demo@example.test"
ALICE = "alice@example.test"
BOB = "bob@example.test"


def replies(m, user):
    return [d for d in m.read_messages(user).values() if b"\nAuto-Submitted: auto-replied\n" in d]


def send_to_demo(m, tag, sender, mail_from=None, extra=(), to=DEMO):
    mid, msg = sized_message(tag, 600, to=to, sender=sender, extra_headers=extra)
    r = m.send(DEMO, msg, mail_from=sender if mail_from is None else mail_from)
    assert r.code == 250, r
    m.find_message(DEMO, mid)
    return mid


def wait_no_reply(m, reason):
    """Waits for the local agent's note that it did not answer, then for the queue."""
    m.wait_for_log("local", r"no auto-reply from demo@example\.test: %s" % reason)
    m.wait_queue_empty()


def test_autoreply_once_per_sender_with_rfc3834_headers(make_mailbag):
    m = make_mailbag(users=((DEMO, "a"), (ALICE, "b"), (BOB, "c")))
    m.mailctl("user", "autoreply", DEMO, "on", "--subject", "Out of office",
              "--text-file", "/dev/stdin", input="I am away until Monday.\nAlice covers for me.\n")
    mid = send_to_demo(m, "ar1", ALICE, extra=["References: <earlier@test.example.net>"])
    for _ in harness.deadline_loop(30, "the auto-reply to alice"):
        got = replies(m, ALICE)
        if got:
            break
    r = got[0]
    assert r.startswith(b"Return-Path: <>\n"), r[:200]  # RFC 3834 3.3: null return path
    assert header_values(r, "From") == ["<demo@example.test>"]
    assert header_values(r, "To") == ["<alice@example.test>"]
    assert header_values(r, "Subject") == ["Out of office"]
    assert header_values(r, "In-Reply-To") == [mid]
    assert header_values(r, "References") == ["<earlier@test.example.net> " + mid]
    assert r.endswith(b"\n\nI am away until Monday.\nAlice covers for me.\n")
    # The same sender again: no second reply within the interval, even after a restart.
    m.restart("local")
    send_to_demo(m, "ar2", ALICE)
    wait_no_reply(m, r"<alice@example\.test> already answered within 7 days")
    assert len(replies(m, ALICE)) == 1
    # Another sender gets one; "Auto: subject" when no subject is configured.
    m.mailctl("user", "autoreply", DEMO, "on", "--subject", "")
    send_to_demo(m, "ar3", BOB)
    for _ in harness.deadline_loop(30, "the auto-reply to bob"):
        if replies(m, BOB):
            break
    assert header_values(replies(m, BOB)[0], "Subject") == ["Auto: ar3"]
    assert "autoreply    on" in m.mailctl("user", "show", DEMO).stdout


def test_no_autoreply_to_lists_bots_null_senders_or_bcc(make_mailbag):
    m = make_mailbag(users=((DEMO, "a"), (ALICE, "b")))
    m.mailctl("user", "autoreply", DEMO, "on", "--text", "away")
    send_to_demo(m, "list", ALICE, extra=["List-Id: <team.lists.example.net>"])
    wait_no_reply(m, "mailing list message")
    send_to_demo(m, "bulk", ALICE, extra=["Precedence: bulk"])
    wait_no_reply(m, "Precedence: bulk")
    send_to_demo(m, "auto", ALICE, extra=["Auto-Submitted: auto-generated"])
    wait_no_reply(m, "message is auto-submitted")
    send_to_demo(m, "null", ALICE, mail_from="")
    wait_no_reply(m, "null sender")
    send_to_demo(m, "bcc", ALICE, to="someone-else@example.net")
    wait_no_reply(m, "user not named in To or Cc")
    send_to_demo(m, "daemon", "mailer-daemon@example.net")
    wait_no_reply(m, "sender is a daemon or a list")
    assert replies(m, ALICE) == []
    # Auto-Submitted: no is an ordinary message.
    send_to_demo(m, "plain", ALICE, extra=["Auto-Submitted: no"])
    for _ in harness.deadline_loop(30, "the one auto-reply"):
        if replies(m, ALICE):
            break


def test_autoreply_dates_and_off(make_mailbag):
    m = make_mailbag(users=((DEMO, "a"), (ALICE, "b")))
    m.mailctl("user", "autoreply", DEMO, "on", "--text", "away", "--start", "2099-01-01")
    send_to_demo(m, "early", ALICE)
    wait_no_reply(m, "auto-reply period not started")
    m.mailctl("user", "autoreply", DEMO, "off")
    assert "autoreply    off" in m.mailctl("user", "show", DEMO).stdout
    send_to_demo(m, "off", ALICE)
    m.wait_queue_empty()
    assert replies(m, ALICE) == []
