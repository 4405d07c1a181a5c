"""accounts_backend = postgresql: two Mailbag nodes (A and B, on different loopback
addresses, each with its own spool and data directory) share one PostgreSQL database
and one Maildir root. What is written through one node is honoured by the other: a user
added on A receives mail through B, a POP3 login on B lets its address relay through A,
a password changed on A works on B, an alias added on B resolves on A at once (LISTEN/
NOTIFY, not the TTL). The database's roles keep the daemons read-only. An LMDB
installation exported and imported gives the same answers on PostgreSQL. With the database
stopped in the middle of a load of 500 messages, RCPT answers
451 4.3.0, never 5xx, and once it is back every message that got 250 is delivered
exactly once. With the database hung (every server process stopped), the session whose
lookup needs it gets 451 4.3.0 within postgresql_timeout while the other sessions of the
same smtpd are answered at once. One PostgreSQL and one pair of nodes serve the whole
module."""
import os
import re
import select
import subprocess
import time

import pytest

import harness
from pg_support import PASSWORDS, Postgres, available
from test_pop3 import POP3From, tls_context
from test_relay import rcpt_codes
from test_submission import raw, source_ip

pytestmark = pytest.mark.skipif(not available(), reason="PostgreSQL 15 is not installed")

DOMAIN = "example.test"


class Cluster:
    def __init__(self):
        self.pg = Postgres().start()
        self.pg.setup_database()
        self.shared = os.path.join(self.pg.dir, "mail")
        conf = dict(self.pg.conf(), mail_directory=self.shared, pop_before_smtp="yes", relay_networks="")
        self.a = harness.Mailbag(conf=conf)
        self.a._write_conf()
        self.a.mailctl("db", "init")
        self.pg.set_role_passwords()
        self.a.start()
        self.b = harness.Mailbag(users=(), domains=(), conf=conf)
        self.b.start()
        self.b.start_pop3d()

    def maildir_files(self, user):
        local, domain = user.split("@")
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.shared, domain, local, sub)
            if os.path.isdir(d):
                out += [os.path.join(d, n) for n in os.listdir(d) if not n.startswith(".")]
        return out

    def wait_files(self, user, n, timeout=30):
        for _ in harness.deadline_loop(timeout, "%d messages for %s" % (n, user)):
            files = self.maildir_files(user)
            if len(files) >= n:
                return files

    def stop(self):
        for m in (self.a, self.b):
            if not m.stopped:
                m.stop()
        self.pg.cleanup()


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    yield c
    c.stop()


def pop_login(m, user, password, source=None):
    c = POP3From(m.host, m.ports["pop3_listen"], source or m.host)
    c.stls(tls_context(m))
    c.user(user)
    try:
        c.pass_(password)
        return True
    except Exception as e:  # poplib.error_proto
        return str(e)
    finally:
        try:
            c.quit()
        except Exception:
            c.close()


def test_user_added_on_a_receives_mail_through_b(cluster):
    cluster.a.mailctl("user", "add", "carol@" + DOMAIN, input="carol-secret\n")
    sent = cluster.b.send("carol@" + DOMAIN, "Subject: via B\r\n\r\nhello\r\n")
    assert sent.code == 250, sent
    files = cluster.wait_files("carol@" + DOMAIN, 1)
    assert b"Subject: via B" in open(files[0], "rb").read()


def test_pop3_login_on_b_lets_the_address_relay_through_a(cluster):
    ip = source_ip(cluster.b, 61)
    assert rcpt_codes(cluster.a, ["victim@far.example"], source=ip)[0][0] == 554
    assert pop_login(cluster.b, "demo@" + DOMAIN, "demo-secret", source=ip) is True
    t0 = time.monotonic()
    for _ in harness.deadline_loop(1.0, "relay through A"):
        if rcpt_codes(cluster.a, ["victim@far.example"], source=ip)[0][0] == 250:
            break
    assert time.monotonic() - t0 < 1.0
    assert rcpt_codes(cluster.a, ["victim@far.example"], source=source_ip(cluster.b, 62))[0][0] == 554


def test_password_changed_on_a_works_on_b(cluster):
    cluster.a.mailctl("user", "add", "dave@" + DOMAIN, input="old-secret\n")
    assert pop_login(cluster.b, "dave@" + DOMAIN, "old-secret") is True
    cluster.a.mailctl("user", "passwd", "dave@" + DOMAIN, input="new-secret\n")
    assert pop_login(cluster.b, "dave@" + DOMAIN, "new-secret") is True
    assert "-ERR" in pop_login(cluster.b, "dave@" + DOMAIN, "old-secret")


def test_alias_added_on_b_resolves_on_a_without_waiting_for_the_ttl(cluster):
    # A caches "no such user" first; the notification must empty that cache at once.
    assert rcpt_codes(cluster.a, ["team@" + DOMAIN])[0][0] == 550
    cluster.b.mailctl("alias", "add", "team@" + DOMAIN, "demo@" + DOMAIN)
    t0 = time.monotonic()
    for _ in harness.deadline_loop(1.0, "alias on A"):
        if rcpt_codes(cluster.a, ["team@" + DOMAIN])[0][0] == 250:
            break
    assert time.monotonic() - t0 < 1.0  # well under postgresql_cache_ttl (2s) + margin
    listed = cluster.a.mailctl("alias", "list").stdout
    assert "team@" + DOMAIN in listed


def test_the_daemon_roles_are_read_only_and_only_authd_reads_hashes(cluster):
    pg = cluster.pg
    reader = pg.psql("INSERT INTO domains (name) VALUES ('evil.example')", user="mailbag_reader",
                     password=PASSWORDS["mailbag_reader"], check=False)
    assert reader.returncode != 0 and "permission denied" in reader.stderr
    hashes = pg.psql("SELECT hash FROM passwords", user="mailbag_reader", password=PASSWORDS["mailbag_reader"],
                     check=False)
    assert hashes.returncode != 0 and "permission denied" in hashes.stderr
    pop3 = pg.psql("DELETE FROM users", user="mailbag_pop3", password=PASSWORDS["mailbag_pop3"], check=False)
    assert pop3.returncode != 0 and "permission denied" in pop3.stderr
    auth = pg.psql("SELECT count(*) FROM passwords", user="mailbag_auth", password=PASSWORDS["mailbag_auth"])
    assert int(auth.stdout.strip()) >= 1
    # mailctl refuses a second init, and migrate has nothing to do.
    assert cluster.a.mailctl("db", "init", check=False).returncode != 0
    assert "nothing to do" in cluster.a.mailctl("db", "migrate").stdout
    # A schema of another version is refused with a clear message, never guessed at.
    pg.psql("UPDATE schema_version SET version = 99")
    try:
        r = cluster.a.mailctl("user", "list", check=False)
        assert r.returncode != 0 and "schema version 99" in r.stderr, r.stderr
        r = cluster.a.mailctl("db", "migrate", check=False)
        assert r.returncode != 0 and "newer" in r.stderr, r.stderr
    finally:
        pg.psql("UPDATE schema_version SET version = 2")


def test_migrate_from_schema_1_adds_the_odmr_grants_table(cluster):
    pg = cluster.pg
    # A database made by a Mailbag of schema 1 (no ODMR grants yet).
    pg.psql("DROP TABLE atrn_grants; UPDATE schema_version SET version = 1")
    try:
        r = cluster.a.mailctl("atrn", "list", check=False)
        assert r.returncode != 0 and "schema version 1" in r.stderr, r.stderr
        assert "schema version 1 -> 2" in cluster.a.mailctl("db", "migrate").stdout
        cluster.a.mailctl("atrn", "grant", "demo@" + DOMAIN, "site.example")
        assert cluster.b.mailctl("atrn", "list").stdout == "demo@%s site.example\n" % DOMAIN
        # smtpd reads the grants as mailbag_reader.
        n = pg.psql("SELECT count(*) FROM atrn_grants", user="mailbag_reader", password=PASSWORDS["mailbag_reader"])
        assert int(n.stdout.strip()) == 1
        cluster.b.mailctl("atrn", "revoke", "demo@" + DOMAIN, "site.example")
        assert cluster.a.mailctl("atrn", "list").stdout == ""
    finally:
        pg.psql("UPDATE schema_version SET version = 2")


def test_export_from_lmdb_and_import_into_postgresql_give_the_same_answers(cluster, make_mailbag):
    old = make_mailbag(users=(("mover@moved.test", "mover-secret"),), domains=("moved.test",))
    old.mailctl("domain", "add", "other.test")
    old.mailctl("domain", "alias", "alias.test", "moved.test")
    old.mailctl("alias", "add", "list@moved.test", "mover@moved.test", "far@remote.example")
    old.mailctl("user", "add", "off@moved.test", input="off-secret\n")
    old.mailctl("user", "set", "off@moved.test", "disabled=yes")
    old.mailctl("user", "set", "mover@moved.test", "quota=10M", "forward=elsewhere@remote.example")
    old.mailctl("domain", "set", "other.test", "catchall=mover@moved.test")
    old.mailctl("relay-recipient", "add", "known@backup.example")
    old.mailctl("atrn", "grant", "mover@moved.test", "backup.example")
    dump = old.mailctl("db", "export").stdout
    assert dump.startswith("# mailbag accounts dump 1")
    cluster.a.mailctl("db", "import", "-", input=dump)
    addresses = ["mover@moved.test", "MOVER@moved.test", "mover+tag@moved.test", "list@moved.test",
                 "mover@alias.test", "nobody@moved.test", "off@moved.test", "postmaster@moved.test",
                 "abuse@alias.test", "anything@other.test", "list@alias.test"]
    want = [c for c, _ in rcpt_codes(old, addresses)]
    got = [c for c, _ in rcpt_codes(cluster.a, addresses)]
    assert got == want, list(zip(addresses, want, got))
    assert 250 in want and 550 in want
    # The hashes moved too: the user logs in on the other node with the old password
    # (the Maildirs move apart from the database, here with cp -a).
    subprocess.run(["cp", "-a", os.path.join(old.mail, "moved.test"), cluster.shared], check=True)
    assert pop_login(cluster.b, "mover@moved.test", "mover-secret") is True
    for cmd in (("user", "show", "mover@moved.test"), ("alias", "list", "moved.test"),
                ("domain", "show", "other.test"), ("relay-recipient", "list"), ("atrn", "list")):
        assert old.mailctl(*cmd).stdout.replace(old.mail, cluster.shared) == cluster.a.mailctl(*cmd).stdout, cmd


LOAD = 500  # messages, a third of them while the database is down


def test_database_stopped_mid_load_gives_451_and_loses_nothing(cluster):
    user = "load@" + DOMAIN
    cluster.a.mailctl("user", "add", user, input="load-secret\n")
    accepted, deferred = [], []

    nodes = (cluster.a, cluster.b)

    def send(lo, hi):
        """Messages lo..hi-1, alternately to each node, 25 per connection (smtpd's
        connection-rate limit would refuse one connection per message)."""
        conns = {}
        for i in range(lo, hi):
            node = nodes[i % 2]
            if (i - lo) % 50 < 2:
                if node in conns:
                    conns[node].quit()
                conns[node] = node.smtp()
                conns[node].ehlo()
            s = node.send(user, "Subject: load %d\r\nMessage-ID: <load-%d@test>\r\n\r\nx\r\n" % (i, i),
                          conn=conns[node])
            if s.code == 250:
                accepted.append(i)
            else:
                deferred.append((i, s.code, s.text))
        for c in conns.values():
            c.quit()

    third = LOAD // 3
    send(0, third)
    cluster.pg.stop()
    time.sleep(2.2)  # past postgresql_cache_ttl: cached answers no longer serve
    send(third, 2 * third)
    down_login = pop_login(cluster.b, "demo@" + DOMAIN, "demo-secret")
    cluster.pg.start()
    # Each process re-connects by itself (one attempt a second at most).
    for _ in harness.deadline_loop(15, "RCPT accepted again on both nodes"):
        if all(rcpt_codes(n, [user])[0][0] == 250 for n in nodes):
            break
    send(2 * third, LOAD)
    assert deferred, "the database was down: some RCPT must have been deferred"
    for i, code, text in deferred:
        assert code == 451 and b"4.3.0" in text, (i, code, text)
    assert "[SYS/TEMP]" in str(down_login), down_login
    assert len(accepted) >= LOAD - third
    files = cluster.wait_files(user, len(accepted), timeout=60)
    for m in nodes:
        m.wait_queue_empty(timeout=60)
    got = []
    for f in cluster.maildir_files(user):
        got += [int(x) for x in re.findall(rb"Subject: load (\d+)", open(f, "rb").read())]
    assert sorted(got) == sorted(accepted), "every 250 exactly once"
    assert len(files) == len(accepted)
    for m in nodes:
        assert "PostgreSQL" in m.logs("smtpd")
        m.check_alive()


def test_a_hung_database_stalls_no_other_session(cluster):
    """Every PostgreSQL process stopped (a hung server, a dead link: the connections stay
    open and nothing answers). The session whose RCPT needs the database waits for it, at
    most postgresql_timeout (2s here), and gets 451 4.3.0 (RFC 5321 4.2.5, 4.3.2: a
    transient failure, never 5xx); meanwhile a second session on the same smtpd gets its
    greeting, EHLO and NOOP answered at once. A POP3 login answers -ERR [SYS/TEMP]
    (RFC 3206 4). Once the database answers again the same transaction goes on, and the
    message that got 250 is delivered."""
    a = cluster.a
    user = "hang@" + DOMAIN
    a.mailctl("user", "add", user, input="hang-secret\n")
    first = raw(a, a.port)
    assert first.reply()[0] == 220
    assert first.cmd("EHLO one.example")[0] == 250
    assert first.cmd("MAIL FROM:<s@example.net>")[0] == 250
    with cluster.pg.frozen():
        t0 = time.monotonic()
        first.send(b"RCPT TO:<nobody-hang@example.test>\r\n")  # never asked before: not cached
        second = raw(a, a.port)
        assert second.reply()[0] == 220
        assert second.cmd("EHLO two.example")[0] == 250
        assert second.cmd("NOOP")[0] == 250
        answered = time.monotonic() - t0
        # The first session is still waiting for its lookup at this point.
        assert not first.buf and not select.select([first.sock], [], [], 0)[0]
        code, lines = first.reply()
        waited = time.monotonic() - t0
        down_login = pop_login(cluster.b, "demo@" + DOMAIN, "demo-secret")
    assert answered < 1.0, answered
    assert code == 451 and lines[0].startswith("4.3.0"), (code, lines)
    assert 1.5 <= waited < 4.0, waited
    assert "[SYS/TEMP]" in str(down_login), down_login
    assert second.cmd("QUIT")[0] == 221
    # The database answers again (the dropped connection is re-made a second later).
    for _ in harness.deadline_loop(10, "RCPT accepted after the database came back"):
        code = first.cmd("RCPT TO:<%s>" % user)[0]
        if code == 250:
            break
        assert code == 451, code
    assert first.cmd("DATA")[0] == 354
    assert first.cmd(b"Subject: after the hang\r\n\r\nx\r\n.")[0] == 250
    first.cmd("QUIT")
    files = cluster.wait_files(user, 1)
    assert len(files) == 1 and b"Subject: after the hang" in open(files[0], "rb").read()
    assert "no answer in time" in a.logs("smtpd")
    for m in (cluster.a, cluster.b):
        m.check_alive()


def test_a_schema_changed_under_a_running_node_is_refused_at_its_reconnect(cluster):
    """The schema version is checked at every (re)connect: a node whose connection is cut
    while the database has another schema refuses to guess (451 4.3.0 and a clear log
    line), and goes on by itself once the schema is right again."""
    pg = cluster.pg
    assert rcpt_codes(cluster.a, ["demo@" + DOMAIN])[0][0] == 250
    pg.psql("UPDATE schema_version SET version = 99")
    try:
        pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'mailbag_reader'")
        # The cut connection first, then the reconnect's check: 451 4.3.0 each time.
        for _ in harness.deadline_loop(5, "the other schema refused at the reconnect"):
            code, lines = rcpt_codes(cluster.a, ["nobody-schema@" + DOMAIN])[0]
            assert code == 451 and lines[0].startswith("4.3.0"), (code, lines)
            if "the database has schema version 99, this Mailbag needs 2" in cluster.a.logs("smtpd"):
                break
    finally:
        pg.psql("UPDATE schema_version SET version = 2")
    for _ in harness.deadline_loop(5, "answers again"):
        if rcpt_codes(cluster.a, ["nobody-schema@" + DOMAIN])[0][0] == 550:
            break
