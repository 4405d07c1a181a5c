# mailctl's queue commands against a real queue manager (list, show, hold, release,
# flush, delete over spool/private/control; show also reads the queue file), and
# `mailctl config-example`, which make install writes as the first mailbag.conf.
#   - messages for a remote domain wait while no remote agent runs: listed and shown
#   - with a remote agent and an MX (served by a real unbound) where nobody listens, they
#     are deferred: the listing shows the last error, hold keeps one back, release and
#     flush send them again at once, delete removes one; the queue manager stays healthy
#   - unknown ids, bad ids, and a queue manager that is not running, each with its exit
import os
import re
import subprocess

import pytest

import harness
import remote_peers
from remote_peers import Unbound, inject, peers, start_remote  # noqa: F401

ID = r"[0-9A-F]{16}"


def message(n):
    return ("From: demo@example.test\r\nTo: alice@peer.test\r\nSubject: queued %d\r\n"
            "Message-ID: <queued-%d@example.test>\r\n\r\nbody %d\r\n" % (n, n, n)).encode()


def ctl(m, *args):
    return m.mailctl(*args, check=False)


def show_field(m, qid, field):
    r = ctl(m, "queue", "show", qid)
    assert r.returncode == 0, (r.stdout, r.stderr)
    for line in r.stdout.splitlines():
        if line.startswith(field + " "):
            return line[len(field):].strip()
    raise AssertionError("no %r in:\n%s" % (field, r.stdout))


def wait_field(m, qid, field, pattern, timeout=30):
    rx = re.compile(pattern)
    for _ in harness.deadline_loop(timeout, lambda: "%s %s to match %r (is %r)"
                                   % (qid, field, pattern, show_field(m, qid, field))):
        if rx.search(show_field(m, qid, field)):
            return
        m.check_alive()


def local_delivery_works(m, n):
    sent = m.send("demo@example.test", "Subject: still alive %d\r\n\r\nhello\r\n" % n)
    assert sent.code == 250, sent
    m.wait_for_messages("demo@example.test", n)


def test_list_and_show_waiting_messages(mb):
    r = ctl(mb, "queue", "list")
    assert (r.returncode, r.stdout) == (0, "Mail queue is empty\n"), r.stderr
    # No remote agent runs: mail for another domain waits in the queue.
    q1 = inject(mb, "demo@example.test", ["alice@peer.test", "Bob@Peer.Test"], message(1))
    q2 = inject(mb, "", ["carol@peer.test"], message(2))
    r = ctl(mb, "queue", "list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("-Queue ID-")
    lf1, lf2 = message(1).replace(b"\r\n", b"\n"), message(2).replace(b"\r\n", b"\n")
    size1, size2 = len(lf1), len(lf2)
    assert re.match(r"%s +%d \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d  demo@example\.test$" % (q1, size1), lines[1]), lines
    assert [lines[2].strip(), lines[3].strip().lower()] == ["alice@peer.test", "bob@peer.test"], lines
    assert lines[4] == ""
    assert re.match(r"%s +%d .*  MAILER-DAEMON$" % (q2, size2), lines[5]), lines
    assert lines[6].strip() == "carol@peer.test"
    assert lines[-1] == "-- 1 Kbytes in 2 Requests.", lines

    r = ctl(mb, "queue", "show", q1)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith("queue id     %s\n" % q1), out
    assert "\nsize         %d bytes, %d lines, 7BIT\n" % (size1, lf1.count(b"\n")) in out
    assert "\nprotocol     local from test injector\n" in out
    assert "\nsender       <demo@example.test>\n" in out
    assert "\nstate        waiting for delivery\n" in out, out
    assert "\nattempts     0\n" in out
    assert re.search(r"\nrecipients\n  <alice@peer\.test>  waiting\n  <bob@peer\.test>  waiting\n", out, re.I), out
    assert out.endswith("header\n  From: demo@example.test\n  To: alice@peer.test\n  Subject: queued 1\n"
                        "  Message-ID: <queued-1@example.test>\n"), out

    # Deleting a waiting message: gone from the listing and from the spool.
    r = ctl(mb, "queue", "delete", q2)
    assert (r.returncode, r.stdout) == (0, "%s deleted\n" % q2), r.stderr
    assert q2 not in mb.queue_files()
    r = ctl(mb, "queue", "show", q2)
    assert r.returncode == 2 and "no message %s in the queue" % q2 in r.stderr
    assert "-- 1 Kbytes in 1 Request." in ctl(mb, "queue", "list").stdout
    mb.check_alive()
    local_delivery_works(mb, 1)


def test_a_long_listing_comes_in_pages(mb):
    # The queue manager sends at most ~96 KiB per page; 120 messages with 20 recipients
    # each take about twice that, and every one of them must be listed once.
    rcpts = ["recipient-with-a-long-name-%02d@peer.test" % n for n in range(20)]
    ids = [inject(mb, "demo@example.test", rcpts, message(n)) for n in range(120)]
    r = ctl(mb, "queue", "list")
    assert r.returncode == 0, r.stderr
    listed = re.findall(r"^(%s) " % ID, r.stdout, re.M)
    assert listed == sorted(ids)
    assert r.stdout.count("recipient-with-a-long-name-19@peer.test\n") == 120
    assert r.stdout.endswith(" Kbytes in 120 Requests.\n")
    assert len(r.stdout) > 2 * 96 * 1024


def long_address(n):
    # 64-octet local part (RFC 5321 4.5.3.1.1) and a long domain: 196 octets each.
    return "r%03d-%s@%s.peer.test" % (n, "x" * 59, ".".join(["d" * 60] * 2))


def test_a_message_larger_than_one_frame_is_listed_and_shown(mb):
    # A local user can queue a message whose recipients alone encode to more than the
    # 128 KiB frame limit of the control socket (700 recipients of ~200 octets). The
    # queue manager must answer (truncating, and saying so) and keep running.
    rcpts = [long_address(n) for n in range(700)]
    r = subprocess.run([harness.bin_path("sendmail"), "-C", mb.conf_path, "-f", "demo@example.test"] + rcpts,
                       input=b"Subject: many recipients\n\nbody\n", capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    small = inject(mb, "demo@example.test", ["alice@peer.test"], message(1))
    r = ctl(mb, "queue", "list")
    assert r.returncode == 0, (r.stdout[-500:], r.stderr)
    ids = re.findall(r"^(%s) " % ID, r.stdout, re.M)
    assert len(ids) == 2 and small in ids, r.stdout[-2000:]
    big = ids[0] if ids[1] == small else ids[1]
    assert long_address(0) in r.stdout
    m = re.search(r"\.\.\. and (\d+) more recipients not listed", r.stdout)
    assert m and 0 < int(m.group(1)) < 700, r.stdout[-2000:]
    assert r.stdout.endswith(" in 2 Requests.\n"), r.stdout[-200:]
    r = ctl(mb, "queue", "show", big)
    assert r.returncode == 0, (r.stdout[-500:], r.stderr)
    assert "\nrecipients\n" in r.stdout and long_address(0) in r.stdout
    assert re.search(r"\.\.\. and \d+ more recipients not listed", r.stdout), r.stdout[-2000:]
    mb.check_alive()
    local_delivery_works(mb, 1)


def test_unknown_and_bad_ids(mb):
    for cmd in ("delete", "hold", "release", "flush"):
        r = ctl(mb, "queue", cmd, "0123456789ABCDEF")
        assert r.returncode == 2, (cmd, r.stdout, r.stderr)
        assert "no message 0123456789ABCDEF in the queue" in r.stderr
        r = ctl(mb, "queue", cmd, "../../etc/passwd")
        assert r.returncode == 64, (cmd, r.stdout, r.stderr)
        assert "not a queue id" in r.stderr
    assert ctl(mb, "queue", "show", "0123456789ABCDEF").returncode == 2
    assert ctl(mb, "queue", "show", "abc").returncode == 64
    r = ctl(mb, "queue", "flush")
    assert (r.returncode, r.stdout) == (0, "0 deferred messages scheduled for delivery now\n"), r.stderr
    mb.check_alive()


@pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed")
def test_deferred_hold_release_flush_delete(make_mailbag, peers):
    dead = harness.unique_loopback()  # the MX: nobody listens there
    dns = peers(Unbound(["peer.test"], ["peer.test. MX 10 mx.peer.test.", "mx.peer.test. A %s" % dead]).start())
    # Long retry times: a deferred message waits until it is released or flushed.
    m = make_mailbag(conf={"dns_resolver": dns.address, "remote_timeout": "10s",
                           "queue_retry_min": "1h", "queue_retry_max": "2h"})
    held = inject(m, "demo@example.test", ["alice@peer.test"], message(1))
    other = inject(m, "demo@example.test", ["bob@peer.test", "carol@peer.test"], message(2))
    r = ctl(m, "queue", "hold", held)
    assert (r.returncode, r.stdout) == (0, "%s is on hold\n" % held), r.stderr
    start_remote(m)

    refused = "connect to mx.peer.test[%s]:25: Connection refused" % dead
    wait_field(m, other, "state", r"^deferred, next attempt .* \(in (59m|1h 0m)\)$")
    assert show_field(m, other, "attempts") == "1"
    assert show_field(m, held, "state").startswith("on hold")
    assert show_field(m, held, "attempts") == "0"
    out = ctl(m, "queue", "show", other).stdout
    assert "  <bob@peer.test>  deferred  4.4.1 %s\n" % refused in out, out

    lines = ctl(m, "queue", "list").stdout.splitlines()
    i = next(n for n, l in enumerate(lines) if l.startswith(held))
    assert lines[i].startswith(held + "!"), lines
    assert lines[i + 1].strip() == "alice@peer.test", lines  # held before any attempt: no error
    j = next(n for n, l in enumerate(lines) if l.startswith(other))
    assert lines[j].startswith(other + " "), lines
    assert lines[j + 1:j + 4] == ["(%s)" % refused, " " * 48 + "bob@peer.test", " " * 48 + "carol@peer.test"], lines

    # Release: tried at once, and deferred like the other.
    r = ctl(m, "queue", "release", held)
    assert (r.returncode, r.stdout) == (0, "%s released\n" % held), r.stderr
    wait_field(m, held, "attempts", r"^1$")
    wait_field(m, held, "state", r"^deferred")

    # Flush one, then all: each deferred message is tried again now, not in an hour.
    r = ctl(m, "queue", "flush", other)
    assert (r.returncode, r.stdout) == (0, "1 deferred messages scheduled for delivery now\n"), r.stderr
    wait_field(m, other, "attempts", r"^2$")
    wait_field(m, other, "state", r"^deferred")
    r = ctl(m, "queue", "flush")
    assert (r.returncode, r.stdout) == (0, "2 deferred messages scheduled for delivery now\n"), r.stderr
    wait_field(m, other, "attempts", r"^3$")
    wait_field(m, held, "attempts", r"^2$")

    # Hold and delete a deferred message.
    assert ctl(m, "queue", "hold", other).returncode == 0
    assert show_field(m, other, "state").startswith("on hold")
    r = ctl(m, "queue", "delete", other)
    assert (r.returncode, r.stdout) == (0, "%s deleted\n" % other), r.stderr
    assert other not in m.queue_files()
    assert other not in ctl(m, "queue", "list").stdout
    m.wait_for_log("queue-manager", r"%s: deleted by the administrator" % other)

    # The queue manager carried on through all of it.
    m.check_alive()
    local_delivery_works(m, 1)
    assert held in m.queue_files()


def test_queue_manager_not_running(mb):
    qid = inject(mb, "demo@example.test", ["alice@peer.test"], message(1))
    mb.kill("queue-manager", wait=True)
    sock = os.path.join(mb.spool, "private", "control")
    for args in (("queue", "list"), ("queue", "flush"), ("queue", "hold", qid)):
        r = ctl(mb, *args)
        assert r.returncode == 69, (args, r.stdout, r.stderr)
        assert re.search(r"queue manager is not running \((no socket at|nobody listens on) %s\)" % re.escape(sock),
                         r.stderr), r.stderr
    # show still reads the queue file.
    r = ctl(mb, "queue", "show", qid)
    assert r.returncode == 0, r.stderr
    assert "\nstate        unknown: queue manager is not running" in r.stdout, r.stdout
    assert "\nrecipients\n  <alice@peer.test>\n" in r.stdout


def test_config_example_loads_and_checks_clean(tmp_path):
    r = subprocess.run([harness.bin_path("mailctl"), "config-example"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == ""
    path = tmp_path / "mailbag.conf"
    path.write_text(r.stdout)
    c = subprocess.run([harness.bin_path("mailctl"), "-c", str(path), "check-config"], capture_output=True, text=True)
    # No problems; the one note is that the example sets no TLS certificate.
    lines = c.stdout.splitlines()
    assert c.returncode == 0 and len(lines) == 2, c.stdout + c.stderr
    assert lines[0].startswith("%s: note: no tls_cert_file: " % path) and lines[1] == "%s: ok" % path
    # Every key of every daemon is in it.
    for prog in ("smtpd", "queue-manager", "local", "remote", "pop3d"):
        if os.path.exists(harness.bin_path(prog)):
            for key in harness.config_keys(prog):
                assert "\n#%s = " % key in r.stdout, (prog, key)
