# The administrator's filtering rules (mailctl(8) "rule", smtpd(8) "Filtering rules"):
# each kind refused with its reply and one log line, an allow rule wins over a reject
# rule, a rule limited to a recipient domain refuses at RCPT, relay_networks clients are
# exempt, and `mailctl rule del` takes effect at once, without restarting smtpd. The
# content rules (checks(8) "Content rules"): a phrase in a base64 body (RFC 2045 6.8) and
# in a Q-encoded Subject (RFC 2047), an attachment at the size limit and one octet over,
# a junk phrase in a quoted-printable body (RFC 2045 6.7) delivered into .Junk.
import base64
import os
import re
import time

import harness
from messages import make_message

DEMO = "demo@example.test"
PASSWORD = "demo-secret"


def strangers(make_mailbag, **conf):
    c = {"relay_networks": "10.0.0.0/8"}  # the 127.x clients are strangers here
    c.update(conf)
    return make_mailbag(users=((DEMO, PASSWORD),), conf=c)


def test_sender_and_client_rules(make_mailbag):
    m = strangers(make_mailbag)
    smtpd_pid = m.procs["smtpd"].pid
    out = m.mailctl("rule", "add", "sender", "@Spam.Example", "reject").stdout
    assert "added rule: sender *@spam.example reject" in out, out
    m.mailctl("rule", "add", "sender", "Friend@spam.example", "allow")
    m.mailctl("rule", "add", "sender", "*@scoped.example", "reject", "example.test")
    m.mailctl("rule", "add", "sender", "*@*.bücher.example", "reject")
    bad = m.mailctl("rule", "add", "sender", "no-at-sign", "reject", check=False)
    assert bad.returncode == 2 and "needs an '@'" in bad.stderr, bad.stderr
    listing = m.mailctl("rule", "list").stdout.splitlines()
    assert "sender *@spam.example reject" in listing and "sender friend@spam.example allow" in listing
    assert "sender *@*.xn--bcher-kva.example reject" in listing, listing

    _, msg = make_message("rules", 1)
    r = m.send(DEMO, msg, mail_from="Someone@SPAM.example")
    assert r.code == 550 and r.text.startswith(b"5.7.1") and b"sender rule" in r.text, r
    assert b"spam.example" not in r.text  # the kind, not the rule
    line = m.wait_for_log("smtpd", r"NOQUEUE: rule: client=\[[0-9.]+\] sender=<Someone@spam.example> "
                                   r"rule=sender-block")
    assert line
    assert m.send(DEMO, msg, mail_from="x@mail.bücher.example", mail_options=("SMTPUTF8",)).code == 550

    # An allow rule wins over the reject rule for the same sender.
    r = m.send(DEMO, msg, mail_from="friend@spam.example")
    assert r.code == 250, r
    m.wait_for_log("smtpd", r"rule: client=\S+ sender=<friend@spam.example> rule=sender-allow")

    # A rule for one recipient domain: MAIL passes, RCPT in that domain is refused.
    r = m.send(DEMO, msg, mail_from="a@scoped.example")
    assert r.code == 550 and r.rcpt_replies[0][0] == 550 and r.rcpt_replies[0][1].startswith(b"5.7.1"), r
    m.wait_for_log("smtpd", r"rule: client=\S+ sender=<a@scoped.example> rule=sender-block rcpt=<demo@")

    # A client network: 554 5.7.1 at MAIL, other clients pass.
    ip = harness.unique_loopback()
    m.mailctl("rule", "add", "client", ip + "/32", "reject")
    s = m.smtp_from(ip)
    code, text = s.mail("ok@example.net")
    assert code == 554 and text.startswith(b"5.7.1") and b"client network rule" in text, (code, text)
    s.quit()
    m.wait_for_log("smtpd", r"NOQUEUE: rule: client=\[%s\] sender=<ok@example.net> rule=client-block"
                   % re.escape(ip))
    assert m.send(DEMO, msg, mail_from="ok@example.net").code == 250

    # del takes effect for the next transaction, with the same smtpd.
    m.mailctl("rule", "del", "sender", "@spam.example")
    assert m.send(DEMO, msg, mail_from="someone@spam.example").code == 250
    m.mailctl("rule", "del", "client", ip, "reject")
    s = m.smtp_from(ip)
    assert s.mail("ok@example.net")[0] == 250
    s.quit()
    r = m.mailctl("rule", "del", "client", ip, check=False)
    assert r.returncode == 2 and "no such rule" in r.stderr, r.stderr
    assert m.procs["smtpd"].pid == smtpd_pid
    m.check_alive()


def test_rules_spare_relay_networks(make_mailbag):
    m = make_mailbag(users=((DEMO, PASSWORD),))  # relay_networks: 127.0.0.0/8 by default
    m.mailctl("rule", "add", "sender", "@spam.example", "reject")
    _, msg = make_message("rules", 2)
    assert m.send(DEMO, msg, mail_from="someone@spam.example").code == 250


def mime_message(tag, subject, parts):
    """A multipart/mixed message; parts: (headers, body) with CRLF line ends."""
    mid = "<%s.%d@test.example.net>" % (tag, int(time.time() * 1000))
    out = ("From: <sender@example.net>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=\"=-b\"\r\n\r\nThis is MIME.\r\n" % (DEMO, subject, mid))
    for headers, body in parts:
        out += "--=-b\r\n" + headers + "\r\n\r\n" + body + "\r\n"
    return mid, (out + "--=-b--\r\n").encode()


def b64(data):
    return base64.encodebytes(data).decode().replace("\n", "\r\n").rstrip("\r\n")


TEXT = "Content-Type: text/plain; charset=utf-8"


def attachment(n):
    return ("Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"a.bin\"\r\n"
            "Content-Transfer-Encoding: base64", b64(os.urandom(n)))


def test_content_rules(make_mailbag):
    m = strangers(make_mailbag)
    m.start_daemon("checks")  # started with mailbag.target; the harness only for checks
    m.mailctl("rule", "add", "word", "Cheap Pills", "reject")
    m.mailctl("rule", "add", "word", "lottery win", "junk")
    out = m.mailctl("rule", "add", "attachment-size", "1000").stdout
    assert "added rule: attachment-size 1000" in out, out
    assert "word 'cheap pills' reject" in m.mailctl("rule", "list").stdout

    # RFC 2045 6.8: the phrase in a base64 body, across a line break.
    _, msg = mime_message("b64", "hello", [(TEXT + "\r\nContent-Transfer-Encoding: base64",
                                            b64(b"Buy CHEAP\r\npills today"))])
    r = m.send(DEMO, msg)
    assert r.code == 550 and r.text.startswith(b"5.7.1") and b"word rule" in r.text, r
    assert b"pills" not in r.text.lower()
    m.wait_for_log("smtpd", r"[0-9A-Za-z]+: rule: client=\S+ sender=<sender@example.net> rule=word-reject \(part 2\)")

    # RFC 2047: the phrase in a quoted-printable encoded word of the Subject.
    _, msg = mime_message("qp", "=?utf-8?Q?Now:_cheap_?=\r\n =?utf-8?Q?pills?=", [(TEXT, "nothing to see")])
    r = m.send(DEMO, msg)
    assert r.code == 550 and r.text.startswith(b"5.7.1"), r
    m.wait_for_log("smtpd", r"rule=word-reject \(subject\)")

    # RFC 2046 4.1.2: a rule written in UTF-8 capitals matches a windows-1252 part
    # (quoted-printable "Pr=E4mie") and a KOI8-R encoded word, after conversion.
    m.mailctl("rule", "add", "word", "GRATIS PR\u00c4MIE", "reject")
    _, msg = mime_message("latin1", "hello", [("Content-Type: text/plain; charset=windows-1252\r\n"
                                               "Content-Transfer-Encoding: quoted-printable",
                                               "Ihre gratis Pr=E4mie wartet")])
    r = m.send(DEMO, msg)
    assert r.code == 550 and r.text.startswith(b"5.7.1"), r
    m.mailctl("rule", "add", "word", "\u0412\u0410\u0428 \u041f\u0420\u0418\u0417", "reject")  # "ВАШ ПРИЗ"
    _, msg = mime_message("koi8", "=?KOI8-R?B?18HbIPDSydo=?=", [(TEXT, "nothing to see")])  # "ваш Приз"
    r = m.send(DEMO, msg)
    assert r.code == 550 and r.text.startswith(b"5.7.1"), r

    # An attachment of exactly the limit passes; one octet more is refused.
    at_limit, msg = mime_message("att", "files", [(TEXT, "see attached"), attachment(1000)])
    r = m.send(DEMO, msg)
    assert r.code == 250, r
    _, msg = mime_message("att", "files", [(TEXT, "see attached"), attachment(1001)])
    r = m.send(DEMO, msg)
    assert r.code == 552 and r.text.startswith(b"5.3.4"), r
    m.wait_for_log("smtpd", r"rule=attachment-size \(part 3: 1001 bytes\)")
    m.find_message(DEMO, at_limit)

    # A junk phrase (quoted-printable, RFC 2045 6.7): accepted, delivered into .Junk.
    junk, msg = mime_message("junk", "news", [(TEXT + "\r\nContent-Transfer-Encoding: quoted-printable",
                                               "You are a lottery=\r\n win=3D ner")])
    r = m.send(DEMO, msg)
    assert r.code == 250, r
    m.wait_for_log("smtpd", r"rule=word-junk")
    jdir = os.path.join(m.maildir(DEMO), ".Junk")
    for _ in range(300):
        found = [p for sub in ("new", "cur") if os.path.isdir(os.path.join(jdir, sub))
                 for p in os.listdir(os.path.join(jdir, sub))
                 if junk.encode() in open(os.path.join(jdir, sub, p), "rb").read()]
        if found:
            break
        time.sleep(0.1)
    assert found, "junk message not in .Junk"

    # Removing the rule takes effect at once.
    m.mailctl("rule", "del", "attachment-size")
    _, msg = mime_message("att", "files", [(TEXT, "see attached"), attachment(1001)])
    assert m.send(DEMO, msg).code == 250
    m.check_alive()
