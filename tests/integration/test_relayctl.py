# Tests of relayctl (the binary) and of POP-before-SMTP end to end: every command and
# every bad input (exit status 2, database unchanged), the dump/edit/load round trip,
# relaying granted by a POP3 login, by `relayctl add` and by a future stamp, refused
# after `relayctl expire 0`; and pop3d writing, smtpd and relayctl reading and cron's
# expire running at the same moment without losing or damaging anything.
import os
import shutil
import smtplib
import subprocess
import tempfile
import threading
import time

import pytest

import harness
from test_pop3 import PASSWORD, USER, POP3From, tls_context


def relayctl(conf, *args, input=None):
    return subprocess.run([harness.bin_path("relayctl"), "-c", conf] + list(args), input=input,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def conf():
    # As root, relayctl works as relay.mdb's owner (mb-pop3d), who must reach the data
    # directory: a directory other users can search, as the harness's trees are.
    top = tempfile.mkdtemp(prefix="mb-relayctl-", dir="/tmp")
    os.chmod(top, 0o755)
    data = os.path.join(top, "data")
    os.mkdir(data, 0o755)
    p = os.path.join(top, "mailbag.conf")
    with open(p, "w") as f:
        f.write("data_directory = %s\nrelay_lifetime = 30m\n" % data)
    yield p
    shutil.rmtree(top, ignore_errors=True)


def dump(conf):
    r = relayctl(conf, "dump")
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_commands(conf):
    now = int(time.time())
    assert relayctl(conf, "add", "10.11.12.13").returncode == 0
    assert relayctl(conf, "add", "2001:DB8::1", str(now - 3600)).returncode == 0
    assert relayctl(conf, "add", "::ffff:192.0.2.1", str(now + 3600)).returncode == 0
    lines = dump(conf).splitlines()
    assert len(lines) == 3
    entries = dict(line.split("\t") for line in lines)
    assert abs(int(entries["10.11.12.13"]) - now) <= 2
    assert entries["2001:db8::1"] == str(now - 3600)
    assert entries["192.0.2.1"] == str(now + 3600)
    # list 0: not the future one; list (relay_lifetime, as expire) and list 30: only the
    # hour-old one
    assert sorted(relayctl(conf, "list", "0").stdout.splitlines()) == sorted(
        l for l in lines if not l.startswith("192.0.2.1"))
    assert relayctl(conf, "list").stdout == "2001:db8::1\t%d\n" % (now - 3600)
    assert relayctl(conf, "list", "30").stdout == "2001:db8::1\t%d\n" % (now - 3600)
    # expire (default: relay_lifetime = 30 minutes) removes the hour-old one, silently
    r = relayctl(conf, "expire")
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    assert "2001:db8::1" not in dump(conf)
    # expire 0: everything that is not in the future
    assert relayctl(conf, "expire", "0").returncode == 0
    assert dump(conf) == "192.0.2.1\t%d\n" % (now + 3600)
    # delete, including one absent address: exit 1 and a message
    r = relayctl(conf, "delete", "192.0.2.1", "10.9.9.9")
    assert r.returncode == 1
    assert "10.9.9.9: not in the relay database" in r.stderr
    assert dump(conf) == ""
    r = relayctl(conf, "--help")
    assert r.returncode == 0 and "expire [n]" in r.stdout


def test_bad_inputs_exit_2_and_change_nothing(conf, tmp_path):
    assert relayctl(conf, "add", "10.0.0.1", "5").returncode == 0
    before = dump(conf)
    bad_file = tmp_path / "bad"
    bad_file.write_text("10.0.0.2\t7\n10.0.0.300\t8\n")
    cases = [
        ([], "no command given"),
        (["nonsense"], "unknown command 'nonsense'"),
        (["add"], "add takes an address"),
        (["add", "10.0.0.256"], "invalid address '10.0.0.256'"),
        (["add", "host.example.org"], "invalid address"),
        (["add", "10.0.0.2", "soon"], "bad time stamp 'soon'"),
        (["add", "10.0.0.2", "-1"], "bad time stamp '-1'"),
        (["delete"], "delete takes one or more addresses"),
        (["delete", "10.0.0.1", "10.0.0"], "invalid address '10.0.0'"),
        (["expire", "1.5"], "bad number of minutes '1.5'"),
        (["list", "x"], "bad number of minutes 'x'"),
        (["list", "1", "2"], "at most one number"),
        (["dump", "all"], "dump takes no arguments"),
        (["load"], "load takes"),
        (["load", str(tmp_path / "missing")], "cannot read"),
        (["load", str(bad_file)], "%s:2: invalid address '10.0.0.300' (nothing loaded)" % bad_file),
    ]
    for args, msg in cases:
        r = relayctl(conf, *args)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert msg in r.stderr, (args, r.stderr)
        assert r.stdout == ""
        assert dump(conf) == before, args
    unreadable = tmp_path / "unreadable"
    unreadable.write_text("10.0.0.9 1\n")
    unreadable.chmod(0)
    if not harness.is_root():  # root reads anything
        r = relayctl(conf, "load", str(unreadable))
        assert r.returncode == 2 and "Permission denied" in r.stderr
    r = relayctl(conf, "load", "-", input="10.0.0.7 1\nbogus 2\n")
    assert r.returncode == 2 and "(stdin):2: invalid address 'bogus'" in r.stderr
    assert dump(conf) == before


def test_config_and_database_errors_exit_3(tmp_path):
    r = relayctl(str(tmp_path / "no.conf"), "dump")
    assert r.returncode == 3 and "no.conf" in r.stderr
    p = tmp_path / "c.conf"
    p.write_text("data_directory = %s\n" % (tmp_path / "missing-dir"))
    r = relayctl(str(p), "add", "10.0.0.1")
    assert r.returncode == 3 and "relay.mdb" in r.stderr


def test_load_round_trip(conf, tmp_path):
    now = int(time.time())
    for i in range(5):
        assert relayctl(conf, "add", "10.0.0.%d" % i, str(now - i)).returncode == 0
    assert relayctl(conf, "add", "2001:db8::5", str(now + 99)).returncode == 0
    text = dump(conf)
    # Edit by hand: drop a line, change a time, add a comment and an IPv6 address with
    # spaces instead of the tab.
    lines = [l for l in text.splitlines() if not l.startswith("10.0.0.3\t")]
    lines = [("10.0.0.1\t%d" % (now + 500)) if l.startswith("10.0.0.1\t") else l for l in lines]
    edited = "# edited by hand\n" + "\n".join(lines) + "\n2001:DB8::7   %d\n" % now
    f = tmp_path / "edited"
    f.write_text(edited)
    r = relayctl(conf, "load", str(f))
    assert r.returncode == 0, r.stderr
    want = sorted([l for l in lines] + ["2001:db8::7\t%d" % now])
    assert sorted(dump(conf).splitlines()) == want
    # dump -> load - -> dump is the identity; -m merges
    d = dump(conf)
    assert relayctl(conf, "load", "-", input=d).returncode == 0
    assert dump(conf) == d
    assert relayctl(conf, "load", "-m", "-", input="192.0.2.9\t1\n").returncode == 0
    assert sorted(dump(conf).splitlines()) == sorted(d.splitlines() + ["192.0.2.9\t1"])


# ---------------------------------------------------------------------------------------
# POP-before-SMTP end to end.

FOREIGN = "someone@foreign.example"


def client_ip(m, n):
    """A loopback address to act as a roaming client's address (all of 127/8 is local)."""
    a = m.host.split(".")
    return "127.%s.%s.%d" % (a[1], (int(a[2]) + 100) % 250 + 1, n)


def may_relay(m, source):
    """True if smtpd accepts a foreign recipient from `source`; False if it refuses."""
    s = smtplib.SMTP(m.host, m.port, local_hostname="roaming.example.net", timeout=30,
                     source_address=(source, 0))
    try:
        s.ehlo()
        code, _ = s.mail("user@example.test")
        assert code == 250
        code, text = s.rcpt(FOREIGN)
        assert code in (250, 550, 554), (code, text)
        return code == 250
    finally:
        s.quit()


def pop_login(m, source):
    c = POP3From(m.host, m.ports["pop3_listen"], source)
    c.stls(tls_context(m))
    c.user(USER)
    c.pass_(PASSWORD)
    c.quit()


@pytest.fixture
def relaymb(make_mailbag):
    # The roaming clients connect from 127.x addresses: relay_networks (loopback by default)
    # is emptied so that only the relay database can let them relay.
    m = make_mailbag(conf={"pop_before_smtp": "yes", "relay_lifetime": "30m", "relay_networks": ""})
    m.start_pop3d()
    return m


def test_pop_before_smtp(relaymb):
    m = relaymb
    ip = client_ip(m, 7)
    assert not may_relay(m, ip)
    pop_login(m, ip)
    out = relayctl(m.conf_path, "dump").stdout
    assert out.startswith(ip + "\t")
    assert may_relay(m, ip)
    assert not may_relay(m, client_ip(m, 8))  # another address is not affected
    assert relayctl(m.conf_path, "expire", "0").returncode == 0
    assert not may_relay(m, ip)
    # By hand:
    assert relayctl(m.conf_path, "add", ip).returncode == 0
    assert may_relay(m, ip)
    assert relayctl(m.conf_path, "add", ip, str(int(time.time()) - 31 * 60)).returncode == 0
    assert not may_relay(m, ip)  # older than relay_lifetime
    # A future stamp grants relaying until its time (and survives expire).
    assert relayctl(m.conf_path, "add", ip, str(int(time.time()) + 3600)).returncode == 0
    assert relayctl(m.conf_path, "expire", "0").returncode == 0
    assert may_relay(m, ip)
    assert relayctl(m.conf_path, "delete", ip).returncode == 0
    assert not may_relay(m, ip)


def test_writer_reader_and_expirer_at_once(relaymb):
    """pop3d stamps logins from 60 addresses while relayctl reads (list/dump) and cron
    expires (expire 1440) in a loop, and stale entries are added and expired meanwhile.
    At the end every login is there with a fresh time, every stale entry is gone, no
    reader ever saw a malformed line, and mdb_stat finds the file sound."""
    m = relaymb
    ips = [client_ip(m, 10 + i) for i in range(60)]
    stop = threading.Event()
    problems = []
    old = int(time.time()) - 2 * 86400

    def writer():
        try:
            for ip in ips:
                pop_login(m, ip)
        except Exception as e:  # noqa: BLE001 - reported below
            problems.append("writer: %r" % e)
        finally:
            stop.set()

    def reader():
        while not stop.is_set():
            for cmd in ("dump", "list"):
                r = relayctl(m.conf_path, cmd)
                if r.returncode != 0:
                    problems.append("%s: %s" % (cmd, r.stderr))
                for line in r.stdout.splitlines():
                    a, _, t = line.partition("\t")
                    if not a or not t.isdigit():
                        problems.append("malformed line %r" % line)

    def expirer():
        n = 0
        while not stop.is_set():
            stale = "198.51.100.%d" % (n % 200 + 1)
            for args in (("add", stale, str(old)), ("expire", "1440")):
                r = relayctl(m.conf_path, *args)
                if r.returncode != 0:
                    problems.append("%s: %s" % (args, r.stderr))
            n += 1

    threads = [threading.Thread(target=f) for f in (writer, reader, expirer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not problems, problems[:5]
    entries = dict(l.split("\t") for l in relayctl(m.conf_path, "dump").stdout.splitlines())
    now = int(time.time())
    for ip in ips:
        assert ip in entries, ip
        assert now - 600 < int(entries[ip]) <= now
    assert not [a for a in entries if a.startswith("198.51.100.")]
    r = subprocess.run(["mdb_stat", "-n", "-a", os.path.join(m.data, "relay.mdb")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "Entries: %d" % len(ips) in r.stdout, r.stdout
