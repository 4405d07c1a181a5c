# The Junk folder (mailbag(7), local(8)): a message whose queue file carries the server's
# junk verdict (the J record of mailbag-queue(5)) is delivered into the user's Maildir++
# folder .Junk, which a private Dovecot shows over IMAP as the subscribed folder "Junk"
# and our pop3d does not show; a user with junk-folder=no gets it in the inbox; a junk
# header the sender writes changes nothing.
import os
import re
import time

import ipc_wire as w
from remote_peers import new_queue_id
from test_dovecot import Dovecot, dovecot, our_pop3  # noqa: F401 (the fixture)

DEMO = "demo@example.test"
PASSWORD = "demo-secret"


def submit_junk(m, rcpt, subject, junk=True):
    """Hands the queue manager a queue file for `rcpt` with the junk verdict, as smtpd
    writes it after a filter marked the message; returns the Message-ID."""
    mid = "<%s.%d@test.example.net>" % (subject.replace(" ", "-"), int(time.time() * 1000))
    body = ("From: <spammer@spam.example>\nTo: <%s>\nSubject: %s\nMessage-ID: %s\n\nbuy now\n"
            % (rcpt, subject, mid)).encode()
    env = "MBQ1\nI %s\nT %d\nP ESMTP\nB 7BIT\nS <spammer@spam.example>\nR <%s>\nJ %d\n" % (
        new_queue_id(), int(time.time()), rcpt, 1 if junk else 0)
    sock = w.connect(os.path.join(m.spool, "private", "submit"))
    try:
        w.send(sock, w.hello("mailbag-submit", "smtpd"))
        assert w.recv(sock)[0] == w.HELLO
        fd = os.open(os.path.join(m.spool, "incoming"), os.O_TMPFILE | os.O_RDWR, 0o660)
        os.fchmod(fd, 0o660)
        os.write(fd, env.encode() + ("Z %020d %020d\nE\n" % (len(body), body.count(b"\n"))).encode() + body)
        w.send(sock, w.frame(w.SUBMIT, w.u64(1)), (fd,))
        os.close(fd)
        while True:
            r = w.recv(sock)
            assert r is not None
            if r[0] == w.SUBMIT_DONE:
                _, outcome, status, _, qid = w.parse_submit_done(r[1])
                assert outcome == 0 and qid, (outcome, status)
                return mid
    finally:
        sock.close()


def files_in(path):
    out = []
    for sub in ("new", "cur"):
        try:
            out += [os.path.join(path, sub, n) for n in os.listdir(os.path.join(path, sub))]
        except FileNotFoundError:
            pass
    return out


def wait_in(m, path, mid, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for p in files_in(path):
            with open(p, "rb") as f:
                if ("Message-ID: %s" % mid).encode() in f.read():
                    return p
        m.check_alive()
        time.sleep(0.1)
    raise AssertionError("%s not in %s" % (mid, path))


def folder_ids(c, folder):
    typ, data = c.select(folder)
    assert typ == "OK", data
    n = int(data[0])
    if n == 0:
        return set()
    typ, data = c.fetch("1:%d" % n, "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    assert typ == "OK", data
    return {re.search(rb"<[^>]+>", item[1]).group(0).decode() for item in data if isinstance(item, tuple)}


def test_junk_goes_to_the_junk_folder_seen_by_dovecot_not_by_pop3(make_mailbag, dovecot):  # noqa: F811
    m = make_mailbag(users=((DEMO, PASSWORD),))
    m.start_pop3d()
    m.mailctl("user", "set", DEMO, "quota=1M")
    junk = submit_junk(m, DEMO, "junk one")
    clean = submit_junk(m, DEMO, "clean one", junk=False)
    # A header saying spam from the sender is only a header.
    forged = "<forged-spam@test.example.net>"
    msg = ("From: <a@example.net>\nTo: <%s>\nSubject: claims spam\nMessage-ID: %s\nX-Spam: yes\n"
           "X-Spam-Flag: YES\n\nhello\n" % (DEMO, forged)).replace("\n", "\r\n").encode()
    assert m.send(DEMO, msg).code == 250
    jpath = os.path.join(m.maildir(DEMO), ".Junk")
    wait_in(m, jpath, junk)
    m.find_message(DEMO, clean)
    m.find_message(DEMO, forged)
    m.wait_queue_empty()
    assert [p for p in m.maildir_messages(DEMO) if "junk-one" in open(p, "rb").read().decode()] == []
    for d in (jpath, jpath + "/cur", jpath + "/new", jpath + "/tmp"):
        assert os.stat(d).st_mode & 0o7777 == 0o770, d
    assert os.path.exists(os.path.join(jpath, "maildirfolder"))
    with open(os.path.join(m.maildir(DEMO), "subscriptions")) as f:
        assert f.read() == "Junk\n"
    assert "delivered to maildir folder Junk" in m.logs("local")
    # Maildir++: the root's maildirsize counts the folder.
    out = m.mailctl("user", "show", DEMO).stdout
    assert "in 3 message(s)" in out, out

    dc = dovecot(m.host, {DEMO: (PASSWORD, m.maildir(DEMO))})
    c = dc.imap(DEMO, PASSWORD)
    typ, data = c.lsub()
    assert typ == "OK" and any(b'"Junk"' in x or x.endswith(b" Junk") for x in data), data
    assert folder_ids(c, "Junk") == {junk}
    assert folder_ids(c, "INBOX") == {clean, forged}
    c.logout()
    p = our_pop3(m)
    assert p.stat()[0] == 2
    p.quit()


def test_junk_folder_off_delivers_to_the_inbox(make_mailbag):
    m = make_mailbag(users=((DEMO, PASSWORD),))
    out = m.mailctl("user", "set", DEMO, "junk-folder=no").stdout
    assert "junk into the inbox" in out, out
    assert "into the inbox" in m.mailctl("user", "show", DEMO).stdout
    mid = submit_junk(m, DEMO, "junk off")
    m.find_message(DEMO, mid)
    assert not os.path.exists(os.path.join(m.maildir(DEMO), ".Junk"))
    m.mailctl("user", "set", DEMO, "junk-folder=yes")
    mid2 = submit_junk(m, DEMO, "junk on")
    wait_in(m, os.path.join(m.maildir(DEMO), ".Junk"), mid2)
    r = m.mailctl("user", "set", DEMO, "junk-folder=maybe", check=False)
    assert r.returncode != 0 and "not yes or no" in r.stderr
