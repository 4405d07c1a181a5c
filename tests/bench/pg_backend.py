# `make bench`, part postgresql: the same Mailbag with its accounts on LMDB and on
# PostgreSQL (accounts_backend = postgresql; a private server started as the integration
# tests start it, tests/integration/pg_support.py, on this machine over loopback TCP),
# side by side on 127.0.0.35 and 127.0.0.36, the rounds alternating. Two figures:
#  - the RCPT round trip: one client, MAIL then one RCPT at a time (RSET every 90),
#    per-node cache warm (every address asked before); for PostgreSQL also a miss
#    (addresses never asked: each a query on smtpd's database thread);
#  - end-to-end 4 KB messages per second, as the smtp part measures them (accepted,
#    delivered to the Maildirs, 100 users).
# Target (README, Performance): PostgreSQL with a warm cache within 10 % of LMDB.
import os
import time

import servers
from report import Failure, log

from pg_support import Postgres, available  # tests/integration, on the path through servers
from rawsmtp import RawSMTP

LMDB_HOST, PG_HOST = "127.0.0.35", "127.0.0.36"
SMTP_PORT, POP3_PORT = 2525, 2111


def rcpt_seconds(host, addresses):
    """Seconds per RCPT round trip over `addresses`: MAIL, then one RCPT at a time; a new
    session every 15 (a refused RCPT counts towards smtpd's error limit), only the RCPTs
    timed."""
    spent, n, c = 0.0, 0, None
    try:
        for i, a in enumerate(addresses):
            if i % 15 == 0:
                if c is not None:
                    c.cmd("QUIT")
                c = RawSMTP(host, SMTP_PORT)
                assert c.reply()[0] == 220
                assert c.cmd("EHLO bench.example")[0] == 250
                if c.cmd("MAIL FROM:<load@bench.example>")[0] != 250:
                    raise Failure("MAIL refused on %s" % host)
            t0 = time.perf_counter()
            code = c.cmd("RCPT TO:<%s>" % a)[0]
            spent += time.perf_counter() - t0
            if code not in (250, 550):
                raise Failure("RCPT %s on %s: %d" % (a, host, code))
            n += 1
        return spent / n
    finally:
        if c is not None:
            c.cmd("QUIT")


def run(b, domain, users, n, rounds):
    """users: local parts (NUSERS of them). Returns the results dict; rounds go to b."""
    if not available():
        raise Failure("the postgresql part needs Debian's postgresql (15)")
    accounts = [("%s@%s" % (u, domain), "pw-%s" % u) for u in users]
    pg = Postgres().start()
    lm = pm = None
    try:
        pg.setup_database()
        lm = servers.BenchMailbag(b.a.bin, accounts, domain, LMDB_HOST, SMTP_PORT, POP3_PORT)
        lm.start()
        pm = servers.BenchMailbag(b.a.bin, accounts, domain, PG_HOST, SMTP_PORT, POP3_PORT,
                                  conf=pg.conf(ttl="60s"))
        pm._write_conf()
        pm.mailctl("db", "init")
        pg.set_role_passwords()
        pm.start()
        log("postgresql: Mailbag on LMDB at %s, on PostgreSQL at %s (%d users)" % (LMDB_HOST, PG_HOST, len(users)))
        known = ["%s@%s" % (users[i % len(users)], domain) for i in range(2000)]
        out = {"rcpt_us": {"lmdb": [], "postgresql": [], "postgresql_miss": []}, "messages": n}
        contenders = [
            (name, m.host, m.roots, (lambda m=m: all(m.alive(x) for x in m.procs)),
             [m.maildir_path(u) for u in users], (lambda m=m: m.logs("smtpd")[-3000:]))
            for name, m in (("lmdb", lm), ("postgresql", pm))]
        for m in (lm, pm):
            rcpt_seconds(m.host, known[:len(users)])  # warm: every address asked once
        for rnd in range(1, rounds + 1):
            for name, m in (("lmdb", lm), ("postgresql", pm)):
                us = rcpt_seconds(m.host, known) * 1e6
                out["rcpt_us"][name].append(us)
                log("postgresql round %d: RCPT round trip %-10s %.0f us (warm)" % (rnd, name, us))
            miss = ["nobody-%d-%d@%s" % (rnd, i, domain) for i in range(500)]
            us = rcpt_seconds(pm.host, miss) * 1e6
            out["rcpt_us"]["postgresql_miss"].append(us)
            log("postgresql round %d: RCPT round trip postgresql %.0f us (a miss: one query each)" % (rnd, us))
            for c in contenders:
                b.smtp_round(*c, size=4096, n=n, rnd=rnd, phase="postgresql", cpu_by_daemon=False)
        return out
    finally:
        for m in (pm, lm):
            if m is not None:
                m.cleanup()
        pg.cleanup()
