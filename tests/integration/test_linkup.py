# The link-up hook of a site on a link that comes and goes (mailctl/mailbag-linkup.in,
# installed for ifupdown and NetworkManager): when the link comes up it runs mailctl
# wakeup (ETRN at the backup MX for the site's domains) and mailctl flush (the outgoing
# mail that waited for the link goes now, not at its next retry).
# Port 25 needs root: without it these tests are skipped.
import os
import re
import subprocess

import pytest

import harness
import remote_peers
from messages import make_message
from remote_peers import Postfix, Unbound, check_intact, inject, peers, remote_log_line, start_remote  # noqa: F401

pytestmark = [
    pytest.mark.skipif(not harness.is_root(), reason="needs root: peers listen on 127.x port 25"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.POSTFIX), reason="postfix not installed"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed"),
]

HOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "mailctl", "mailbag-linkup.in")


def run_hook(m, *args, log=None):
    env = dict(os.environ, MAILBAG_MAILCTL=harness.bin_path("mailctl"), MAILBAG_CONFIG=m.conf_path,
               MAILBAG_LINKUP_FOREGROUND="1", MAILBAG_LINKUP_LOG=log or "")
    return subprocess.run(["sh", HOOK] + list(args), env=env, capture_output=True, text=True, timeout=120)


def test_link_up_hook_delivers_deferred_mail_and_asks_the_backup(make_mailbag, peers, tmp_path):
    # The provider's server: the MX of dest.test (down while the link is down) and the
    # backup MX that holds site.test's mail.
    provider = Postfix("dest.test", ["bob"], relay={"site.test": "[%s]:25" % harness.unique_loopback()})
    dns = peers(Unbound(["dest.test"], ["dest.test. MX 10 mx.dest.test.",
                                        "mx.dest.test. A %s" % provider.ip]).start())
    # Retries an hour apart: only the hook can deliver within the test.
    m = make_mailbag(conf={"dns_resolver": dns.address, "remote_timeout": "10s", "queue_retry_min": "1h",
                           "queue_retry_max": "2h", "etrn_hosts": "[%s]" % provider.ip,
                           "etrn_domains": "site.test"})
    start_remote(m)
    _, msg = make_message("linkup", 1, to="bob@dest.test")
    qid = inject(m, "alice@example.test", ["bob@dest.test"], msg, body_8bit=True)
    remote_log_line(m, r"%s: to=<bob@dest\.test>, relay=none, .*status=deferred" % qid)

    peers(provider.start())  # the link is up
    # A NetworkManager event other than "up", and the loopback under ifupdown: nothing.
    log = str(tmp_path / "hook.log")
    assert run_hook(m, "eth0", "down", log=log).returncode == 0
    r = subprocess.run(["sh", HOOK], env=dict(os.environ, IFACE="lo", MAILBAG_MAILCTL=harness.bin_path("mailctl"),
                                             MAILBAG_CONFIG=m.conf_path, MAILBAG_LINKUP_FOREGROUND="1",
                                             MAILBAG_LINKUP_LOG=log), timeout=60)
    assert r.returncode == 0
    assert not os.path.exists(log)
    assert len(m.queue_files()) == 1

    r = run_hook(m, "eth0", "up", log=log)
    assert r.returncode == 0, r.stderr
    got = provider.wait_for_messages("bob", 1, check=m.check_alive)
    check_intact(got[0], msg)
    remote_log_line(m, r"%s: to=<bob@dest\.test>, relay=mx\.dest\.test\[%s\]:25, .*status=sent"
                    % (qid, re.escape(provider.ip)))
    m.wait_queue_empty()
    text = open(log).read()
    # Postfix holds nothing for site.test yet: RFC 1985 answers 250-253 all mean "asked".
    assert re.search(r"wakeup: ok: \[%s\] site\.test: 25[0-3] " % re.escape(provider.ip), text), text
    assert "flush: " in text and "flush failed" not in text, text


def test_mailctl_wakeup_reports_each_host_and_fails_when_one_is_down(make_mailbag, peers):
    backup = peers(Postfix("backup.test", ["postmaster"],
                           relay={"site.test": "[%s]:25" % harness.unique_loopback()}).start())
    down = harness.unique_loopback()
    m = make_mailbag(conf={"etrn_hosts": "[%s], [%s]" % (backup.ip, down), "etrn_domains": "site.test",
                           "remote_timeout": "10s"})
    r = m.mailctl("wakeup", check=False)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert re.search(r"^\[%s\] site\.test: 25[0-3] " % re.escape(backup.ip), r.stdout, re.M), r.stdout
    assert "[%s] site.test: " % down in r.stderr and "Connection refused" in r.stderr, r.stderr
    # Nothing configured: nothing to do, and no failure.
    plain = make_mailbag()
    r = plain.mailctl("wakeup")
    assert "nothing to wake up" in r.stdout
