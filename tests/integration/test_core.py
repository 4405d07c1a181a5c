# End-to-end tests of the receive path: SMTP client -> smtpd -> queue-manager -> local ->
# Maildir, with the real daemons (harness.py). Covers byte-exact delivery, volume,
# PIPELINING, SIZE, recipient policy, SMTP smuggling, STARTTLS, real clients (swaks,
# smtplib) and log correlation by queue id.
import re
import subprocess
import threading
from email.message import EmailMessage

import pytest

import harness
from harness import header_values, message_id
from messages import make_message

USER = "demo@example.test"
SENDER = "sender@example.net"


def check_stored(stored, sent, sender=SENDER, rcpt=USER):
    """The stored file is the sent message (LF line ends) under exactly our trace
    headers: Return-Path first (RFC 5321 4.4), one Delivered-To, one Received."""
    prefix = harness.added_prefix(stored, sent)
    assert stored.startswith(b"Return-Path: <%s>\n" % sender.encode()), stored[:200]
    lines = [ln.lower() for ln in prefix.split(b"\n") if ln and ln[:1] not in (b" ", b"\t")]
    assert sum(ln.startswith(b"return-path:") for ln in lines) == 1, prefix
    assert sum(ln.startswith(b"delivered-to:") for ln in lines) == 1, prefix
    assert sum(ln.startswith(b"received:") for ln in lines) == 1, prefix
    assert header_values(prefix, "Delivered-To") == [rcpt], prefix
    return prefix


def received_with(stored):
    """The protocol keyword of our Received header (RFC 5321 4.4, RFC 3848)."""
    rec = header_values(stored, "Received")
    assert rec, stored[:400]
    m = re.search(r"\bwith (\S+)", rec[0])
    assert m, rec[0]
    return m.group(1).rstrip(";")


def send_sentinel(mb, tag):
    """Sends and waits for a harmless message: once it is delivered, anything submitted
    before it in the same test would have been delivered too (one queue, one agent, and
    the test waits for the queue to drain)."""
    mid, msg = make_message("sentinel-" + tag, 0)
    r = mb.send(USER, msg)
    assert r.code == 250, r
    mb.find_message(USER, mid)
    mb.wait_queue_empty()


def test_one_message_byte_exact(mb):
    mid, msg = make_message("one", 1)
    r = mb.send(USER, msg, mail_options=["BODY=8BITMIME"])
    assert r.code == 250, r
    paths = mb.wait_for_messages(USER, 1)
    assert len(paths) == 1
    data = open(paths[0], "rb").read()
    assert message_id(data) == mid
    prefix = check_stored(data, msg)
    rec = header_values(prefix, "Received")[0]
    assert "by mail.example.test" in rec, rec
    assert "client.example.net" in rec, rec
    # Maildir (maildir(5)): delivered into new/ with a unique name, tmp/ left empty.
    assert "/new/" in paths[0]
    mb.wait_queue_empty()
    assert mb.maildir_messages(USER) == paths


def test_500_messages_byte_exact(mb):
    total, nthreads = 500, 4
    msgs = {}
    for n in range(total):
        mid, msg = make_message("bulk", n)
        msgs[mid] = msg
    order = list(msgs.items())
    results = [None] * total
    errors = []

    def sender(k):
        try:
            s = mb.smtp()
            s.ehlo()
            for i in range(k, total, nthreads):
                results[i] = mb.send(USER, order[i][1], mail_options=["BODY=8BITMIME"], conn=s)
            s.quit()
        except Exception as e:  # reported below, with the thread's index
            errors.append((k, repr(e)))

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    bad = [(order[i][0], r) for i, r in enumerate(results) if r is None or r.code != 250]
    assert not bad, bad[:10]

    mb.wait_for_messages(USER, total, timeout=300)
    mb.wait_queue_empty()
    stored = mb.read_messages(USER)
    assert len(stored) == total
    seen = {}
    for path, data in stored.items():
        mid = message_id(data)
        assert mid in msgs, (path, data[:300])
        assert mid not in seen, "delivered twice: %s (%s, %s)" % (mid, seen[mid], path)
        seen[mid] = path
        check_stored(data, msgs[mid])
    assert len(seen) == total


def test_pipelining(mb):
    # RFC 2920 3.1: MAIL, RCPT and DATA may be sent in one group; the server answers
    # each in order. The second RCPT names an unknown user and fails alone.
    c = mb.raw()
    code, lines = c.cmd("EHLO client.example.net")
    assert code == 250 and "PIPELINING" in [ln.upper() for ln in lines], lines
    c.send(b"MAIL FROM:<sender@example.net>\r\n"
           b"RCPT TO:<demo@example.test>\r\n"
           b"RCPT TO:<nobody@example.test>\r\n"
           b"DATA\r\n")
    codes = [c.reply()[0] for _ in range(4)]
    assert codes == [250, 250, 550, 354], codes
    mid, msg = make_message("pipelined", 1)
    stuffed = re.sub(rb"(?m)^\.", b"..", msg)
    c.send(stuffed + b".\r\nQUIT\r\n")
    code, lines = c.reply()
    assert code == 250, lines
    assert c.reply()[0] == 221
    c.close()
    data = mb.find_message(USER, mid)
    check_stored(data, msg)


def test_size_parameter_refused_with_552(mb):
    limit = 1024 * 1024  # message_size_limit = 1M in the harness
    s = mb.smtp()
    s.ehlo()
    assert s.has_extn("size") and s.esmtp_features["size"] == str(limit), s.esmtp_features
    # RFC 1870 6.1: a declared size over the fixed maximum gets 552 at MAIL.
    code, text = s.mail(SENDER, ["SIZE=%d" % (limit + 1)])
    assert code == 552, (code, text)
    s.rset()
    code, text = s.mail(SENDER, ["SIZE=%d" % (limit // 2)])
    assert code == 250, (code, text)
    s.quit()


def test_oversize_data_refused_with_552(mb):
    # No SIZE parameter; the data itself is too big. RFC 1870 6.3 / RFC 5321 4.5.3.1.10:
    # the server reads to the end of data and then answers 552; nothing is delivered.
    mid = "<oversize-1@test.example.net>"
    line = b"z" * 78 + b"\r\n"
    msg = (b"From: <sender@example.net>\r\nMessage-ID: " + mid.encode() + b"\r\n\r\n"
           + line * (1536 * 1024 // len(line)))
    s = mb.smtp()
    s.ehlo()
    assert s.mail(SENDER)[0] == 250
    assert s.rcpt(USER)[0] == 250
    code, text = s.data(msg)
    assert code == 552, (code, text)
    # The session is still usable after the refusal.
    mid2, msg2 = make_message("after-oversize", 1)
    r = mb.send(USER, msg2, conn=s)
    assert r.code == 250, r
    s.quit()
    mb.find_message(USER, mid2)
    mb.wait_queue_empty()
    assert [message_id(d) for d in mb.read_messages(USER).values()] == [mid2]


def test_unknown_user_550_511(mb):
    s = mb.smtp()
    s.ehlo()
    assert s.mail(SENDER)[0] == 250
    code, text = s.rcpt("nobody@example.test")
    assert code == 550 and b"5.1.1" in text, (code, text)
    s.quit()


@pytest.mark.parametrize("rcpt", [
    "someone@foreign.example",                 # plain relay attempt
    "someone%foreign.example@example.test",    # %-hack (RFC 5321 3.6.1 style tricks)
    "@example.test:someone@foreign.example",   # source route (RFC 5321 C)
    "foreign.example!someone@example.test",    # bang path
])
def test_foreign_domain_refused_554_571(make_mailbag, rcpt):
    # The test client connects from 127.0.0.1; relay_networks (loopback by default, like
    # Postfix's mynetworks) is emptied so that it is treated as any client on the Internet.
    strict = {"relay_networks": ""} if "relay_networks" in harness.config_keys("smtpd") else {}
    mb = make_mailbag(conf=strict)
    # Raw commands: smtplib would rewrite the tricky addresses.
    c = mb.raw()
    assert c.cmd("EHLO client.example.net")[0] == 250
    assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
    code, lines = c.cmd("RCPT TO:<%s>" % rcpt)
    if rcpt == "someone@foreign.example":
        # An unauthenticated client may not relay (RFC 5321 3.6.2): 554 5.7.1.
        assert code == 554 and "5.7.1" in lines[0], (code, lines)
    else:
        # Routing tricks through a local domain are refused one way or another; they
        # must never be accepted for relaying.
        assert 500 <= code <= 559, (code, lines)
    assert c.cmd("QUIT")[0] == 221
    c.close()


SMUGGLE_SEPARATORS = [
    b"\n.\r\n",      # bare LF before the dot (the classic 2023 smuggling)
    b"\r\n.\n",      # bare LF after the dot
    b"\n.\n",        # bare LF on both sides
    b"\r.\r\n",      # bare CR before the dot
    b"\r\n.\r\r\n",  # stray CR after the dot
]


def _sep_id(sep):
    return sep.replace(b"\r", b"CR").replace(b"\n", b"LF").decode()


@pytest.mark.parametrize("sep", SMUGGLE_SEPARATORS, ids=_sep_id)
def test_smuggling_is_not_possible(mb, sep):
    # RFC 5321 4.1.1.4: only CRLF.CRLF ends the data. A server that takes any of these
    # separators for the end would run the smuggled MAIL/RCPT/DATA as a second message.
    outer = "<outer@test.example.net>"
    smuggled = "<smuggled@test.example.net>"
    c = mb.raw()
    assert c.cmd("EHLO client.example.net")[0] == 250
    assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
    assert c.cmd("RCPT TO:<demo@example.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"From: <sender@example.net>\r\nMessage-ID: " + outer.encode() + b"\r\n\r\n"
           b"innocent text" + sep +
           b"MAIL FROM:<admin@example.test>\r\n"
           b"RCPT TO:<demo@example.test>\r\n"
           b"DATA\r\n"
           b"From: <admin@example.test>\r\nMessage-ID: " + smuggled.encode() + b"\r\n\r\n"
           b"smuggled text\r\n"
           b".\r\n"
           b"QUIT\r\n")
    replies = c.replies_until_close()
    c.close()
    codes = [code for code, _ in replies]
    # Exactly one answer to the (single) message, then the answer to QUIT, if the server
    # did not already close the connection after refusing the data.
    assert len([x for x in codes if x != 221]) == 1, replies
    assert codes[0] == 250 or 500 <= codes[0] <= 554, replies
    send_sentinel(mb, "smuggle")
    ids = [message_id(d) for d in mb.read_messages(USER).values()]
    assert smuggled not in ids, ids
    assert ids.count(outer) == (1 if codes[0] == 250 else 0), ids
    if codes[0] == 250:
        data = mb.find_message(USER, outer)
        # The would-be commands stayed inside the one message, as its text.
        assert b"smuggled text" in data and b"MAIL FROM:<admin@example.test>" in data, data


def test_starttls_with_swaks_says_esmtps(mb):
    mid = "<tls-1@test.example.net>"
    r = subprocess.run(
        ["swaks", "--server", "%s:%d" % (mb.host, mb.port), "--tls", "--helo", "client.example.net",
         "--from", SENDER, "--to", USER, "--header", "Message-Id: " + mid,
         "--body", "sent over STARTTLS", "--timeout", "60"],
        capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "STARTTLS" in r.stdout
    data = mb.find_message(USER, mid)
    # RFC 3848: ESMTPS for ESMTP with STARTTLS.
    assert received_with(data) == "ESMTPS", header_values(data, "Received")
    assert b"sent over STARTTLS" in data


def test_starttls_discards_pipelined_commands(mb):
    # RFC 3207 4.2 / CVE-2011-0411: commands sent in the same packet as STARTTLS must be
    # discarded, not executed after the handshake.
    import ssl
    c = mb.raw()
    assert c.cmd("EHLO client.example.net")[0] == 250
    c.send(b"STARTTLS\r\nRSET\r\n")
    code, lines = c.reply()
    assert code == 220, lines
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    tls = ctx.wrap_socket(c.sock, server_hostname="mail.example.test")
    c.sock, c.buf = tls, b""
    # The first reply on the TLS layer must be the one for this EHLO, not for the RSET.
    code, lines = c.cmd("EHLO client.example.net")
    assert code == 250 and lines[0].startswith("mail.example.test"), (code, lines)
    assert "STARTTLS" not in [ln.upper() for ln in lines], lines
    assert c.cmd("QUIT")[0] == 221
    c.close()


def test_swaks_plain(mb):
    mid = "<swaks-1@test.example.net>"
    r = subprocess.run(
        ["swaks", "--server", "%s:%d" % (mb.host, mb.port), "--helo", "client.example.net",
         "--from", SENDER, "--to", USER, "--header", "Message-Id: " + mid,
         "--body", "plain swaks", "--timeout", "60"],
        capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    data = mb.find_message(USER, mid)
    assert received_with(data) == "ESMTP", header_values(data, "Received")
    assert data.startswith(b"Return-Path: <sender@example.net>\n"), data[:200]


def test_python_smtplib_send_message(mb):
    m = EmailMessage()
    m["From"] = "Ünïcode Sender <sender@example.net>"
    m["To"] = USER
    m["Subject"] = "Grüße aus Python"
    m["Message-ID"] = "<smtplib-1@test.example.net>"
    m.set_content("Hallo Welt\n.\nZeile mit Punkt\n" + "ä" * 300 + "\n")
    with mb.smtp() as s:
        refused = s.send_message(m)
    assert refused == {}
    data = mb.find_message(USER, "<smtplib-1@test.example.net>")
    sent = m.as_bytes(policy=m.policy.clone(linesep="\r\n"))
    check_stored(data, sent)


def test_utf8_domain_and_its_a_labels_are_one_domain(make_mailbag):
    # RFC 6531 (SMTPUTF8) with RFC 5891/6530 10.1: "mailctl domain add bücher.test"
    # (and user add anna@bücher.test) store xn--bcher-kva.test, and smtpd takes mail for
    # either spelling into the same mailbox (Python's smtplib sends the UTF-8 envelope
    # once SMTPUTF8 is offered).
    m = make_mailbag(domains=("example.test", "b\u00fccher.test"),
                     users=(("anna@b\u00fccher.test", "anna-secret"),))
    assert "xn--bcher-kva.test" in m.mailctl("domain", "list").stdout.split()
    _, utf8_msg = make_message("idn", 1, to="anna@xn--bcher-kva.test")
    _, ascii_msg = make_message("idn", 2, to="anna@xn--bcher-kva.test")
    with m.smtp() as s:
        assert s.sendmail("j\u00f6rg@example.net", ["anna@b\u00fccher.test"], utf8_msg,
                          mail_options=["SMTPUTF8"]) == {}
        assert s.sendmail("x@example.net", ["Anna@XN--BCHER-KVA.test"], ascii_msg) == {}
    paths = m.wait_for_messages("anna@xn--bcher-kva.test", 2)
    delivered = [header_values(open(p, "rb").read(), "Delivered-To") for p in paths]
    assert delivered == [["anna@xn--bcher-kva.test"]] * 2, delivered


def test_smtputf8_sender_keeps_its_spelling(make_mailbag):
    # RFC 6531 3.7: the SMTPUTF8 envelope sender goes into Return-Path (and the logs) as
    # the client spelt it, U-labels and all, never as "local@xn--..." (a mixed form no RFC
    # allows); its A-label form is only for lookups (smtplib sends the UTF-8 envelope
    # once SMTPUTF8 is offered).
    m = make_mailbag()
    senders = ["j\u00f6rg@b\u00e4r.example", "anna@b\u00e4r.example"]
    with m.smtp() as s:
        for i, sender in enumerate(senders):
            _, msg = make_message("utf8-from", i)
            assert s.sendmail(sender, [USER], msg, mail_options=["SMTPUTF8"]) == {}
    paths = m.wait_for_messages(USER, 2)
    got = sorted(header_values(open(p, "rb").read(), "Return-Path")[0] for p in paths)
    assert got == sorted("<%s>" % x for x in senders), got
    logs = m.logs("smtpd")
    assert "xn--br-via" not in logs
    assert re.search(r"from=<anna@b\\xc3\\xa4r\.example>", logs), logs[-2000:]


def test_log_lines_carry_queue_id(mb):
    sender = "trace-me@example.net"
    mid, msg = make_message("logs", 1)
    r = mb.send(USER, msg, mail_from=sender)
    assert r.code == 250, r
    mb.find_message(USER, mid)
    # smtpd names the message it accepted by its queue id, with the sender on the line.
    line = mb.wait_for_log("smtpd", r"from=<%s>" % re.escape(sender))
    m = re.search(r"\]: (?:\w+: )?([0-9A-F]{16}): ", line)
    assert m, "smtpd's line does not start with a queue id: " + line
    qid = m.group(1)
    # Every daemon that handled the message has a line starting with that id.
    starts = re.compile(r"\]: (?:\w+: )?%s: " % qid)
    for name in ("smtpd", "queue-manager", "local"):
        mb.wait_for_log(name, starts.pattern)
    # The delivery itself is logged (status=sent) by the agent or the queue manager.
    logs = mb.logs("local") + mb.logs("queue-manager")
    assert re.search(r"%s: to=<%s>.*status=sent" % (qid, re.escape(USER)), logs), logs[-3000:]


def test_250_reply_names_queue_id(mb):
    # Like Postfix's "250 2.0.0 Ok: queued as ID": the client's log then leads straight
    # to ours. The id in the reply is the one in our logs.
    sender = "reply-id@example.net"
    mid, msg = make_message("reply-id", 1)
    r = mb.send(USER, msg, mail_from=sender)
    assert r.code == 250, r
    assert r.queue_id, r
    line = mb.wait_for_log("smtpd", r"from=<%s>" % re.escape(sender))
    assert r.queue_id in line, (r, line)
