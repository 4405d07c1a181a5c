# smtpd's milter client against a small filter written for the tests (milter_peer.py):
# the macros and commands a filter gets, every change a filter can make to a delivered
# message (headers, sender, recipients, body), a header with CR/LF refused, and filters
# that are stopped, hang, send a malformed packet or close mid-message: the default action
# (accept or tempfail) applies, the session goes on, and no message is lost (delivered,
# or refused with a 4xx the client will retry). rspamd itself: test_milter_rspamd.py.
import pytest

import milter_peer as mp
from harness import header_values
from harness import unique_loopback
from messages import make_message, msgid

USER = "demo@example.test"
OTHER = "second@example.test"
USERS = ((USER, "demo-secret"), (OTHER, "second-secret"))


def with_milter(make_mailbag, spec, **conf):
    c = {"milters": spec}
    c.update(conf)
    return make_mailbag(users=USERS, conf=c)


def test_macros_commands_and_changes(make_mailbag):
    peer = None
    try:
        peer = mp.TestMilter(unique_loopback(), eom=[
            mp.change_from("<changed@example.net>"),
            mp.add_rcpt("<%s>" % OTHER),
            mp.del_rcpt("<%s>" % USER),
            mp.add_header("X-Added", "yes"),
            mp.insert_header(0, "X-First", "top"),
            mp.change_header(1, "Subject", " changed subject"),
            mp.change_header(1, "X-Remove", ""),  # delete
            mp.change_header(1, "X-Spam-Level", "***"),  # not there: added (as rspamd relies on)
            mp.replace_body(b"replaced body\r\nsecond line\r\n"),
        ])
        m = with_milter(make_mailbag, peer.spec())
        msg = make_message("milter", 1)[1].replace(b"MIME-Version", b"X-Remove: me\r\nMIME-Version")
        sent = m.send(USER, msg)
        assert sent.code == 250, sent
        [path] = m.wait_for_messages(OTHER, 1)
        data = open(path, "rb").read()
        head, _, body = data.partition(b"\n\n")
        assert body == b"replaced body\nsecond line\n"
        assert head.startswith(b"Return-Path: <changed@example.net>")
        assert header_values(data, "X-Added") == ["yes"]
        assert header_values(data, "X-Spam-Level") == ["***"]
        assert header_values(data, "Subject") == ["changed subject"]
        assert header_values(data, "X-Remove") == []
        assert b"X-First: top\n" in head
        assert head.index(b"X-First") < head.index(b"Received:")
        assert m.maildir_messages(USER) == []
        # Every stage, in order, and the macros filters read.
        # The session's own connection (the harness's readiness probe has one too, which
        # may interleave with it).
        codes = [c.replace(b"D", b"") for c in peer.per_connection.values()]  # macros precede commands
        assert any(b"OCHMRTL" in c and b"LNBE" in c for c in codes), codes
        mac = peer.macros
        assert mac["{client_addr}"].startswith("127.")
        assert mac["j"] == m.hostname
        assert mac["{daemon_name}"] == "mx"
        assert mac["{mail_addr}"] == "sender@example.net"
        assert mac["{rcpt_addr}"] == USER
        assert mac["i"] == sent.queue_id
    finally:
        if peer:
            peer.stop()


def test_header_with_crlf_is_refused(make_mailbag):
    peer = mp.TestMilter(unique_loopback(), eom=[mp.add_header("X-Bad", "a\r\nX-Injected: yes"),
                                                 mp.add_header("X-Bare", "b\nX-Injected2: yes")])
    try:
        m = with_milter(make_mailbag, peer.spec(";default_action=accept"))
        sent = m.send(USER, make_message("crlf", 1)[1])
        assert sent.code == 250, sent
        data = m.find_message(USER, msgid("crlf", 1))
        assert b"X-Injected" not in data and b"X-Bad" not in data
        m.wait_for_log("smtpd", r"%s: milter .*changes refused: filter header with a bare (CR|LF)" % sent.queue_id)
        # The same with the default action tempfail: 451, nothing queued.
        m2 = with_milter(make_mailbag, peer.spec())
        sent = m2.send(USER, make_message("crlf", 2)[1])
        assert sent.code == 451, sent
        m2.wait_for_log("smtpd", r"milter .*changes refused.*default action tempfail")
    finally:
        peer.stop()


# (misbehaviour, at which command, per-milter options)
CASES = {
    "stopped": (None, None, ""),
    "hang": ("hang", b"E", ";command_timeout=2s"),
    "hang-body": ("hang", b"B", ";command_timeout=2s"),
    "garbage": ("garbage", b"E", ""),
    "close-mid-message": ("close", b"B", ""),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_filter_default_accept(make_mailbag, case):
    misbehave, at, opts = CASES[case]
    peer = None if case == "stopped" else mp.TestMilter(unique_loopback(), misbehave=misbehave, at=at)
    try:
        spec = mp.dead_spec(unique_loopback()) if peer is None else peer.spec()
        m = with_milter(make_mailbag, spec + opts + ";default_action=accept")
        s = m.smtp()
        s.ehlo()
        first = m.send(USER, make_message("broken-" + case, 1)[1], conn=s)
        assert first.code == 250, first
        # The session goes on: a second message in it is accepted too.
        second = m.send(USER, make_message("broken-" + case, 2)[1], conn=s)
        assert second.code == 250, second
        s.quit()
        m.find_message(USER, msgid("broken-" + case, 1))
        m.find_message(USER, msgid("broken-" + case, 2))
        m.wait_for_log("smtpd", r"milter inet:.*default action accept")
    finally:
        if peer:
            peer.stop()


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_filter_default_tempfail(make_mailbag, case):
    misbehave, at, opts = CASES[case]
    peer = None if case == "stopped" else mp.TestMilter(unique_loopback(), misbehave=misbehave, at=at)
    try:
        spec = mp.dead_spec(unique_loopback()) if peer is None else peer.spec()
        m = with_milter(make_mailbag, spec + opts)
        s = m.smtp()
        s.ehlo()
        sent = m.send(USER, make_message("tempfail-" + case, 1)[1], conn=s)
        assert sent.code == 451, sent
        # The session goes on (later transactions are refused the same way).
        assert s.noop()[0] == 250
        assert s.rset()[0] == 250
        s.quit()
        line = m.wait_for_log("smtpd", r"milter inet:.*default action tempfail")
        assert "milter" in line
        assert m.maildir_messages(USER) == []
        assert m.queue_files() == []
    finally:
        if peer:
            peer.stop()


def test_reject_and_tempfail_replies_at_rcpt(make_mailbag):
    peer = mp.TestMilter(unique_loopback(), verdict=mp.reply_code("554 5.7.1 No thanks"))
    try:
        m = with_milter(make_mailbag, peer.spec())
        sent = m.send(USER, make_message("refused", 1)[1])
        assert sent.code == 554 and b"5.7.1 No thanks" in sent.text, sent
        m.wait_for_log("smtpd", r"milter .*reject at DATA: 554 5.7.1 No thanks")
        assert m.maildir_messages(USER) == []
    finally:
        peer.stop()
