# The other queue-release methods of a backup MX (besides ETRN): a wake-up message
# (mail to relay_wakeup_address from a client that may release a relay domain releases
# it, and is then discarded) and release on connection (relay_release_on_connect: a
# connection from a relay domain's release= networks releases it). Each release is
# logged with who asked; a wake-up message from anyone else gets 550 5.7.1, nothing
# released. The site's side is a second Mailbag whose remote sends the wake-up message
# (wakeup_email) by itself.
# Port 25 needs root: without it these tests are skipped.
import re
import smtplib

import pytest

import harness
import remote_peers
from messages import make_message
from remote_peers import Unbound, check_intact, inject, peers, remote_log_line, start_remote  # noqa: F401

pytestmark = [
    pytest.mark.skipif(not harness.is_root(), reason="needs root: peers listen on 127.x port 25"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed"),
]


def site_and_backup(make_mailbag, peers, **backup_conf):
    """The site (primary.test, not started) and its backup MX holding one message for it."""
    site = make_mailbag(start=False, users=(("boss@primary.test", "boss-secret"),), domains=("primary.test",))
    site.hostname = "mx.primary.test"
    backup = make_mailbag(start=False)
    backup.hostname = "mx.backup.test"
    dns = peers(Unbound(["primary.test", "backup.test"],
                        ["primary.test. MX 10 mx.primary.test.", "primary.test. MX 20 mx.backup.test.",
                         "mx.primary.test. A %s" % site.host, "mx.backup.test. A %s" % backup.host]).start())
    conf = {"dns_resolver": dns.address, "remote_timeout": "10s", "relay_domains": "primary.test",
            "queue_retry_min": "1h", "queue_retry_max": "2h"}
    conf.update(backup_conf)
    backup.extra_conf.update(conf)
    backup.start()
    start_remote(backup)
    mid, msg = make_message("release", 1, to="boss@primary.test")
    qid = inject(backup, "someone@example.test", ["boss@primary.test"], msg, body_8bit=True)
    remote_log_line(backup, r"%s: to=<boss@primary.test>, relay=none, .*status=deferred" % qid)
    return site, backup, dns, mid, msg


def test_wakeup_message_from_the_site_releases_its_domain(make_mailbag, peers):
    # The site's remote connects from 127.0.0.1: that is the primary's release network.
    site, backup, dns, mid, msg = site_and_backup(
        make_mailbag, peers, relay_wakeup_address="wakeup@backup.test",
        relay_domain_settings="primary.test;release=127.0.0.1/32")
    site.extra_conf.update({"dns_resolver": dns.address, "remote_timeout": "10s", "etrn_hosts": "[%s]" % backup.host,
                            "wakeup_email": "wakeup@backup.test"})
    site.start()
    start_remote(site)
    remote_log_line(site, r"wake-up message to wakeup@backup\.test sent through \[%s\]:25" % re.escape(backup.host))
    # Released at once (the backup's next retry is an hour away), and arrives once.
    check_intact(site.find_message("boss@primary.test", mid, timeout=30), msg)
    backup.wait_queue_empty()
    logs = backup.logs("smtpd")
    assert re.search(r"wake-up message from \[127\.0\.0\.1\]: releasing primary\.test", logs), logs[-2000:]
    assert re.search(r"release: primary\.test for \[127\.0\.0\.1\] \(wake-up message\): 1 messages started", logs)
    # The wake-up message itself was discarded, not delivered or bounced.
    assert re.search(r"to=<wakeup@backup\.test>, relay=none, .*status=sent \(wake-up message, discarded",
                     backup.logs("queue-manager"))


def test_wakeup_message_from_a_host_not_allowed_releases_nothing(make_mailbag, peers):
    site, backup, dns, mid, msg = site_and_backup(
        make_mailbag, peers, relay_wakeup_address="wakeup@backup.test",
        relay_domain_settings="primary.test;release=192.0.2.0/24")
    stranger = harness.unique_loopback()
    with backup.smtp_from(stranger) as s:
        assert s.mail("site@primary.test")[0] == 250
        code, text = s.rcpt("wakeup@backup.test")
        assert code == 550 and text.decode().startswith("5.7.1 Wake-up message refused"), (code, text)
    logs = backup.logs("smtpd")
    assert re.search(r"reject: wake-up message from \[%s\]: may not release any relay domain, nothing released"
                     % re.escape(stranger), logs), logs[-2000:]
    assert "release: primary.test" not in logs
    assert len(backup.queue_files()) == 1  # still held


def test_a_connection_from_the_primary_releases_its_domain(make_mailbag, peers):
    primary_client = harness.unique_loopback()
    site, backup, dns, mid, msg = site_and_backup(
        make_mailbag, peers, relay_release_on_connect="yes",
        relay_domain_settings="primary.test;release=%s/32" % primary_client)
    site.extra_conf.update({"dns_resolver": dns.address})
    site.start()
    # Someone else connecting releases nothing.
    with backup.smtp_from(harness.unique_loopback()) as s:
        s.noop()
    # The primary connects (to send mail, or just to say it is back): its queue goes.
    with backup.smtp_from(primary_client) as s:
        s.noop()
    check_intact(site.find_message("boss@primary.test", mid, timeout=30), msg)
    backup.wait_queue_empty()
    logs = backup.logs("smtpd")
    found = re.findall(r"release: primary\.test for \[([0-9.]+)\] \(connection\)", logs)
    assert found == [primary_client], logs[-2000:]
