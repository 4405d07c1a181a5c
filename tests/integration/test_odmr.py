# On-Demand Mail Relay (RFC 2645), the provider's side: a site whose address is in no
# DNS connects to the provider's odmr_listen port, says EHLO, STARTTLS, AUTH and
# `ATRN primary.test`, and the mail queued for primary.test comes over that same
# connection, the provider now the SMTP client. The ODMR client here is the test, doing
# what fetchmail's ODMR mode does: after the turn it joins the connection to the site's
# own Mailbag (port 25), which receives the mail like any other.
# Bad input (ATRN in clear, without AUTH, for a domain not granted, malformed): a clear
# reply, a log line, and nothing released.
import re
import select
import smtplib
import socket
import ssl

import pytest

import harness
import remote_peers
from messages import make_message
from remote_peers import Unbound, check_intact, inject, peers, remote_log_line, start_remote  # noqa: F401

LOGIN, PASSWORD = "site@isp.test", "site-secret"


def provider_mailbag(make_mailbag, **conf):
    """The provider (isp.test, backup MX of primary.test) with the ODMR port open and
    site@isp.test granted primary.test; not started."""
    p = make_mailbag(start=False, users=((LOGIN, PASSWORD),), domains=("isp.test",))
    p.hostname = "mx.isp.test"
    p.odmr_port = 366 if harness.is_root() else harness.free_port(p.host)
    c = {"relay_domains": "primary.test, second.test", "odmr_listen": "%s:%d" % (p.host, p.odmr_port),
         "queue_retry_min": "1h", "queue_retry_max": "2h"}
    c.update(conf)
    p.extra_conf.update(c)
    return p


def odmr_session(p, source=None, tls=True, login=True):
    """An ODMR client connection after EHLO (and STARTTLS, EHLO, AUTH as asked)."""
    s = smtplib.SMTP(p.host, p.odmr_port, local_hostname="site.primary.test", timeout=30,
                     source_address=(source or harness.unique_loopback(), 0))
    s.ehlo()
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s.starttls(context=ctx)
        s.ehlo()
    if login:
        s.login(LOGIN, PASSWORD)
    return s


def atrn(s, arg):
    code, text = s.docmd("ATRN", arg) if arg else s.docmd("ATRN")
    return code, text.decode()


def splice(a, b, timeout=30):
    """Copies bytes both ways until either side closes (a: TLS to the provider, b: the site)."""
    for x in (a, b):
        x.settimeout(timeout)
    while True:
        ready = [a] if a.pending() else select.select([a, b], [], [], timeout)[0]
        assert ready, "ODMR relay idle for %ds" % timeout
        for x in ready:
            data = x.recv(65536)
            if not data:
                return
            (b if x is a else a).sendall(data)


def test_rfc2645_bad_atrn_gets_a_clear_reply_and_releases_nothing(make_mailbag):
    p = provider_mailbag(make_mailbag)
    p.start()  # no remote agent: whatever were released would stay in flight, not leave
    p.mailctl("atrn", "grant", LOGIN, "primary.test")
    _, msg = make_message("odmr-bad", 1, to="boss@primary.test")
    inject(p, "someone@example.test", ["boss@primary.test"], msg)
    # RFC 2645 5.1.1: EHLO offers ATRN, and AUTH only under TLS (RFC 4954 14).
    s = odmr_session(p, tls=False, login=False)
    assert s.has_extn("atrn") and s.has_extn("starttls") and not s.has_extn("auth")
    # RFC 2645 5.2.1: ATRN needs AUTH: 530, in clear and under TLS.
    code, text = atrn(s, "primary.test")
    assert code == 530 and text.startswith("5.7.0 Authentication required"), (code, text)
    # No mail is taken on the ODMR port.
    assert s.docmd("MAIL", "FROM:<a@example.test>")[0] == 502
    s.quit()
    s = odmr_session(p, login=False)
    assert s.has_extn("auth") and s.has_extn("atrn")
    assert atrn(s, "primary.test")[0] == 530
    s.login(LOGIN, PASSWORD)
    # RFC 2645 5.2.1: a domain the login was not granted: 450, nothing released.
    code, text = atrn(s, "primary.test,second.test")
    assert code == 450 and "second.test is not granted to site@isp.test" in text, (code, text)
    assert atrn(s, "example.test")[0] == 450
    # A malformed argument: 501.
    for bad in ("primary.test,", "primary.test second.test", "<primary.test>", "prim@ry.test"):
        code, text = atrn(s, bad)
        assert code == 501, (bad, code, text)
    s.quit()
    # The grant taken back: 450 again for what was allowed.
    assert "site@isp.test primary.test" in p.mailctl("atrn", "list").stdout
    p.mailctl("atrn", "revoke", LOGIN, "primary.test")
    assert p.mailctl("atrn", "list").stdout.strip() == ""
    s = odmr_session(p)
    assert atrn(s, "primary.test")[0] == 450
    assert atrn(s, "")[0] == 450  # no argument: the login's domains, none now
    s.quit()
    logs = p.logs("smtpd")
    for why in ("no TLS, no AUTH", "no AUTH", "not granted", "malformed argument", "no grants"):
        assert re.search(r"reject: ATRN .* from \[127\.[0-9.]+\].*\(%s\), nothing released" % why, logs), \
            (why, logs[-3000:])
    assert "now reversing" not in logs
    assert len(p.queue_files()) == 1
    assert "ATRN for" not in p.logs("queue-manager")
    # mailctl refuses grants that cannot work.
    r = p.mailctl("atrn", "grant", "nobody@isp.test", "primary.test", check=False)
    assert r.returncode != 0 and "no such user" in r.stderr
    r = p.mailctl("atrn", "grant", LOGIN, "isp.test", check=False)
    assert r.returncode != 0 and "local domain" in r.stderr


@pytest.mark.skipif(not harness.is_root(), reason="needs root: DNS peers on 127.x port 53")
@pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed")
def test_rfc2645_atrn_delivers_queued_mail_over_the_same_connection(make_mailbag, peers):
    p = provider_mailbag(make_mailbag)
    site = make_mailbag(start=False, users=(("boss@primary.test", "boss-secret"),), domains=("primary.test",))
    site.hostname = "site.primary.test"
    # The site is in no DNS: primary.test's only MX is the provider.
    dns = peers(Unbound(["primary.test", "isp.test"],
                        ["primary.test. MX 10 mx.isp.test.", "mx.isp.test. A %s" % p.host]).start())
    p.extra_conf.update({"dns_resolver": dns.address, "remote_timeout": "10s"})
    p.start()
    start_remote(p)
    p.mailctl("atrn", "grant", LOGIN, "primary.test")
    p.mailctl("atrn", "grant", LOGIN, "second.test")
    sent = []
    for i in (1, 2):
        mid, msg = make_message("odmr", i, to="boss@primary.test", size_hint=3000 * i)
        qid = inject(p, "someone@example.test", ["boss@primary.test"], msg, body_8bit=True)
        remote_log_line(p, r"%s: to=<boss@primary\.test>, relay=none, .*status=deferred" % qid)
        sent.append((mid, msg))
    site.start()

    client = harness.unique_loopback()
    s = odmr_session(p, source=client)
    # RFC 2645 5.2.1: nothing waits for second.test: 453, and the session goes on.
    code, text = atrn(s, "second.test")
    assert code == 453 and "You have no mail" in text, (code, text)
    code, text = atrn(s, "primary.test")
    assert code == 250 and "now reversing the connection" in text, (code, text)
    # RFC 2645 5.3: the roles turn; the site's server answers from here on.
    with socket.create_connection((site.host, site.port), timeout=30,
                                  source_address=(harness.unique_loopback(), 0)) as to_site:
        splice(s.sock, to_site)
    s.close()
    for mid, msg in sent:
        check_intact(site.find_message("boss@primary.test", mid, timeout=30), msg)
    p.wait_queue_empty()
    assert len(site.maildir_messages("boss@primary.test")) == 2  # each once
    logs = p.logs("smtpd")
    assert re.search(r"ATRN primary\.test from \[%s\] as site@isp\.test: 2 messages; now reversing"
                     % re.escape(client), logs), logs[-3000:]
    assert re.search(r"ATRN second\.test from \[%s\] as site@isp\.test: no mail waiting" % re.escape(client), logs)
    # The relay ends with the session (whichever side closes first) and says how much it carried.
    p.wait_for_log("smtpd", r"\[%s\]: ODMR relay: [0-9]+ bytes to the delivery agent, "
                   r"[0-9]{4,} to the client" % re.escape(client))
    assert re.search(r"ATRN for site@isp\.test \[%s\]: 2 messages handed to the remote agent" % re.escape(client),
                     p.logs("queue-manager"))
    remote_log_line(p, r"to=<boss@primary\.test>, relay=ODMR client site@isp\.test \[%s\], .*status=sent"
                    % re.escape(client))
