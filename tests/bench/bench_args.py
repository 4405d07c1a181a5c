# `make bench`'s command line (BENCH_ARGS): the parts to run, the scale of each, and
# the defaults of a full and of a --quick run.
import argparse
import os


def parse_args(argv):
    ap = argparse.ArgumentParser(description="Mailbag vs Postfix and Dovecot; see README.md, Performance")
    ap.add_argument("--bin", required=True, help="Mailbag's build/bin directory")
    ap.add_argument("--quick", action="store_true", help="a short run (~3 min) for development")
    ap.add_argument("--rounds", type=int, help="rounds per figure (default 5; quick 1)")
    ap.add_argument("--small", type=int, help="4 KB messages per SMTP round (default 4000)")
    ap.add_argument("--large", type=int, help="100 KB messages per SMTP round (default 1000)")
    ap.add_argument("--sessions", type=int, default=20, help="concurrent client sessions")
    ap.add_argument("--per-conn", type=int, default=1,
                    help="messages per SMTP connection (smtp-source's default: 1)")
    ap.add_argument("--pop3-per-user", type=int, help="messages per Maildir for POP3 (50)")
    ap.add_argument("--idle", type=int, help="idle SMTP sessions (default 10000)")
    ap.add_argument("--queue", type=int, help="deferred messages (default 100000)")
    ap.add_argument("--filtered", type=int, help="4 KB messages per filtered round (default 1000)")
    ap.add_argument("--imap-logins", type=int, help="IMAP logins per round and server (default 2000)")
    ap.add_argument("--postgresql", type=int, help="4 KB messages per PostgreSQL round (default 2000)")
    ap.add_argument("--out-messages", type=int,
                    help="outbound: 4 KB messages with one recipient each over 100 domains (default 10000)")
    ap.add_argument("--out-fanout", type=int,
                    help="outbound: messages with --out-fanout-rcpts recipients over 50 domains (default 100)")
    ap.add_argument("--big-queue", type=int,
                    help="deferred messages for the big-queue part (default 100000; 1000000 for the million)")
    ap.add_argument("--out-fanout-rcpts", type=int, default=1000, help="recipients per fan-out message")
    ap.add_argument("--only",
                    default="smtp,pop3,sync,idle,queue,dkim,filtered,imap-logins,postgresql,outbound,bigqueue",
                    help="comma-separated parts to run: smtp,pop3,sync,idle,queue,dkim,filtered,imap-logins,"
                    "postgresql,outbound,bigqueue, and "
                    "the optional profile and smtp-source (a cross-check of the load generator)")
    ap.add_argument("--profile", action="store_true",
                    help="also profile Mailbag over one 4 KB round with perf (part 'profile')")
    ap.add_argument("--json", help="where to write the results (default BUILD/bench/results.json)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directories")
    a = ap.parse_args(argv)
    q = a.quick
    a.rounds = a.rounds or (1 if q else 5)
    a.small = a.small or (1000 if q else 4000)
    a.large = a.large or (300 if q else 1000)
    a.filtered = a.filtered or (300 if q else 1000)
    a.imap_logins = a.imap_logins or (300 if q else 2000)
    a.postgresql = a.postgresql or (500 if q else 2000)
    a.pop3_per_user = a.pop3_per_user or (10 if q else 50)
    a.idle = a.idle if a.idle is not None else (2000 if q else 10000)
    a.queue = a.queue if a.queue is not None else (10000 if q else 100000)
    a.out_single = a.out_messages if a.out_messages is not None else (1000 if q else 10000)
    a.out_fanout = a.out_fanout if a.out_fanout is not None else (20 if q else 100)
    a.big_queue = a.big_queue if a.big_queue is not None else (20000 if q else 100000)
    a.parts = set(a.only.split(",")) | ({"profile"} if a.profile else set())
    a.build = os.path.dirname(os.path.abspath(a.bin))
    a.json = a.json or os.path.join(a.build, "bench", "results.json")
    return a
