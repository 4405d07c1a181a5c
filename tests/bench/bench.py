#!/usr/bin/env python3
# `make bench`: Mailbag against Postfix (SMTP in, virtual Maildir delivery) and Dovecot
# (POP3 out) on this machine, same load, same Maildir layout, rounds alternating between
# the servers; then Mailbag alone with 10,000 idle SMTP sessions and a queue of 100,000
# deferred messages; then IMAP logins through Dovecot with Mailbag's passwords against
# Dovecot's own passwd-file. Prints a table of medians with the Mailbag/peer ratios and the
# performance targets (README, Performance), the machine, the command; writes the same as
# JSON in the build dir.
# Exit status: 0 when every measurement ran (a missed target is not an error), 1 when
# the run failed (a message missing from the Maildirs, a server died, a client error).
# Needs root (the daemons drop to their own users) and the Debian packages postfix,
# dovecot-pop3d, lmdb-utils; the peers run from private config dirs in /tmp, on
# 127.0.0.30 and 127.0.0.32 and high ports: the system's mail setup is never touched.
import grp
import json
import os
import pwd
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import alone  # noqa: E402
from bench_args import parse_args  # noqa: E402
import big_queue  # noqa: E402
import crosscheck  # noqa: E402
import filtered  # noqa: E402
import imap_logins  # noqa: E402
import outbound  # noqa: E402
import fsimage  # noqa: E402
import peers  # noqa: E402
import pg_backend  # noqa: E402
import procstat  # noqa: E402
import report  # noqa: E402
import servers  # noqa: E402
from helpers import build_loadgen, dkim_signing_cost  # noqa: E402

DOMAIN = "bench.test"
NUSERS = 100
USERS = ["u%03d" % i for i in range(NUSERS)]
PASSWORD = "pw-%s"
MB_HOST, PF_HOST, DC_HOST, ALONE_HOST = "127.0.0.31", "127.0.0.30", "127.0.0.32", "127.0.0.33"
SMTP_PORT, POP3_PORT = 2525, 1110
BIGQ_HOST = "127.0.0.39"
LOAD_SOURCES = "127.1.0."  # the load generator's source addresses: 127.1.0.1 .. .50


log = report.log
Failure = report.Failure


def raise_fd_limit(want=65536):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for lim in ((want, max(hard, want)), (hard, hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, lim)
            return lim[0]
        except (ValueError, OSError):
            continue
    return soft


class Bench:
    def __init__(self, a):
        self.a = a
        self.loadgen = build_loadgen(a.build)
        self.results = {"rounds": [], "failures": []}
        self.mb = self.pf = self.dc = None
        self.images = []

    # -- helpers --------------------------------------------------------------------------

    def fail(self, what):
        log("FAILURE: " + what)
        self.results["failures"].append(what)

    def run_loadgen(self, mode, host, port, extra, timeout=900):
        argv = [self.loadgen, mode, "--host", host, "--port", str(port),
                "--sessions", str(self.a.sessions), "--timeout", str(timeout)] + extra
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 60)
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if r.returncode != 0:
            raise Failure("loadgen %s exited %d: %s" % (mode, r.returncode, r.stderr))
        res = json.loads(r.stdout)
        res["client_cpu"] = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
        return res

    # -- setup ----------------------------------------------------------------------------

    def setup(self):
        for host, port in ((MB_HOST, SMTP_PORT), (PF_HOST, SMTP_PORT), (DC_HOST, POP3_PORT),
                           (MB_HOST, POP3_PORT), (ALONE_HOST, SMTP_PORT)):
            if not peers.port_free(host, port):
                raise Failure("%s:%d is in use (another bench running?)" % (host, port))
        log("starting Mailbag (%d users) on %s, on a fresh ext4 image" % (NUSERS, MB_HOST))
        users = [("%s@%s" % (u, DOMAIN), PASSWORD % u) for u in USERS]
        fs = self.image("mailbag")
        self.mb = servers.BenchMailbag(self.a.bin, users, DOMAIN, MB_HOST, SMTP_PORT, POP3_PORT,
                                       base_dir=fs.mountpoint)
        self.mb.start()
        self.vmail_uid = pwd.getpwnam("mb-vmail").pw_uid
        self.mail_gid = grp.getgrnam("mb-mail").gr_gid
        self.mb_maildirs = [self.mb.maildir_path(u) for u in USERS]
        if self.a.parts & {"smtp", "sync", "profile", "smtp-source"}:
            log("starting Postfix on %s:%d, on a fresh ext4 image" % (PF_HOST, SMTP_PORT))
            self.pf = peers.Postfix(USERS, DOMAIN, PF_HOST, SMTP_PORT, self.vmail_uid, self.mail_gid,
                                    base_dir=self.image("postfix").mountpoint)
            self.pf.setup()
            self.pf.start()
            self.pf_maildirs = [self.pf.maildir(u) for u in USERS]
        if "pop3" in self.a.parts:
            hashes = self.mb.passwd_hashes()
            dusers = [("%s@%s" % (u, DOMAIN), hashes["%s@%s" % (u, DOMAIN)]) for u in USERS]
            log("starting Dovecot POP3 on %s:%d over Mailbag's Maildirs" % (DC_HOST, POP3_PORT))
            self.dc = peers.Dovecot(dusers, self.mb.mail, self.vmail_uid, self.mail_gid,
                                    DC_HOST, POP3_PORT)
            self.dc.setup()
            self.dc.start()

    def image(self, tag):
        """A fresh ext4 file system for one server (fsimage.py), its description kept
        for the report."""
        fs = fsimage.Ext4Image(tag)
        self.images.append(fs)
        self.results["machine"].setdefault("server_filesystems", {})[tag] = fs.describe()
        return fs

    def teardown(self):
        for s in (self.dc, self.pf):
            if s is not None:
                s.stop() if self.a.keep else s.cleanup()
        if self.mb is not None:
            self.mb.stop() if self.a.keep else self.mb.cleanup()
        if self.a.keep:
            for s in (self.mb, self.pf, self.dc):
                if s is not None:
                    log("kept " + s.dir + " (its file system stays mounted)")
        else:
            for fs in self.images:
                fs.close()

    def servers_smtp(self):
        return [
            ("mailbag", MB_HOST, self.mb.roots, lambda: all(self.mb.alive(n) for n in self.mb.procs),
             self.mb_maildirs, lambda: self.mb.logs("queue-manager")[-3000:]),
            ("postfix", PF_HOST, self.pf.roots, self.pf.alive, self.pf_maildirs, self.pf.log_tail),
        ]

    # -- SMTP ---------------------------------------------------------------------------

    def wait_delivered(self, maildirs, n, alive, deadline):
        """Waits until every Maildir holds its share of the n messages (message i went to
        user i % 100). Returns the time, or raises Failure."""
        want = [n // NUSERS + (1 if u < n % NUSERS else 0) for u in range(NUSERS)]
        todo = list(range(NUSERS))
        while True:
            todo = [u for u in todo if servers.count_messages([maildirs[u]]) < want[u]]
            if not todo:
                return time.monotonic()
            if time.monotonic() > deadline:
                have = servers.count_messages(maildirs)
                raise Failure("only %d of %d messages in the Maildirs by the deadline" % (have, n))
            if not alive():
                raise Failure("a server process died")
            time.sleep(0.02)

    def smtp_round(self, name, host, roots, alive, maildirs, logtail, size, n, rnd, phase="smtp",
                   cpu_by_daemon=True):
        servers.empty_maildirs(maildirs)
        os.sync()
        time.sleep(1.0)
        samp = procstat.Sampler(roots)
        samp.start()
        by0 = self.cpu_by_daemon(name) if cpu_by_daemon else {}
        cpu0 = procstat.cpu_seconds(procstat.descendants(roots()))
        rec = {"phase": phase, "server": name, "size": size, "messages": n, "round": rnd}
        try:
            lg = self.run_loadgen("smtp", host, SMTP_PORT, [
                "--messages", str(n), "--size", str(size), "--per-conn", str(self.a.per_conn),
                "--rcpts", str(NUSERS), "--rcpt-fmt", "u%03d@" + DOMAIN,
                "--source-prefix", LOAD_SOURCES, "--sources", "50"])
            rec["loadgen"] = lg
            if lg["failed"] or lg["ok"] != n:
                raise Failure("%s: %d of %d messages refused or lost in SMTP: %s"
                              % (name, n - lg["ok"], n, lg["errors"][:3]))
            t_done = self.wait_delivered(maildirs, n, alive, time.monotonic() + max(60, n / 20))
            cpu1 = procstat.cpu_seconds(procstat.descendants(roots()))
            by1 = self.cpu_by_daemon(name) if cpu_by_daemon else {}
        except Failure as e:
            samp.stop()
            self.fail("%s %d-byte round %d: %s\n%s" % (name, size, rnd, e, logtail()))
            rec["failed"] = str(e)
            self.results["rounds"].append(rec)
            return rec
        samp.stop()
        time.sleep(0.2)
        extra = servers.count_messages(maildirs) - n
        if extra > 0:
            self.fail("%s %d-byte round %d: %d messages delivered twice" % (name, size, rnd, extra))
        rec.update({
            "accepted_per_s": lg["ok"] / lg["elapsed"],
            "e2e_per_s": n / (t_done - lg["t_start"]),
            "lat_p50_ms": lg["lat_p50_ms"],
            "lat_p99_ms": lg["lat_p99_ms"],
            "cpu_ms_per_msg": (cpu1 - cpu0) / n * 1e3,
            "peak_rss_mb": samp.peak_rss / 1e6,
            "peak_pss_mb": samp.peak_pss / 1e6,
            "processes": samp.max_procs,
            "client_cpu_ms_per_msg": lg["client_cpu"] / n * 1e3,
            "sampler_cpu_s": samp.cpu_used,
            "cpu_ms_per_msg_by_daemon": {k: (by1[k] - by0[k]) / n * 1e3 for k in by1
                                         if k in by0 and k != "pop3d"},
        })
        log("  %-8s %6d B x%-5d accepted %7.0f/s  e2e %7.0f/s  p50 %6.1f ms  p99 %6.1f ms  "
            "cpu %.3f ms/msg  RSS %.0f MB  PSS %.0f MB (%d procs)"
            % (name, size, n, rec["accepted_per_s"], rec["e2e_per_s"], rec["lat_p50_ms"],
               rec["lat_p99_ms"], rec["cpu_ms_per_msg"], rec["peak_rss_mb"],
               rec["peak_pss_mb"], rec["processes"]))
        if rec["cpu_ms_per_msg_by_daemon"]:
            log("           cpu ms/msg by daemon: %s" % ", ".join(
                "%s %.3f" % kv for kv in rec["cpu_ms_per_msg_by_daemon"].items()))
        self.results["rounds"].append(rec)
        return rec

    def cpu_by_daemon(self, name):
        """{daemon: CPU seconds} for Mailbag's daemons (Postfix's short-lived processes
        cannot be told apart once their master has reaped them)."""
        if name != "mailbag":
            return {}
        return {d: procstat.cpu_seconds(procstat.descendants([p.pid]))
                for d, p in self.mb.procs.items() if p.poll() is None}

    def warm_up(self, n=500):
        """Unmeasured traffic first, so no server's first round pays for starting its
        processes (Postfix spawns smtpd, cleanup and virtual on demand) or cold caches."""
        log("warming up both SMTP servers (%d messages each, not measured)" % n)
        for name, host, roots, alive, maildirs, logtail in self.servers_smtp():
            lg = self.run_loadgen("smtp", host, SMTP_PORT, [
                "--messages", str(n), "--size", "4096", "--per-conn", str(self.a.per_conn),
                "--rcpts", str(NUSERS), "--rcpt-fmt", "u%03d@" + DOMAIN,
                "--source-prefix", LOAD_SOURCES, "--sources", "50"])
            if lg["ok"] != n:
                raise Failure("%s warm-up: %d of %d refused: %s"
                              % (name, n - lg["ok"], n, lg["errors"][:3]))
            self.wait_delivered(maildirs, n, alive, time.monotonic() + 120)
            servers.empty_maildirs(maildirs)

    def smtp_phase(self):
        self.warm_up()
        for rnd in range(1, self.a.rounds + 1):
            for size, n in ((4096, self.a.small), (102400, self.a.large)):
                log("SMTP round %d/%d, %d-byte messages" % (rnd, self.a.rounds, size))
                for srv in self.servers_smtp():
                    self.smtp_round(*srv, size=size, n=n, rnd=rnd)
            servers.empty_maildirs(self.mb_maildirs + self.pf_maildirs)

    # -- sync calls ---------------------------------------------------------------------

    def sync_phase(self, n=1000):
        """Counts the sync system calls each server makes per 4 KB message (perf
        tracepoints, system-wide, kept only for the server's pids): evidence that its 250
        still means fsync'd. Not timed."""
        for name, host, roots, alive, maildirs, logtail in self.servers_smtp():
            servers.empty_maildirs(maildirs)
            os.sync()
            samp = procstat.Sampler(roots, interval=0.1, tree_interval=0.1)
            samp.start()
            time.sleep(0.3)
            data = os.path.join(self.a.build, "bench", "sync-%s.data" % name)
            events = ["syscalls:sys_enter_fsync", "syscalls:sys_enter_fdatasync",
                      "syscalls:sys_enter_syncfs", "syscalls:sys_enter_sync",
                      "syscalls:sys_enter_sync_file_range"]
            perf = subprocess.Popen(["perf", "record", "-q", "-a", "-o", data]
                                    + sum((["-e", e] for e in events), []),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
            try:
                lg = self.run_loadgen("smtp", host, SMTP_PORT, [
                    "--messages", str(n), "--size", "4096", "--per-conn", str(self.a.per_conn),
                    "--rcpts", str(NUSERS), "--rcpt-fmt", "u%03d@" + DOMAIN,
                    "--source-prefix", LOAD_SOURCES, "--sources", "50"])
                if lg["ok"] != n:
                    raise Failure("%d of %d refused: %s" % (n - lg["ok"], n, lg["errors"][:3]))
                self.wait_delivered(maildirs, n, alive, time.monotonic() + 120)
            except Failure as e:
                self.fail("%s sync check: %s" % (name, e))
                lg = None
            time.sleep(0.3)
            perf.send_signal(2)
            perf.wait(timeout=60)
            samp.stop()
            if lg is None:
                continue
            r = subprocess.run(["perf", "script", "-i", data, "-F", "pid,event"],
                               capture_output=True, text=True)
            counts = {}
            for line in r.stdout.splitlines():
                parts = line.split()
                if len(parts) >= 2 and parts[0].isdigit() and int(parts[0]) in samp.seen:
                    ev = parts[1].rstrip(":").split("sys_enter_")[-1]
                    counts[ev] = counts.get(ev, 0) + 1
            for p in (data, data + ".old"):
                if os.path.exists(p):
                    os.unlink(p)
            total = sum(v for k, v in counts.items() if k != "sync_file_range")
            self.results.setdefault("sync", {})[name] = {
                "messages": n, "calls": counts, "per_msg": total / n}
            log("  %-8s sync calls over %d messages: %s (%.2f per message, sync_file_range "
                "not counted)" % (name, n, counts, total / n))
            servers.empty_maildirs(maildirs)

    # -- POP3 ---------------------------------------------------------------------------

    def pop3_round(self, name, port_host, roots, alive, rnd):
        host, port = port_host
        by_addr = {"%s@%s" % (u, DOMAIN): self.mb.maildir_path(u) for u in USERS}
        sizes = [4096] * 9 + [102400]  # every tenth message 100 KB
        total, nbytes = servers.refill_maildirs(by_addr, self.a.pop3_per_user, sizes,
                                                self.vmail_uid, self.mail_gid)
        time.sleep(1.0)
        samp = procstat.Sampler(roots)
        samp.start()
        cpu0 = procstat.cpu_seconds(procstat.descendants(roots()))
        rec = {"phase": "pop3", "server": name, "round": rnd, "messages": total, "bytes": nbytes}
        try:
            lg = self.run_loadgen("pop3", host, port, [
                "--users", str(NUSERS), "--user-fmt", "u%03d@" + DOMAIN,
                "--pass-fmt", "pw-u%03d"])
            cpu1 = procstat.cpu_seconds(procstat.descendants(roots()))
            rec["loadgen"] = lg
            left = servers.count_messages(self.mb_maildirs)
            if lg["errors"] or lg["messages"] != total or left:
                raise Failure("%s: fetched %d of %d, %d left in the Maildirs: %s"
                              % (name, lg["messages"], total, left, lg["errors"][:3]))
            if not alive():
                raise Failure("%s died" % name)
        except Failure as e:
            samp.stop()
            self.fail("POP3 round %d: %s" % (rnd, e))
            rec["failed"] = str(e)
            self.results["rounds"].append(rec)
            return rec
        samp.stop()
        rec.update({
            "msgs_per_s": lg["messages"] / lg["elapsed"],
            "mb_per_s": lg["bytes"] / lg["elapsed"] / 1e6,
            "cpu_ms_per_msg": (cpu1 - cpu0) / total * 1e3,
            "peak_rss_mb": samp.peak_rss / 1e6,
            "peak_pss_mb": samp.peak_pss / 1e6,
            "processes": samp.max_procs,
            "client_cpu_ms_per_msg": lg["client_cpu"] / total * 1e3,
        })
        log("  %-8s POP3 %d msgs %.1f MB: %7.0f msg/s  %6.1f MB/s  cpu %.3f ms/msg  RSS %.0f MB"
            "  PSS %.0f MB" % (name, total, nbytes / 1e6, rec["msgs_per_s"], rec["mb_per_s"],
                               rec["cpu_ms_per_msg"], rec["peak_rss_mb"], rec["peak_pss_mb"]))
        self.results["rounds"].append(rec)
        return rec

    def pop3_phase(self):
        targets = []
        if self.mb.has_pop3d:
            targets.append(("mailbag", (MB_HOST, POP3_PORT), self.mb.roots,
                            lambda: self.mb.alive("pop3d")))
        else:
            log("no pop3d binary in %s: Mailbag's POP3 figures are skipped" % self.a.bin)
        targets.append(("dovecot", (DC_HOST, POP3_PORT), self.dc.roots, self.dc.alive))
        for rnd in range(1, self.a.rounds + 1):
            log("POP3 round %d/%d: %d users x %d messages" % (rnd, self.a.rounds, NUSERS,
                                                            self.a.pop3_per_user))
            for t in targets:
                self.pop3_round(*t, rnd=rnd)
        servers.empty_maildirs(self.mb_maildirs)

    # -- profile ------------------------------------------------------------------------

    def profile_phase(self, n=2000):
        """Where Mailbag's time goes over n 4 KB messages: on-CPU samples (perf record -g)
        over one round, then the time spent in each system call (perf trace -s) over
        another: a daemon that waits (fsync) shows there, not in the CPU profile."""
        name, host, roots, alive, maildirs, logtail = self.servers_smtp()[0]
        bdir = os.path.join(self.a.build, "bench")
        data = os.path.join(bdir, "perf-mailbag.data")
        trace = os.path.join(bdir, "trace-mailbag.txt")
        out = os.path.join(bdir, "profile-mailbag.txt")
        for kind in ("record", "trace"):
            servers.empty_maildirs(maildirs)
            os.sync()
            pids = ",".join(str(p) for p in procstat.descendants(roots()))
            log("profiling Mailbag (perf %s, pids %s) over %d 4 KB messages" % (kind, pids, n))
            argv = (["perf", "record", "-q", "-F", "999", "-g", "-p", pids, "-o", data]
                    if kind == "record" else ["perf", "trace", "-s", "-p", pids, "-o", trace])
            perf = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.5)
            try:
                lg = self.run_loadgen("smtp", host, SMTP_PORT, [
                    "--messages", str(n), "--size", "4096", "--per-conn", str(self.a.per_conn),
                    "--rcpts", str(NUSERS), "--rcpt-fmt", "u%03d@" + DOMAIN,
                    "--source-prefix", LOAD_SOURCES, "--sources", "50"])
                if lg["ok"] != n:
                    raise Failure("%d of %d refused: %s" % (n - lg["ok"], n, lg["errors"][:3]))
                self.wait_delivered(maildirs, n, alive, time.monotonic() + max(120, n / 10))
            except Failure as e:
                self.fail("profile round: %s" % e)
            perf.send_signal(2)
            perf.wait(timeout=120)
        pop_trace = self.profile_pop3(bdir) if self.mb.has_pop3d else None
        with open(out, "w") as f:
            f.write("# Mailbag over %d 4 KB messages: perf record -g (on-CPU), then perf trace -s\n"
                    % n)
            for args in (["--sort", "comm"], ["--sort", "comm,dso"], ["--sort", "comm,sym"]):
                r = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                                    "-g", "none", "--percent-limit", "0.5"] + args,
                                   capture_output=True, text=True)
                f.write(r.stdout)
            try:
                with open(trace) as t:
                    f.write("\n# perf trace -s: system calls per thread (msec = time inside)\n")
                    f.write(t.read())
                os.unlink(trace)
            except OSError:
                pass
            if pop_trace:
                f.write("\n# pop3d over one POP3 round: perf trace -s\n")
                f.write(pop_trace)
        for p in (data + ".old",):
            if os.path.exists(p):
                os.unlink(p)
        log("profile written to %s (perf data: %s)" % (out, data))
        self.results["profile"] = out
        servers.empty_maildirs(maildirs)

    def profile_pop3(self, bdir):
        """perf trace -s of pop3d over one POP3 round (where its time goes)."""
        by_addr = {"%s@%s" % (u, DOMAIN): self.mb.maildir_path(u) for u in USERS}
        servers.refill_maildirs(by_addr, self.a.pop3_per_user, [4096] * 9 + [102400],
                                self.vmail_uid, self.mail_gid)
        trace = os.path.join(bdir, "trace-pop3d.txt")
        pid = str(self.mb.pid("pop3d"))
        log("profiling pop3d (perf trace, pid %s) over one POP3 round" % pid)
        perf = subprocess.Popen(["perf", "trace", "-s", "-p", pid, "-o", trace],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        try:
            lg = self.run_loadgen("pop3", MB_HOST, POP3_PORT, [
                "--users", str(NUSERS), "--user-fmt", "u%03d@" + DOMAIN, "--pass-fmt", "pw-u%03d"])
            if lg["errors"]:
                raise Failure(str(lg["errors"][:3]))
        except Failure as e:
            self.fail("pop3d profile round: %s" % e)
        perf.send_signal(2)
        perf.wait(timeout=120)
        servers.empty_maildirs(self.mb_maildirs)
        try:
            with open(trace) as f:
                text = f.read()
            os.unlink(trace)
            return "%d messages in %.1f s\n%s" % (lg["messages"], lg["elapsed"], text)
        except (OSError, NameError):
            return None

    # -- run ----------------------------------------------------------------------------

    def run(self):
        self.results["machine"] = report.machine_info()
        self.results["command"] = report.command_line(self.a)
        self.results["settings"] = {k: getattr(self.a, k) for k in (
            "rounds", "small", "large", "sessions", "per_conn", "pop3_per_user", "idle", "queue",
            "out_single", "out_fanout", "out_fanout_rcpts", "big_queue")}
        log("machine: %s" % json.dumps(self.results["machine"]))
        try:
            if self.a.parts & {"smtp", "pop3", "sync", "profile", "smtp-source"}:
                self.setup()
            if "smtp" in self.a.parts:
                self.smtp_phase()
            if "pop3" in self.a.parts:
                self.pop3_phase()
            if "smtp-source" in self.a.parts:
                crosscheck.smtp_source(self, SMTP_PORT, DOMAIN)
            if "sync" in self.a.parts:
                self.sync_phase()
            if "profile" in self.a.parts:
                self.profile_phase()
        except Failure as e:
            self.fail(str(e))
        finally:
            self.teardown()
        if "filtered" in self.a.parts:
            try:
                filtered.run(self, SMTP_PORT, POP3_PORT + 2, DOMAIN, USERS, self.a.filtered)
            except (Failure, RuntimeError, OSError) as e:
                self.fail("filtered phase: %s" % e)
        if "outbound" in self.a.parts:
            try:
                outbound.run(self)
            except (Failure, RuntimeError, OSError) as e:
                self.fail("outbound phase: %s" % e)
        if "bigqueue" in self.a.parts and self.a.big_queue:
            try:
                self.results["big_queue"] = big_queue.run(self, self.a.big_queue, BIGQ_HOST, SMTP_PORT)
            except (Failure, RuntimeError, OSError, subprocess.SubprocessError) as e:
                self.fail("big-queue phase: %s" % e)
        if "idle" in self.a.parts or "queue" in self.a.parts:
            try:
                self.results["alone"] = alone.run(self, ALONE_HOST, SMTP_PORT)
            except Failure as e:
                self.fail(str(e))
        if "imap-logins" in self.a.parts:
            try:
                self.results["imap_logins"] = imap_logins.run(
                    self, self.a.bin, DOMAIN, [(u, PASSWORD % u) for u in USERS[:20]], self.a.imap_logins,
                    self.a.rounds)
            except (Failure, RuntimeError, OSError) as e:
                self.fail("imap-logins phase: %s" % e)
        if "postgresql" in self.a.parts:
            try:
                self.results["postgresql"] = pg_backend.run(self, DOMAIN, USERS, self.a.postgresql, self.a.rounds)
            except (Failure, RuntimeError, OSError) as e:
                self.fail("postgresql phase: %s" % e)
        if "dkim" in self.a.parts:
            try:
                self.results["dkim"] = dkim_signing_cost(self.a.build)
                log("DKIM signing per 4 KB message: rsa-sha256 %(rsa-sha256_us_per_message).0f us, "
                    "ed25519-sha256 %(ed25519-sha256_us_per_message).0f us" % self.results["dkim"])
            except (subprocess.SubprocessError, OSError, ValueError) as e:
                self.fail("dkim signing benchmark: %s" % e)
        self.results["machine"]["loadavg_end"] = report.loadavg()
        table = report.table(self.results)
        print()
        print(table)
        os.makedirs(os.path.dirname(self.a.json), exist_ok=True)
        with open(self.a.json, "w") as f:
            json.dump(self.results, f, indent=1, default=str)
        print("results: %s" % self.a.json)
        return 1 if self.results["failures"] else 0


def main(argv):
    a = parse_args(argv)
    if os.geteuid() != 0:
        print("bench.py must run as root: the daemons drop to their own users and Postfix "
              "and Dovecot need root to start", file=sys.stderr)
        return 1
    for p in ("smtpd", "queue-manager", "local", "mailctl"):
        if not os.path.exists(os.path.join(a.bin, p)):
            print("missing %s/%s: build Mailbag first" % (a.bin, p), file=sys.stderr)
            return 1
    import shutil
    need = {"postfix": "postfix", "smtp-source": "postfix", "smtp-sink": "postfix", "unbound": "unbound",
            "dovecot": "dovecot-pop3d",
            "mdb_dump": "lmdb-utils", "g++": "g++", "script": "bsdutils"}
    missing = sorted({pkg for tool, pkg in need.items() if shutil.which(tool) is None})
    if missing:
        print("missing Debian packages: %s (make bench installs them)" % " ".join(missing),
              file=sys.stderr)
        return 1
    if shutil.which("perf") is None and a.parts & {"sync", "profile"}:
        print("perf not found (Debian package linux-perf): skipping the sync-call count and "
              "the profile", file=sys.stderr)
        a.parts -= {"sync", "profile"}
    raise_fd_limit()
    return Bench(a).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
