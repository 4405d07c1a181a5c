# Relay control and the limits around it, with the real daemons: the whole open-relay
# list refused from an unauthorised address on port 25; relaying for relay_networks, for
# an authenticated user and after a POP3 login (POP-before-SMTP, also on the extra port
# 5190 that older setups used); the
# backup-MX relay_domains and ETRN (RFC 1985) for them; connection limits per client
# address, per minute and in total, each logged once per window.
import re
import socket
import ssl
import time

import pytest

import harness
from test_pop3 import PASSWORD, USER, POP3From, tls_context as pop_tls_context
from test_submission import closed_by_server, plain, raw, source_ip, starttls

# Each of these tries to make us deliver to far.example (or an address literal) for a
# client that may not relay. RFC 5321 3.6.2 / 7.1; the classic open-relay tricks
# (%, !, source routes, quoted local parts, address literals).
OPEN_RELAY_TRICKS = [
    "victim@far.example",                     # plain relaying
    "victim%far.example@example.test",        # percent hack
    "\"victim@far.example\"@example.test",    # quoted local part with @
    "@example.test:victim@far.example",       # source route
    "victim@far.example@example.test",        # two @
    "far.example!victim@example.test",        # bang path
    "victim@far.example.",                    # trailing dot
    "victim@example.test.",                   # trailing dot on a local domain
    "victim@[192.0.2.1]",                     # IP literal
    "victim@[127.0.0.1]",                     # IP literal of this host
    "VICTIM@FAR.EXAMPLE",                     # upper case
    "VICTIM%FAR.EXAMPLE@EXAMPLE.TEST",
    "Far.Example!Victim@Example.Test",
]


def rcpt_codes(m, rcpts, port=None, source=None, helo="client.example.net"):
    """Opens a session, gives MAIL, then every RCPT; returns the RCPT reply codes."""
    c = raw(m, port or m.port, source=source)
    assert c.reply()[0] == 220
    assert c.cmd("EHLO " + helo)[0] == 250
    assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
    codes = [c.cmd("RCPT TO:<%s>" % r) for r in rcpts]
    c.cmd("QUIT")
    c.close()
    return codes


@pytest.fixture
def strict(make_mailbag):
    return make_mailbag(conf={"relay_networks": ""})


def test_open_relay_tricks_refused_on_25(strict):
    replies = rcpt_codes(strict, OPEN_RELAY_TRICKS)
    for rcpt, (code, lines) in zip(OPEN_RELAY_TRICKS, replies):
        assert 500 <= code <= 559, (rcpt, code, lines)
        if code != 501:  # a syntax error is refusal enough; otherwise relay denied
            assert code == 554 and lines[0] == "5.7.1 Relay access denied", (rcpt, code, lines)
    # And the local mailbox is still reachable from the same client.
    assert rcpt_codes(strict, [USER])[0][0] == 250
    assert not strict.queue_files()


def test_relaying_for_relay_networks(make_mailbag):
    m = make_mailbag(start=False)
    trusted = source_ip(m, 40)
    m.extra_conf["relay_networks"] = "%s/32, 2001:db8::/32" % trusted
    m.start()
    assert [c for c, _ in rcpt_codes(m, ["victim@far.example", USER], source=trusted)] == [250, 250]
    assert rcpt_codes(m, ["victim@far.example"], source=source_ip(m, 41))[0][0] == 554
    # Even a trusted client cannot reach an unknown local user.
    assert rcpt_codes(m, ["nobody@example.test"], source=trusted)[0][0] == 550


def test_relaying_for_an_authenticated_user_on_25(strict):
    c = raw(strict, strict.port)
    assert c.reply()[0] == 220
    assert c.cmd("EHLO laptop.example.net")[0] == 250
    starttls(c, strict)
    assert c.cmd("EHLO laptop.example.net")[0] == 250
    assert c.cmd("MAIL FROM:<%s>" % USER)[0] == 250
    assert c.cmd("RCPT TO:<victim@far.example>")[0] == 554  # not yet
    assert c.cmd("RSET")[0] == 250
    assert c.cmd("AUTH PLAIN " + plain(USER, PASSWORD))[0] == 235
    assert c.cmd("MAIL FROM:<%s>" % USER)[0] == 250
    assert c.cmd("RCPT TO:<victim@far.example>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: relayed\r\n\r\nfor far away\r\n.\r\n")
    code, lines = c.reply()
    assert code == 250, lines
    c.close()
    assert len(strict.queue_files()) == 1  # waiting for the remote agent


def test_pop_before_smtp_on_25_and_on_5190(make_mailbag):
    # POP-before-SMTP as older setups document it: check mail with POP3 first, then relay
    # through port 25 or 5190 without a password; other addresses still may not.
    m = make_mailbag(start=False, conf={"relay_networks": "", "pop_before_smtp": "yes", "relay_lifetime": "30m"})
    extra = 5190 if harness.is_root() else harness.free_port(m.host)
    first = 587 if harness.is_root() else harness.free_port(m.host)
    m.extra_conf["submission_listen"] = "%s:%d, %s:%d" % (m.host, first, m.host, extra)
    m.start()
    m.start_pop3d()
    ip, other = source_ip(m, 50), source_ip(m, 51)
    assert rcpt_codes(m, ["victim@far.example"], source=ip)[0][0] == 554
    c = POP3From(m.host, m.ports["pop3_listen"], ip)
    c.stls(pop_tls_context(m))
    c.user(USER)
    c.pass_(PASSWORD)
    c.quit()
    for port in (m.port, extra):
        codes = rcpt_codes(m, ["victim@far.example"], port=port, source=ip)
        assert codes[0][0] == 250, (port, codes)
    assert rcpt_codes(m, ["victim@far.example"], source=other)[0][0] == 554
    # On the submission port the other client may not even send MAIL (RFC 6409 4.3).
    c = raw(m, extra, source=other)
    assert c.reply()[0] == 220
    assert c.cmd("EHLO x.example.net")[0] == 250
    assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 530
    c.close()


def test_backup_mx_relay_domains_and_etrn(make_mailbag):
    m = make_mailbag(start=False)
    primary = source_ip(m, 60)
    m.extra_conf.update({"relay_networks": "", "relay_domains": "backup.example",
                         "etrn_networks": "%s/32" % primary})
    m.start()
    outsider = source_ip(m, 61)
    # Mail for the domain we are backup MX for is accepted from anyone, any local part.
    codes = rcpt_codes(m, ["boss@backup.example", "Anyone@BACKUP.example", "boss@sub.backup.example"],
                       source=outsider)
    assert [c for c, _ in codes] == [250, 250, 554], codes
    c = raw(m, m.port, source=outsider)
    assert c.reply()[0] == 220
    code, lines = c.cmd("EHLO mx.sender.example")
    assert code == 250 and "ETRN" in lines, lines
    assert c.cmd("MAIL FROM:<someone@sender.example>")[0] == 250
    assert c.cmd("RCPT TO:<boss@backup.example>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: for the primary\r\n\r\nheld at the backup\r\n.\r\n")
    assert c.reply()[0] == 250
    # RFC 1985: the outsider may not start the queue (etrn_networks).
    code, lines = c.cmd("ETRN backup.example")
    assert code == 459, (code, lines)
    c.close()
    assert len(m.queue_files()) == 1

    c = raw(m, m.port, source=primary)
    assert c.reply()[0] == 220
    assert c.cmd("EHLO mx.backup.example")[0] == 250
    # 253 with the count once the message has been deferred; before its first attempt
    # (no remote agent runs here) the queue manager may count it as already on its way.
    code, lines = c.cmd("ETRN backup.example")
    assert (code, lines[0]) in ((253, "2.0.0 OK, 1 pending messages for node backup.example started"),
                                (251, "2.0.0 OK, no messages waiting for node backup.example")), (code, lines)
    code, lines = c.cmd("ETRN @backup.example")
    assert code in (251, 253), (code, lines)
    code, lines = c.cmd("ETRN example.test")
    assert code == 459 and "not a relay domain" in lines[0], lines
    assert c.cmd("ETRN #dialup")[0] == 458
    assert c.cmd("ETRN")[0] == 501
    assert c.cmd("MAIL FROM:<x@backup.example>")[0] == 250
    assert c.cmd("ETRN backup.example")[0] == 503
    assert c.cmd("RSET")[0] == 250
    # Without the queue manager: 458 (RFC 1985 5), and smtpd keeps running.
    m.kill("queue-manager")
    code, lines = c.cmd("ETRN backup.example")
    assert code == 458 and lines[0] == "4.3.0 Unable to queue messages for node backup.example", lines
    assert c.cmd("QUIT")[0] == 221
    c.close()
    assert m.alive("smtpd")


def test_sessions_per_client_address(make_mailbag):
    m = make_mailbag(conf={"relay_networks": "", "smtpd_max_sessions_per_client": "2"})
    ip = source_ip(m, 70)
    a, b = raw(m, m.port, source=ip), raw(m, m.port, source=ip)
    assert a.reply()[0] == 220 and b.reply()[0] == 220
    for _ in range(3):
        c = raw(m, m.port, source=ip)
        code, lines = c.reply()
        assert code == 421 and lines[0].startswith("4.7.0"), (code, lines)
        assert closed_by_server(c)
        c.close()
    d = raw(m, m.port, source=source_ip(m, 71))  # another address
    assert d.reply()[0] == 220
    d.close()
    assert a.cmd("QUIT")[0] == 221
    a.close()
    for _ in harness.deadline_loop(10, "the session to be counted as closed"):
        c = raw(m, m.port, source=ip)
        code, _ = c.reply()
        c.close()
        if code == 220:
            break
    b.close()
    # Logged once for the three refusals (once per minute and cause).
    refused = [l for l in m.logs("smtpd").splitlines() if "too many connections from [%s]" % ip in l]
    assert len(refused) == 1, refused


def test_connection_rate_per_client_address(make_mailbag):
    m = make_mailbag(conf={"relay_networks": "", "smtpd_max_connect_rate": "3"})
    ip = source_ip(m, 80)
    got = []
    for _ in range(6):
        c = raw(m, m.port, source=ip)
        got.append(c.reply()[0])
        c.close()
    # The harness's own readiness probe came from another address, so the first three
    # of this minute are ours.
    assert got == [220, 220, 220, 421, 421, 421], got
    c = raw(m, m.port, source=source_ip(m, 81))
    assert c.reply()[0] == 220
    c.close()
    refused = [l for l in m.logs("smtpd").splitlines() if "per minute from [%s]" % ip in l]
    assert len(refused) == 1, refused


def test_total_sessions_and_relay_networks_exemption(make_mailbag):
    m = make_mailbag(conf={"smtpd_max_sessions": "3", "smtpd_max_sessions_per_client": "1"})
    m.wait_for_log("smtpd", r"disconnect from")  # the harness's readiness probe is gone
    time.sleep(0.2)
    # The default relay_networks (127.0.0.0/8) is exempt from the per-client limit...
    ip = source_ip(m, 90)
    open_ = [raw(m, m.port, source=ip) for _ in range(3)]
    for c in open_:
        assert c.reply()[0] == 220
    # ... but not from the total (smtpd_max_sessions).
    c = raw(m, m.port, source=ip)
    code, lines = c.reply()
    assert code == 421 and lines[0].startswith("4.3.2"), (code, lines)
    c.close()
    for c in open_:
        c.close()
