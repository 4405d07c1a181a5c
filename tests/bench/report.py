# What the benchmark tells: progress lines, the machine it ran on, and the final table
# (medians over the rounds, Mailbag/peer ratios, the performance targets).
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time

T0 = time.monotonic()


class Failure(Exception):
    """The run itself failed (a message missing, a server died): not a missed target."""


def log(msg):
    print("[%7.1fs] %s" % (time.monotonic() - T0, msg), flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def _out(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        return " ".join((r.stdout or r.stderr).split())
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine_info():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    here = os.path.dirname(os.path.abspath(__file__))
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "tmp_filesystem": _out(["findmnt", "-n", "-o", "FSTYPE,SOURCE,OPTIONS", "-T", "/tmp"]),
        "os": _out(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "postfix": _out(["postconf", "-h", "-d", "mail_version"]),
        "dovecot": _out(["dovecot", "--version"]),
        "mailbag_commit": _out(["git", "-C", here, "rev-parse", "--short", "HEAD"]),
        "loadavg_start": loadavg(),
    }


def command_line(a):
    """The command that reproduces the run: the make line when make ran us, and always
    the exact python command."""
    py = "%s %s" % (shlex.quote(sys.executable),
                    " ".join(shlex.quote(x) for x in [os.path.abspath(sys.argv[0])] + sys.argv[1:]))
    if not os.environ.get("MAKELEVEL"):
        return py
    args = sys.argv[1:]
    i = args.index("--bin") if "--bin" in args else -1
    extra = args[:i] + args[i + 2:] if i >= 0 else args
    build = os.path.basename(os.path.dirname(os.path.abspath(a.bin)))
    mk = "make bench" + ("" if build == "build" else " BUILD=" + build)
    if extra:
        mk += " BENCH_ARGS=%s" % shlex.quote(" ".join(extra))
    return "%s  (runs: %s)" % (mk, py)


# ---------------------------------------------------------------------------------------

def _median(rounds, key):
    vals = [r[key] for r in rounds if key in r and "failed" not in r]
    return statistics.median(vals) if vals else None


def _fmt(v, digits):
    if v is None:
        return "-"
    return "%.*f" % (digits, v)


class Table:
    def __init__(self):
        self.rows = []

    def section(self, title):
        self.rows.append(("", title))

    def row(self, figure, mine, peer, digits=0, target=None, better="higher", fail=False,
            ratio=True):
        """target: ("ratio", x) - Mailbag/peer must be >= x (better higher) or <= x (lower);
        ("abs", x) - Mailbag alone must be below x."""
        r = mine / peer if (ratio and mine is not None and peer not in (None, 0)) else None
        status, tgt = "", ""
        if target:
            kind, x = target
            if kind == "ratio":
                tgt = (">= %gx" if better == "higher" else "<= %gx") % x
                val = r
            else:
                tgt = "< %g" % x
                val = mine
            if val is None:
                status = "n/a"
            elif (val >= x if (kind == "ratio" and better == "higher") else val <= x if kind == "ratio" else val < x):
                status = "ok"
            else:
                status = "MISSED"
        if fail:
            status = "FAILED"
        self.rows.append((figure, _fmt(mine, digits), _fmt(peer, digits),
                          "-" if r is None else "%.2f" % r, tgt, status))

    def render(self, peer_name="peer"):
        w = max((len(r[0]) for r in self.rows if len(r) > 2), default=len("figure")) + 2
        head = "%-*s %10s %10s %7s %9s  %s" % (w, "figure", "Mailbag", peer_name, "ratio", "target", "")
        out = [head, "-" * len(head)]
        for r in self.rows:
            if len(r) == 2:
                out.append(r[1])
                continue
            out.append("%-*s %10s %10s %7s %9s  %s" % (w, r[0], r[1], r[2], r[3], r[4], r[5]))
        return "\n".join(out)


def table(res):
    rounds = res["rounds"]
    t = Table()
    smtp = [r for r in rounds if r["phase"] == "smtp"]
    if smtp:
        for size, label, tx in ((4096, "4 KB", 4), (102400, "100 KB", 2)):
            mb = [r for r in smtp if r["server"] == "mailbag" and r["size"] == size]
            pf = [r for r in smtp if r["server"] == "postfix" and r["size"] == size]
            if not mb and not pf:
                continue
            failed = any("failed" in r for r in mb + pf)
            n = (mb or pf)[0]["messages"]
            t.section("SMTP in, %s messages (%d per round, %d sessions) vs Postfix:"
                      % (label, n, res["settings"]["sessions"]))
            m = lambda k: _median(mb, k)  # noqa: E731
            p = lambda k: _median(pf, k)  # noqa: E731
            t.row("  accepted msg/s (250 received)", m("accepted_per_s"), p("accepted_per_s"),
                  target=("ratio", tx), fail=failed)
            t.row("  end-to-end msg/s (all in Maildirs)", m("e2e_per_s"), p("e2e_per_s"),
                  target=("ratio", tx), fail=failed)
            t.row("  end of DATA -> 250, p50 ms", m("lat_p50_ms"), p("lat_p50_ms"), 1)
            t.row("  end of DATA -> 250, p99 ms", m("lat_p99_ms"), p("lat_p99_ms"), 1)
            t.row("  server CPU ms per message", m("cpu_ms_per_msg"), p("cpu_ms_per_msg"), 3,
                  target=("ratio", 0.25), better="lower")
            t.row("  peak RSS MB, all processes summed", m("peak_rss_mb"), p("peak_rss_mb"), 1)
            t.row("  peak PSS MB, all processes summed", m("peak_pss_mb"), p("peak_pss_mb"), 1,
                  target=("ratio", 0.5), better="lower")
            t.row("  server processes", m("processes"), p("processes"))
            t.row("  load generator CPU ms per message", m("client_cpu_ms_per_msg"),
                  p("client_cpu_ms_per_msg"), 3, ratio=False)
    filt = [r for r in rounds if r["phase"] == "filtered"]
    if filt:
        mb = [r for r in filt if r["server"] == "mailbag"]
        pf = [r for r in filt if r["server"] == "postfix"]
        failed = any("failed" in r for r in mb + pf)
        t.section("Filtered, 4 KB messages (%d per round) from strangers: Mailbag's SPF, DKIM, DMARC"
                  % (mb or pf)[0]["messages"])
        t.section("  and rspamd as milter vs Postfix with the same rspamd as milter:")
        m = lambda k: _median(mb, k)  # noqa: E731
        p = lambda k: _median(pf, k)  # noqa: E731
        t.row("  accepted msg/s (250 received)", m("accepted_per_s"), p("accepted_per_s"),
              target=("ratio", 1), fail=failed)
        t.row("  end-to-end msg/s (all in Maildirs)", m("e2e_per_s"), p("e2e_per_s"),
              target=("ratio", 1), fail=failed)
        t.row("  end of DATA -> 250, p50 ms", m("lat_p50_ms"), p("lat_p50_ms"), 1)
        t.row("  server CPU ms per message (rspamd apart)", m("cpu_ms_per_msg"), p("cpu_ms_per_msg"), 3,
              target=("ratio", 1), better="lower")
        t.row("  rspamd CPU ms per message", m("rspamd_cpu_ms_per_msg"), p("rspamd_cpu_ms_per_msg"), 3)
    out = [r for r in rounds if r["phase"] == "outbound"]
    for kind in ("single", "fanout"):
        mb = [r for r in out if r["kind"] == kind and r["server"] == "mailbag"]
        pf = [r for r in out if r["kind"] == kind and r["server"] == "postfix"]
        if not mb and not pf:
            continue
        r0 = (mb or pf)[0]
        failed = any("failed" in r or r.get("lost") or r.get("doubled") or r.get("misrouted")
                     for r in mb + pf)
        t.section("Outbound, %s: %d messages of 4 KB x %d recipient%s over %d domains, queue flushed"
                  % (kind, r0["messages"], r0["rcpts_per_msg"], "" if r0["rcpts_per_msg"] == 1 else "s",
                     r0["domains"]))
        t.section("  to one smtp-sink per domain, vs Postfix's smtp client (20 per destination each):")
        m = lambda k: _median(mb, k)  # noqa: E731
        p = lambda k: _median(pf, k)  # noqa: E731
        t.row("  messages delivered per second", m("msgs_per_s"), p("msgs_per_s"), target=("ratio", 2), fail=failed)
        t.row("  recipients delivered per second", m("rcpts_per_s"), p("rcpts_per_s"))
        t.row("  server CPU ms per message", m("cpu_ms_per_msg"), p("cpu_ms_per_msg"), 3,
              target=("ratio", 0.5), better="lower")
        t.row("  queue files holding the messages", m("queue_files"), p("queue_files"))
        t.row("  connections opened", m("connections"), p("connections"))
        t.row("  most connections open to one domain", m("max_open_per_domain"), p("max_open_per_domain"))
        t.row("  transactions per connection", m("tx_per_connection"), p("tx_per_connection"), 1)
        t.row("  recipients per transaction", m("rcpts_per_tx"), p("rcpts_per_tx"), 1)
        t.row("  SMTP commands per read at the sink", m("commands_per_read"), p("commands_per_read"), 2)
        t.row("  peak RSS MB, all processes summed", m("peak_rss_mb"), p("peak_rss_mb"), 1)
    ss = res.get("smtp_source")
    if ss:
        t.section("Cross-check with Postfix's smtp-source (one recipient, ~4 KB, one run):")
        mb, pf = ss.get("mailbag", {}), ss.get("postfix", {})
        t.row("  accepted msg/s", mb.get("accepted_per_s"), pf.get("accepted_per_s"))
        t.row("  end-to-end msg/s", mb.get("e2e_per_s"), pf.get("e2e_per_s"))
    sync = res.get("sync")
    if sync:
        t.section("Durability: sync calls (fsync, fdatasync, syncfs) per 4 KB message:")
        t.row("  sync calls per message", sync.get("mailbag", {}).get("per_msg"),
              sync.get("postfix", {}).get("per_msg"), 2, ratio=False)
    pop = [r for r in rounds if r["phase"] == "pop3"]
    if pop:
        mb = [r for r in pop if r["server"] == "mailbag"]
        dc = [r for r in pop if r["server"] == "dovecot"]
        failed = any("failed" in r for r in mb + dc)
        r0 = pop[0]
        t.section("POP3 out vs Dovecot (%d messages, %.0f MB per round; USER/PASS, RETR+DELE all, "
                  "QUIT; %d sessions):" % (r0["messages"], r0["bytes"] / 1e6,
                                          res["settings"]["sessions"]))
        t.row("  messages/s", _median(mb, "msgs_per_s"), _median(dc, "msgs_per_s"),
              target=("ratio", 2), fail=failed)
        t.row("  MB/s", _median(mb, "mb_per_s"), _median(dc, "mb_per_s"), 1,
              target=("ratio", 2), fail=failed)
        t.row("  server CPU ms per message", _median(mb, "cpu_ms_per_msg"),
              _median(dc, "cpu_ms_per_msg"), 3)
        t.row("  peak PSS MB, all processes summed", _median(mb, "peak_pss_mb"),
              _median(dc, "peak_pss_mb"), 1)
    imap = [r for r in rounds if r["phase"] == "imap-logins"]
    if imap:
        il = res.get("imap_logins", {})
        t.section("IMAP logins through Dovecot, Mailbag's passwords (mailbag-checkpassword) vs Dovecot's")
        t.section("  passwd-file with the same hashes (LOGIN+LOGOUT, %s per round, %s sessions, %s users):"
                  % (imap[0]["logins"], il.get("sessions", "?"), il.get("users", "?")))
        t.row("  logins/s", _median([r for r in imap if r["server"] == "mailbag"], "logins_per_s"),
              _median([r for r in imap if r["server"] == "dovecot"], "logins_per_s"), 0, target=("ratio", 0.5))
    pgr = [r for r in rounds if r["phase"] == "postgresql"]
    if pgr:
        us = res.get("postgresql", {}).get("rcpt_us", {})
        med = (lambda v: statistics.median(v) if v else None)
        t.section("Accounts on PostgreSQL (Mailbag column) vs LMDB (peer column), per-node cache warm:")
        t.row("  RCPT round trip us, one client", med(us.get("postgresql")), med(us.get("lmdb")), 0)
        t.row("  RCPT round trip us, PostgreSQL cache miss", med(us.get("postgresql_miss")), med(us.get("lmdb")), 0)
        t.row("  4 KB end-to-end messages/s", _median([r for r in pgr if r["server"] == "postgresql"], "e2e_per_s"),
              _median([r for r in pgr if r["server"] == "lmdb"], "e2e_per_s"), 0, target=("ratio", 0.9))
        t.row("  4 KB accepted messages/s", _median([r for r in pgr if r["server"] == "postgresql"], "accepted_per_s"),
              _median([r for r in pgr if r["server"] == "lmdb"], "accepted_per_s"), 0)
    al = res.get("alone", {})
    if al:
        t.section("Mailbag alone:")
        idle = al.get("idle")
        if idle:
            t.row("  %d idle SMTP sessions: total RSS MB" % idle["sessions"], idle["total_rss_mb"],
                  None, 1, target=("abs", 200))
            t.row("  %d idle SMTP sessions: total PSS MB" % idle["sessions"], idle["total_pss_mb"],
                  None, 1)
            t.row("  smtpd KB per idle session", idle["smtpd_kb_per_session"], None, 1)
        q = al.get("queue")
        if q:
            t.row("  %d deferred: queue-manager RSS MB" % q["messages"], q["qmgr_rss_mb"], None, 1)
            t.row("  %d deferred: restart, recovered (logged) ms" % q["messages"],
                  q["recovered_ms_logged"], None, 0, target=("abs", 5000))
            t.row("  %d deferred: restart until log line, ms" % q["messages"],
                  q["restart_logged_s"] * 1e3, None, 0, target=("abs", 5000))
            t.row("  %d deferred: queue-manager RSS MB after restart" % q["messages"],
                  q["qmgr_rss_after_mb"], None, 1)
            t.row("  %d deferred: acceptance msg/s (queue fill)" % q["messages"],
                  q["accept_per_s"], None, 0)
    bq = res.get("big_queue")
    if bq and "first" in bq:
        n, f, s2 = bq["messages"], bq["first"], bq.get("second", {})
        t.section("Mailbag alone, a queue of %d deferred messages (written by queue_fill):" % n)
        t.row("  queue-manager VmHWM MB", f["mem_kb"]["VmHWM"] / 1024, None, 0)
        # 400 MB for a million messages: 400 bytes per message, whatever N was.
        t.row("  queue-manager VmHWM bytes per message", f["mem_kb"]["VmHWM"] * 1024 / n, None, 0,
              target=("abs", 400))
        t.row("  queue-manager VmRSS MB: anonymous", f["mem_kb"].get("RssAnon", 0) / 1024, None, 0)
        t.row("  queue-manager VmRSS MB: mapped files (LMDB)", f["mem_kb"].get("RssFile", 0) / 1024, None, 0)
        t.row("  start until 'queue recovered', s", f["recovered_s"], None, 2, target=("abs", 10))
        if s2:
            t.row("  restart until 'queue recovered', s", s2["recovered_s"], None, 2, target=("abs", 10))
        t.row("  mailctl queue list: first line, s", f["list_first_line_s"], None, 3, target=("abs", 1))
        t.row("  mailctl queue list: whole listing, s", f["list_all_s"], None, 1)
    lines = [t.render("peer")]
    by = {}
    for r in smtp:
        for k, v in r.get("cpu_ms_per_msg_by_daemon", {}).items():
            by.setdefault((r["size"], k), []).append(v)
    for r in out:
        for k, v in r.get("cpu_ms_per_msg_by_daemon", {}).items():
            if v > 0:
                by.setdefault(("outbound " + r["kind"], k), []).append(v)
    if by:
        lines.append("")
        for size in sorted({s for s, _ in by}, key=str):
            what = size if isinstance(size, str) else "%d-byte" % size
            lines.append("Mailbag CPU ms per %s message by daemon (median): %s" % (what, ", ".join(
                "%s %.3f" % (k, statistics.median(v)) for k, v in sorted((k, v) for (s, k), v in by.items() if s == size))))
    m = res["machine"]
    lines.append("")
    lines.append("peer = Postfix %s (SMTP) / Dovecot %s (POP3); medians of %d rounds, servers "
                 "alternating A B A B." % (m["postfix"], m["dovecot"], res["settings"]["rounds"]))
    lines.append("machine: %d x %s, %s GB RAM, kernel %s, %s; /tmp on %s; load average %s at "
                 "start, %s at end" % (m["cpus"], m["cpu_model"], m["memory_gb"], m["kernel"], m["os"],
                                       m["tmp_filesystem"], m["loadavg_start"],
                                       m.get("loadavg_end", "?")))
    if m.get("server_filesystems"):
        lines.append("each server on a fresh ext4 image of its own (journal, loop-mounted): %s" % "; ".join(
            "%s %s" % kv for kv in sorted(m["server_filesystems"].items())))
    lines.append("command: %s" % res["command"])
    if res["failures"]:
        lines.append("")
        lines.append("RUN FAILED:")
        lines.extend("  " + f.splitlines()[0] for f in res["failures"])
    return "\n".join(lines)
