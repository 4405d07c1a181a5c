# End-to-end tests of what a small-business mail server promises its administrator:
# virtual domains with the same user name in two domains, aliases (local and remote
# targets, fan-out), domain aliases, postmaster@/abuse@ of every domain, catch-all,
# subaddressing, redirection with and without a local copy, SRS for forwards to other
# domains and the way back, mail loops (alias loop, our own Delivered-To, too many
# Received fields), per-domain limits, and mailctl's view of it all. Real daemons
# (harness.py), mail sent over SMTP.
import os
import re
import time

import pytest

import harness
from harness import header_values, message_id
from mailbox_support import put_alias_raw, queued_envelopes, sized_message, wait_for_queued
from messages import make_message

DEMO = "demo@example.test"


def users(*names):
    return tuple((n, "pw-" + n.split("@")[0]) for n in names)


def delivered_to(data):
    return header_values(data, "Delivered-To")


def dsn_for(m, user, status, timeout=30):
    """Waits for a delivery status notification in `user`'s Maildir that mentions
    `status`; returns its bytes."""
    for _ in harness.deadline_loop(timeout, "a bounce with %s for %s" % (status, user)):
        for data in m.read_messages(user).values():
            if b"delivery-status" in data and status.encode() in data:
                return data
        m.check_alive()


def test_same_user_name_in_two_domains(make_mailbag):
    m = make_mailbag(users=users("bob@first.test", "bob@second.test"), domains=("first.test", "second.test"))
    mid1, msg1 = make_message("two-domains", 1, to="bob@first.test")
    mid2, msg2 = make_message("two-domains", 2, to="bob@second.test")
    assert m.send("bob@first.test", msg1).code == 250
    assert m.send("BOB@Second.Test", msg2).code == 250
    a = m.find_message("bob@first.test", mid1)
    b = m.find_message("bob@second.test", mid2)
    assert delivered_to(a) == ["bob@first.test"]
    assert delivered_to(b) == ["bob@second.test"]
    assert m.maildir("bob@first.test") != m.maildir("bob@second.test")
    assert len(m.maildir_messages("bob@first.test")) == 1
    assert len(m.maildir_messages("bob@second.test")) == 1


def test_alias_fans_out_each_user_once(make_mailbag):
    m = make_mailbag(users=users(DEMO, "alice@example.test", "bob@example.test"))
    m.mailctl("alias", "add", "team@example.test", "alice@example.test", "bob@example.test")
    m.mailctl("alias", "add", "all@example.test", "team@example.test", "demo@example.test", "alice@example.test")
    mid, msg = make_message("fanout", 1, to="all@example.test")
    r = m.send(["all@example.test", "team@example.test"], msg)
    assert r.code == 250, r
    m.find_message("alice@example.test", mid)
    m.find_message("bob@example.test", mid)
    m.find_message(DEMO, mid)
    m.wait_queue_empty()
    # alice is reached through both recipients (each a queue entry of its own) and
    # twice within all@: one copy per recipient address, not per path.
    assert len(m.maildir_messages("alice@example.test")) == 2
    assert len(m.maildir_messages("bob@example.test")) == 2
    assert len(m.maildir_messages(DEMO)) == 1
    for data in m.read_messages("bob@example.test").values():
        dt = delivered_to(data)
        assert dt[0] == "bob@example.test" and dt[-1] in ("all@example.test", "team@example.test"), dt
    out = m.mailctl("alias", "list", "example.test").stdout
    assert "team@example.test -> alice@example.test, bob@example.test\n" in out


def test_domain_alias_postmaster_abuse_and_subaddress(make_mailbag):
    m = make_mailbag(users=users(DEMO, "admin@example.test"), conf={"postmaster_address": "admin@example.test"})
    m.mailctl("domain", "alias", "example.org", "example.test")
    assert "example.org\talias of example.test\n" in m.mailctl("domain", "list").stdout
    sent = {}
    for n, rcpt in enumerate(["demo@example.org", "Demo+Lists@example.test", "postmaster@example.test",
                              "abuse@example.org", "postmaster@example.org"]):
        mid, msg = make_message("map", n, to=rcpt)
        r = m.send(rcpt, msg)
        assert r.code == 250, (rcpt, r)
        sent[rcpt] = mid
    assert delivered_to(m.find_message(DEMO, sent["demo@example.org"])) == [DEMO]
    assert delivered_to(m.find_message(DEMO, sent["Demo+Lists@example.test"])) == [DEMO]
    for rcpt in ("postmaster@example.test", "abuse@example.org", "postmaster@example.org"):
        m.find_message("admin@example.test", sent[rcpt])
    # Unknown local parts of the alias domain are refused like those of its target.
    r = m.send("nobody@example.org", make_message("map", 9)[1])
    assert r.code == 550 and r.rcpt_replies[0][0] == 550, r


def test_postmaster_at_hostname_and_bare_postmaster_are_delivered(make_mailbag):
    # The hostname (mail.example.test) is no domain of ours: RCPT accepts
    # postmaster@<hostname> and <Postmaster> (RFC 5321 4.5.1), so the queue manager must
    # hand them to the local agent, which delivers them to postmaster_address.
    m = make_mailbag(users=users(DEMO, "admin@example.test"), conf={"postmaster_address": "admin@example.test"})
    sent = {}
    for n, rcpt in enumerate(["postmaster@" + m.hostname, "Postmaster"]):
        mid, msg = make_message("postmaster-host", n, to=rcpt if "@" in rcpt else "postmaster@" + m.hostname)
        r = m.send(rcpt, msg, mail_from="stranger@far.example")
        assert r.code == 250, (rcpt, r)
        sent[rcpt] = mid
    for rcpt, mid in sent.items():
        m.find_message("admin@example.test", mid)
    m.wait_queue_empty()
    assert len(m.maildir_messages("admin@example.test")) == 2


def test_catchall(make_mailbag):
    m = make_mailbag(users=users(DEMO))
    mid, msg = make_message("catchall", 1, to="info@example.test")
    r = m.send("info@example.test", msg)
    assert r.code == 550, r
    out = m.mailctl("domain", "set", "example.test", "catchall=demo@example.test").stdout
    assert "catch-all demo@example.test" in out
    r = m.send("info@example.test", msg)
    assert r.code == 250, r
    data = m.find_message(DEMO, mid)
    assert delivered_to(data) == [DEMO]
    assert "@example.test (catch-all)" in m.mailctl("user", "show", DEMO).stdout
    m.mailctl("domain", "set", "example.test", "catchall=none")
    assert m.send("info@example.test", msg).code == 550


def test_redirect_to_a_local_user_without_copy(make_mailbag):
    m = make_mailbag(users=users(DEMO, "alice@example.test"))
    out = m.mailctl("user", "set", "alice@example.test", "forward=demo@example.test", "keep-copy=no").stdout
    assert "forward demo@example.test (no copy kept)" in out
    mid, msg = make_message("redirect", 1, to="alice@example.test")
    assert m.send("alice@example.test", msg).code == 250
    data = m.find_message(DEMO, mid)
    assert delivered_to(data) == [DEMO, "alice@example.test"]
    m.wait_queue_empty()
    assert m.maildir_messages("alice@example.test") == []
    # A loop without a copy anywhere is refused, and nothing changes.
    r = m.mailctl("user", "set", DEMO, "forward=alice@example.test", "keep-copy=no", check=False)
    assert r.returncode == 2 and "mail loop" in r.stderr, r
    assert "forward      none" in m.mailctl("user", "show", DEMO).stdout


@pytest.mark.skipif(not harness.is_root(), reason="reads the queue files (root)")
def test_forward_to_another_domain_uses_srs_and_the_bounce_finds_its_way_back(make_mailbag):
    m = make_mailbag(users=users(DEMO))
    m.mailctl("user", "set", DEMO, "forward=carol@far.example", "keep-copy=yes")
    mid, msg = make_message("srs", 1, to=DEMO)
    assert m.send(DEMO, msg, mail_from="sender@origin.example").code == 250
    m.find_message(DEMO, mid)  # the copy kept here
    # The forwarded copy waits for the remote agent (not running): its envelope sender
    # is an SRS0 address of ours that encodes the original one.
    qid, (sender, rcpts) = wait_for_queued(m, lambda s, r: r == ["carol@far.example"], "the forwarded copy")
    assert re.fullmatch(r"SRS0=[A-Z2-7]{6}=[A-Z2-7]{2}=origin\.example=sender@example\.test", sender), sender
    with open(os.path.join(m.spool, "queue", qid), "rb") as f:
        fwd = f.read()
    assert b"\nDelivered-To: demo@example.test\n" in fwd
    assert message_id(fwd.split(b"\nE\n", 1)[1]) == mid
    # A bounce from the far end comes back to the SRS address: smtpd accepts it, the
    # local agent sends it on to the original sender, with the null sender kept.
    bounce = b"From: MAILER-DAEMON@far.example\r\nSubject: Undelivered\r\nMessage-ID: <b1@far.example>\r\n\r\nsorry\r\n"
    r = m.send(sender, bounce, mail_from="")
    assert r.code == 250, r
    wait_for_queued(m, lambda s, r: s == "" and r == ["sender@origin.example"], "the bounce, sent back")
    # A forged or mangled SRS address is refused at RCPT.
    forged = sender.replace("=sender@", "=mallory@")
    r = m.send(forged, bounce, mail_from="")
    assert r.code == 550 and r.rcpt_replies[0][1].startswith(b"5.1.1"), r


@pytest.mark.skipif(not harness.is_root(), reason="rewrites accounts.mdb owned by root")
def test_alias_loop_is_refused_with_546(make_mailbag):
    m = make_mailbag(users=users(DEMO, "alice@example.test"))
    # mailctl refuses loops: an alias pointing at itself, or round through another.
    r = m.mailctl("alias", "add", "ping@example.test", "ping@example.test", check=False)
    assert r.returncode == 2 and "itself" in r.stderr, r
    m.mailctl("alias", "add", "ping@example.test", "demo@example.test")
    m.mailctl("alias", "add", "pong@example.test", "ping@example.test")
    r = m.mailctl("alias", "add", "ping@example.test", "pong@example.test", check=False)
    assert r.returncode == 2 and "mail loop (ping@example.test -> pong@example.test -> ping@example.test)" in r.stderr
    # A database that holds one anyway (hand-edited, older tools): RCPT gives the local
    # agent's answer, 5.4.6, instead of taking the message and bouncing it later to a
    # sender that may be forged.
    put_alias_raw(m, "ping@example.test", ["pong@example.test"])
    mid, msg = make_message("loop", 1, to="ping@example.test")
    r = m.send("ping@example.test", msg, mail_from="alice@example.test")
    assert r.code == 550 and r.rcpt_replies[0] == (550, b"5.4.6 Recipient address rejected: alias loop: "
                                                   b"ping@example.test leads back to itself"), r
    assert m.queue_files() == [] and "status=bounced" not in m.logs("local")


def test_delivered_to_and_hop_count_loops_bounce_with_546(make_mailbag):
    m = make_mailbag(users=users(DEMO, "alice@example.test"))
    _, looped = sized_message("dt-loop", 500, extra_headers=["Delivered-To: demo@example.test"])
    assert m.send(DEMO, looped, mail_from="alice@example.test").code == 250
    dsn = dsn_for(m, "alice@example.test", "5.4.6")
    assert b"mail forwarding loop for demo@example.test" in dsn
    hops = ["Received: from hop%d.example by hop%d.example; Mon, 01 Jan 2024 00:00:00 +0000" % (i, i + 1)
            for i in range(30)]
    _, many = sized_message("hops", 500, sender="alice@example.test", extra_headers=hops)
    assert m.send(DEMO, many, mail_from="alice@example.test").code == 250
    for _ in harness.deadline_loop(30, "the too-many-hops bounce"):
        if "too many hops (31 Received" in m.logs("local"):
            break
    m.wait_queue_empty()
    assert m.maildir_messages(DEMO) == []


def test_per_domain_limits(make_mailbag):
    m = make_mailbag(users=users(DEMO, "alice@example.test", "bob@example.test", "sender@other.test"),
                     domains=("example.test", "other.test"))
    m.mailctl("domain", "set", "example.test", "max-recipients=2", "max-size=4K")
    s = m.smtp()
    s.ehlo()
    assert s.mail("sender@other.test")[0] == 250
    assert s.rcpt(DEMO)[0] == 250
    assert s.rcpt("alice@example.test")[0] == 250
    code, text = s.rcpt("bob@example.test")
    assert (code, text[:5]) == (452, b"4.5.3"), (code, text)
    s.rset()
    assert s.mail("sender@other.test", ["SIZE=5000"])[0] == 250
    code, text = s.rcpt(DEMO)
    assert (code, text[:5]) == (552, b"5.3.4"), (code, text)
    s.quit()
    # Without SIZE= the message is taken and the local agent returns it (5.3.4).
    _, big = sized_message("big", 6000, sender="sender@other.test")
    assert m.send(DEMO, big, mail_from="sender@other.test").code == 250
    dsn_for(m, "sender@other.test", "5.3.4")
    assert m.maildir_messages(DEMO) == []
    out = m.mailctl("domain", "show", "example.test").stdout
    assert "max size        4.0 KiB (4096 bytes)" in out and "max recipients  2" in out


def test_mailctl_refuses_bad_input_and_changes_nothing(make_mailbag):
    m = make_mailbag(users=users(DEMO))
    before = m.mailctl("user", "show", DEMO).stdout
    for args, msg in [
        (["user", "set", DEMO, "quota=lots"], "not a size"),
        (["user", "set", DEMO, "forward=not-an-address"], "not a mail address"),
        (["user", "set", DEMO, "forward=ghost@example.test"], "does not exist"),
        (["user", "set", DEMO, "keep-copy=maybe"], "not yes or no"),
        (["user", "set", DEMO, "colour=blue"], "unknown setting"),
        (["user", "set", DEMO, "quota=1M", "quota=2M"], "given twice"),
        (["user", "autoreply", DEMO, "on"], "needs a text"),
        (["user", "autoreply", DEMO, "on", "--text", "away", "--start", "2030-02-30"], "not a valid date"),
        (["user", "autoreply", DEMO, "on", "--text", "away", "--start", "2030-02-01", "--end", "2030-01-01"],
         "before the start"),
        (["user", "autoreply", DEMO, "on", "--text", "away", "--interval", "0"], "1 to 365"),
        (["user", "show", "ghost@example.test"], "no such user"),
        (["alias", "add", DEMO, "x@far.example"], "is a user"),
        (["alias", "add", "x@nowhere.test", DEMO], "no such domain"),
        (["domain", "set", "example.test", "catchall=a@b.example,c@d.example"], "one address"),
        (["domain", "set", "example.test", "max-recipients=-1"], "not a number"),
        (["domain", "alias", "example.test", "example.test"], "itself"),
        (["domain", "alias", "alias.test", "missing.test"], "no such domain"),
    ]:
        r = m.mailctl(*args, check=False)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert msg in r.stderr, (args, r.stderr)
    assert m.mailctl("user", "show", DEMO).stdout == before
    assert m.mailctl("alias", "list").stdout == ""
    assert m.mailctl("domain", "list").stdout == "example.test\n"
    # A user cannot be added to an alias domain; a domain with aliases cannot go first.
    m.mailctl("domain", "alias", "example.org", "example.test")
    r = m.mailctl("user", "add", "x@example.org", input="pw\n", check=False)
    assert r.returncode == 2 and "alias of example.test" in r.stderr
    r = m.mailctl("domain", "del", "--force", "example.test", check=False)
    assert r.returncode == 2 and "example.org is an alias" in r.stderr


def test_user_show_tells_everything(make_mailbag):
    m = make_mailbag(users=users(DEMO, "alice@example.test"))
    m.mailctl("domain", "alias", "example.org", "example.test")
    m.mailctl("alias", "add", "sales@example.test", DEMO)
    m.mailctl("user", "set", DEMO, "quota=15M", "forward=alice@example.test,far@away.example")
    m.mailctl("user", "autoreply", DEMO, "on", "--subject", "Away", "--text", "Back on Monday.\nRegards",
              "--end", "2099-12-31", "--interval", "3")
    mid, msg = make_message("show", 1)
    assert m.send(DEMO, msg).code == 250
    m.find_message(DEMO, mid)
    # local renames the file into new/ before it adds it to maildirsize: wait for both.
    deadline = time.time() + 20
    out = m.mailctl("user", "show", DEMO).stdout
    while "in 1 message(s)" not in out and time.time() < deadline:
        time.sleep(0.1)
        out = m.mailctl("user", "show", DEMO).stdout
    for want in ["address      demo@example.test\n",
                 "maildir      %s\n" % m.maildir(DEMO),
                 "status       active\n",
                 "password     set\n",
                 "quota        15.0 MiB (15728640 bytes)\n",
                 "forward      alice@example.test, far@away.example (a copy is kept)\n",
                 "aliases      sales@example.test\n",
                 "             demo@example.org (domain alias)\n",
                 "autoreply    on, from - until 2099-12-31 23:59, once per 3 day(s) per sender\n",
                 "  subject    Away\n",
                 "  text       Back on Monday.\n",
                 "             Regards\n",
                 "full         no\n"]:
        assert want in out, (want, out)
    usage = re.search(r"usage +(\d+(?:\.\d)? \w+) .* in 1 message\(s\), 0%", out)
    assert usage, out
