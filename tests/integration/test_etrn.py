# Dial-up setups: a primary server that is often offline, a backup MX (the ISP's) that
# holds its mail, and ETRN (RFC 1985) or a wake-up message to get the held mail delivered
# as soon as the primary is back.
#   - mailctl etrn HOST DOMAIN against a real Postfix backup
#   - the whole flow with a Postfix backup: a sender's remote finds the primary down and
#     uses the backup MX; the primary starts, its remote sends ETRN by itself
#     (etrn_hosts, etrn_domains), the backup delivers at once
#   - wakeup_email instead of ETRN
#   - Mailbag as the backup MX: it tries only the better MX (RFC 5321 5.1), never itself
#   - two Mailbags as primary and backup with ETRN (smtpd relays for relay_domains)
# Port 25 needs root: without it these tests are skipped.
import re

import pytest

import harness
import remote_peers
from messages import make_message
from remote_peers import Postfix, Unbound, check_intact, inject, peers, remote_log_line, sender_mailbag, start_remote  # noqa: F401

pytestmark = [
    pytest.mark.skipif(not harness.is_root(), reason="needs root: peers listen on 127.x port 25"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.POSTFIX), reason="postfix not installed"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed"),
]


def primary_mailbag(make_mailbag):
    """The dial-up primary for primary.test, not started yet (its address is known)."""
    m = make_mailbag(start=False, users=(("boss@primary.test", "boss-secret"),), domains=("primary.test",))
    m.hostname = "mx.primary.test"
    return m


def zones(primary_ip, backup_ip):
    # The dial-up layout: the primary with the better preference, the ISP's spooling
    # server with a worse one.
    return Unbound(["primary.test", "backup.test"],
                   ["primary.test. MX 10 mx.primary.test.", "primary.test. MX 20 mx.backup.test.",
                    "mx.primary.test. A %s" % primary_ip, "mx.backup.test. A %s" % backup_ip])


def test_mailctl_etrn_reports_the_answer(make_mailbag, peers):
    primary_ip = harness.unique_loopback()
    backup = peers(Postfix("backup.test", ["postmaster"], relay={"primary.test": "[%s]:25" % primary_ip}).start())
    m = make_mailbag()
    r = m.mailctl("etrn", backup.ip, "primary.test", check=False)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert re.match(r"25[0-3] ", r.stdout), r.stdout
    # A domain the backup does not hold mail for: refused, exit 1, the answer printed.
    r = m.mailctl("etrn", backup.ip, "other.test", check=False)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert re.match(r"[45]\d\d ", r.stdout), r.stdout
    # Nobody there: exit 1, and why.
    r = m.mailctl("etrn", harness.unique_loopback(), "primary.test", check=False)
    assert r.returncode == 1
    assert "Connection refused" in r.stderr, r.stderr
    r = m.mailctl("etrn", backup.ip, "not a domain", check=False)
    assert r.returncode == 64


def test_primary_sends_etrn_and_the_backup_delivers_at_once(make_mailbag, peers):
    primary = primary_mailbag(make_mailbag)
    backup = peers(Postfix("backup.test", ["postmaster"], relay={"primary.test": "[%s]:25" % primary.host}).start())
    dns = peers(zones(primary.host, backup.ip).start())

    # Someone on the Internet writes to the primary while it is offline.
    sender = sender_mailbag(make_mailbag, dns)
    mid, msg = make_message("dialup", 1, to="boss@primary.test")
    qid = inject(sender, "someone@example.test", ["boss@primary.test"], msg, body_8bit=True)
    remote_log_line(sender, r"connect to mx\.primary\.test\[%s\]:25: Connection refused" % re.escape(primary.host))
    remote_log_line(sender, r"%s: to=<boss@primary.test>, relay=mx\.backup\.test\[%s\]:25, .*status=sent"
                    % (qid, re.escape(backup.ip)))
    # The backup tried the primary too, and holds the message.
    for _ in harness.deadline_loop(30, "the backup to defer the message"):
        if re.search(r"to=<boss@primary.test>.*status=deferred", backup.log()):
            break

    # The primary comes online; its remote asks the backup with ETRN by itself.
    primary.extra_conf.update({"dns_resolver": dns.address, "remote_timeout": "10s",
                               "etrn_hosts": backup.ip, "etrn_domains": "primary.test"})
    primary.start()
    start_remote(primary)
    remote_log_line(primary, r"ETRN primary\.test at \[%s\]:25: 25[0-3] " % re.escape(backup.ip))
    data = primary.find_message("boss@primary.test", mid, timeout=30)
    check_intact(data, msg)


def test_wakeup_email_instead_of_etrn(make_mailbag, peers):
    backup = peers(Postfix("backup.test", ["wakeup"]).start())
    dns = peers(Unbound(["backup.test"], ["mx.backup.test. A %s" % backup.ip]).start())
    primary = make_mailbag(conf={"dns_resolver": dns.address, "remote_timeout": "10s",
                                 "etrn_hosts": "mx.backup.test", "etrn_domains": "example.test",
                                 "wakeup_email": "wakeup@backup.test"})
    start_remote(primary)
    got = backup.wait_for_messages("wakeup", 1, check=primary.check_alive)
    assert b"Subject: wake-up from mail.example.test" in got[0]
    assert b"(example.test)" in got[0]
    assert b"Auto-Submitted: auto-generated" in got[0]
    remote_log_line(primary, r"wake-up message to wakeup@backup.test sent through mx\.backup\.test\[%s\]:25"
                    % re.escape(backup.ip))


def test_periodic_etrn(make_mailbag, peers):
    primary_ip = harness.unique_loopback()
    backup = peers(Postfix("backup.test", ["postmaster"], relay={"primary.test": "[%s]:25" % primary_ip}).start())
    m = make_mailbag(conf={"etrn_hosts": "[%s]:25" % backup.ip, "etrn_domains": "primary.test",
                           "wakeup_every": "2s", "remote_timeout": "10s"})
    start_remote(m)
    for _ in harness.deadline_loop(20, "three ETRN rounds"):
        if len(re.findall(r"ETRN primary\.test at", m.logs("remote"))) >= 3:
            break
    assert all(re.search(r": 25[0-3] ", l) for l in m.logs("remote").splitlines() if "ETRN primary.test at" in l)


def test_backup_mailbag_tries_only_better_mx_hosts(make_mailbag, peers):
    # Mailbag itself as the backup MX (preference 20): mail for primary.test waits for
    # the primary (preference 10), and never loops to the backup itself.
    primary = primary_mailbag(make_mailbag)
    backup = make_mailbag(start=False)
    backup.hostname = "mx.backup.test"
    dns = peers(zones(primary.host, backup.host).start())
    backup.extra_conf.update({"dns_resolver": dns.address, "remote_timeout": "10s"})
    backup.start()
    start_remote(backup)
    mid, msg = make_message("backupmx", 1, to="boss@primary.test")
    qid = inject(backup, "someone@example.test", ["boss@primary.test"], msg, body_8bit=True)
    remote_log_line(backup, r"%s: to=<boss@primary.test>, relay=none, .*status=deferred \(connect to "
                            r"mx\.primary\.test\[%s\]:25: Connection refused\)" % (qid, re.escape(primary.host)))
    assert "loops back" not in backup.logs("remote")
    assert "mx.backup.test[" not in backup.logs("remote")
    primary.extra_conf.update({"dns_resolver": dns.address})
    primary.start()
    # The backup's retries (1-2 s in the harness) deliver it.
    check_intact(primary.find_message("boss@primary.test", mid, timeout=60), msg)
    backup.wait_queue_empty()


def smtpd_offers_etrn(m):
    c = m.raw()
    try:
        code, lines = c.cmd("EHLO probe.example.net")
        return code == 250 and any(l.upper().startswith("ETRN") for l in lines)
    finally:
        c.close()


def test_two_mailbags_primary_and_backup_with_etrn(make_mailbag, peers):
    primary = primary_mailbag(make_mailbag)
    backup = make_mailbag(start=False)
    backup.hostname = "mx.backup.test"
    dns = peers(zones(primary.host, backup.host).start())
    backup.extra_conf.update({"dns_resolver": dns.address, "remote_timeout": "10s", "relay_domains": "primary.test",
                              "queue_retry_min": "1h", "queue_retry_max": "2h"})
    backup.start()
    assert smtpd_offers_etrn(backup)  # RFC 1985 3: ETRN in the EHLO keywords
    start_remote(backup)

    sender = sender_mailbag(make_mailbag, dns)
    mid, msg = make_message("twomb", 1, to="boss@primary.test")
    qid = inject(sender, "someone@example.test", ["boss@primary.test"], msg, body_8bit=True)
    remote_log_line(sender, r"%s: to=<boss@primary.test>, relay=mx\.backup\.test\[%s\]:25, .*status=sent"
                    % (qid, re.escape(backup.host)))
    # The backup waits (it is not the best MX, and the primary is down).
    remote_log_line(backup, r"to=<boss@primary.test>, relay=none, .*status=deferred \(connect to mx\.primary\.test")
    assert len(backup.queue_files()) == 1

    primary.extra_conf.update({"dns_resolver": dns.address, "remote_timeout": "10s",
                               "etrn_hosts": backup.host, "etrn_domains": "primary.test"})
    primary.start()
    start_remote(primary)
    remote_log_line(primary, r"ETRN primary\.test at \[%s\]:25: 25[0-3] " % re.escape(backup.host))
    # Delivered at once, long before the backup's next retry (an hour).
    check_intact(primary.find_message("boss@primary.test", mid, timeout=30), msg)
    backup.wait_queue_empty()


def rcpt_codes(m, rcpts):
    """{address: (code, first reply line)} of RCPT TO for each address, in one session."""
    c = m.raw()
    try:
        assert c.cmd("EHLO client.example.net")[0] == 250
        assert c.cmd("MAIL FROM:<someone@example.net>")[0] == 250
        out = {}
        for r in rcpts:
            code, lines = c.cmd("RCPT TO:<%s>" % r)
            out[r] = (code, lines[0])
        return out
    finally:
        c.close()


def test_backup_mx_refuses_recipients_not_on_the_relay_list(make_mailbag, peers, tmp_path):
    # Backup MX without backscatter: with a relay recipient list for a relay domain,
    # unknown local parts get 550 5.1.1 at RCPT like local ones (the address book decides),
    # instead of being queued and bounced later to a sender that is often forged; a domain
    # without a list keeps accepting any local part. The lists are written by mailctl as
    # the databases' owner and read by the running smtpd without a restart.
    primary = primary_mailbag(make_mailbag)
    backup = make_mailbag(start=False)
    backup.hostname = "mx.backup.test"
    dns = peers(zones(primary.host, backup.host).start())
    backup.extra_conf.update({"dns_resolver": dns.address, "relay_domains": "primary.test, other.test"})
    backup.start()
    assert rcpt_codes(backup, ["nobody@primary.test"])["nobody@primary.test"][0] == 250  # no list yet

    r = backup.mailctl("relay-recipient", "add", "boss@primary.test", "Sales@Primary.TEST")
    assert "added relay recipient sales@primary.test" in r.stdout, r.stdout
    got = rcpt_codes(backup, ["boss@primary.test", "BOSS+tag@primary.test", "sales@primary.test",
                              "nobody@primary.test", "anyone@other.test"])
    assert got["boss@primary.test"][0] == 250
    assert got["BOSS+tag@primary.test"][0] == 250  # a subaddress of a listed address
    assert got["sales@primary.test"][0] == 250
    assert got["nobody@primary.test"][0] == 550 and got["nobody@primary.test"][1].startswith("5.1.1"), got
    assert got["anyone@other.test"][0] == 250  # no list for other.test: any local part
    assert re.search(r"reject: RCPT .*550 5\.1\.1 .*to=<nobody@primary\.test>", backup.logs("smtpd"))

    # A message for a listed recipient is still taken and held for the primary.
    mid, msg = make_message("relaylist", 1, to="boss@primary.test")
    assert backup.send("boss@primary.test", msg, mail_from="someone@example.net").code == 250

    # import replaces the list as a whole; a bad line changes nothing.
    listing = tmp_path / "primary.txt"
    listing.write_text("# exported from the primary\nboss\n\nnew@primary.test\n")
    bad = tmp_path / "bad.txt"
    bad.write_text("boss\nsomeone@elsewhere.test\n")
    r = backup.mailctl("relay-recipient", "import", "primary.test", str(bad), check=False)
    assert r.returncode == 2 and "line 2" in r.stderr, (r.stdout, r.stderr)
    assert "sales@primary.test" in backup.mailctl("relay-recipient", "list", "primary.test").stdout
    r = backup.mailctl("relay-recipient", "import", "primary.test", str(listing))
    assert "2 address(es)" in r.stdout, r.stdout
    assert backup.mailctl("relay-recipient", "list").stdout.split() == ["boss@primary.test", "new@primary.test"]
    got = rcpt_codes(backup, ["new@primary.test", "sales@primary.test"])
    assert got["new@primary.test"][0] == 250 and got["sales@primary.test"][0] == 550, got

    # del of one address, then of the whole list: any local part again.
    backup.mailctl("relay-recipient", "del", "new@primary.test")
    assert rcpt_codes(backup, ["new@primary.test"])["new@primary.test"][0] == 550
    r = backup.mailctl("relay-recipient", "del", "nobody@primary.test", check=False)
    assert r.returncode == 2
    backup.mailctl("relay-recipient", "del", "primary.test")
    assert rcpt_codes(backup, ["nobody@primary.test"])["nobody@primary.test"][0] == 250
    # A local domain has users, not a relay list.
    r = backup.mailctl("relay-recipient", "add", "x@example.test", check=False)
    assert r.returncode == 2 and "local domain" in r.stderr, r.stderr
