# ETRN (RFC 1985) as a backup MX offers it, and what keeps it from being abused:
#   - by default only relay_networks may use it (etrn_networks defaults to them)
#   - a domain released by ETRN is not forced again for etrn_interval: more ETRNs for it
#     answer, but do not make the remote agent try again
#   - one client may send only so many ETRN commands per etrn_interval; then 458
import re
import time

import pytest

import harness
import remote_peers
from remote_peers import Unbound, inject, peers, start_remote  # noqa: F401
from test_submission import raw, source_ip


def session(m, source):
    c = raw(m, m.port, source=source)
    assert c.reply()[0] == 220
    assert c.cmd("EHLO mx.primary.example")[0] == 250
    return c


def test_etrn_is_for_relay_networks_by_default(make_mailbag):
    m = make_mailbag(start=False)
    primary = source_ip(m, 70)
    m.extra_conf.update({"relay_networks": "%s/32" % primary, "relay_domains": "backup.example"})
    m.start()
    c = session(m, source_ip(m, 71))
    code, lines = c.cmd("ETRN backup.example")
    assert code == 459, (code, lines)
    c.close()
    c = session(m, primary)
    code, lines = c.cmd("ETRN backup.example")
    assert code in (251, 253), (code, lines)
    c.close()
    m.check_alive()


def attempts(m, qid):
    r = m.mailctl("queue", "show", qid, check=False)
    assert r.returncode == 0, (r.stdout, r.stderr)
    return int(re.search(r"^attempts +(\d+)$", r.stdout, re.M).group(1))


def wait_attempts(m, qid, n, timeout=30):
    for _ in harness.deadline_loop(timeout, lambda: "%s to have %d attempts (has %d)" % (qid, n, attempts(m, qid))):
        if attempts(m, qid) == n and "deferred" in m.mailctl("queue", "show", qid).stdout:
            return
        m.check_alive()


@pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed")
def test_etrn_forces_a_domain_once_per_interval(make_mailbag, peers):
    dead = harness.unique_loopback()  # the primary's MX: nobody listens there
    dns = peers(Unbound(["backup.example"], ["backup.example. MX 10 mx.backup.example.",
                                             "mx.backup.example. A %s" % dead]).start())
    m = make_mailbag(start=False)
    primary = source_ip(m, 72)
    m.extra_conf.update({"dns_resolver": dns.address, "remote_timeout": "10s", "relay_domains": "backup.example",
                         "etrn_networks": "%s/32" % primary, "queue_retry_min": "1h", "queue_retry_max": "2h"})
    m.start()
    qid = inject(m, "someone@sender.example", ["boss@backup.example"], b"Subject: held\n\nfor the primary\n")
    start_remote(m)
    wait_attempts(m, qid, 1)

    c = session(m, primary)
    code, lines = c.cmd("ETRN backup.example")
    assert (code, lines[0]) == (253, "2.0.0 OK, 1 pending messages for node backup.example started"), lines
    wait_attempts(m, qid, 2)
    # Again at once, in this and in a second session: answered, but not forced again.
    for _ in range(3):
        code, lines = c.cmd("ETRN backup.example")
        assert code in (250, 253), (code, lines)
    c2 = session(m, primary)
    assert c2.cmd("ETRN @backup.example")[0] in (250, 253)
    c2.close()
    time.sleep(3)
    assert attempts(m, qid) == 2
    # The administrator's flush is not limited.
    assert m.mailctl("queue", "flush").returncode == 0
    wait_attempts(m, qid, 3)
    c.close()
    m.check_alive()


def test_etrn_commands_per_client_are_limited(make_mailbag):
    m = make_mailbag(start=False)
    primary, other = source_ip(m, 73), source_ip(m, 74)
    m.extra_conf.update({"relay_domains": "backup.example", "etrn_networks": "%s/32, %s/32" % (primary, other)})
    m.start()
    c = session(m, primary)
    codes = [c.cmd("ETRN backup.example")[0] for _ in range(40)]
    assert set(codes[:30]) <= {250, 251, 253}, codes
    assert codes[-1] == 458, codes
    c.close()
    # Another client is not affected by the first one's limit.
    c = session(m, other)
    assert c.cmd("ETRN backup.example")[0] in (250, 251, 253)
    c.close()
    m.check_alive()
