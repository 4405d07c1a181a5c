# `make bench`, the outbound phase: Mailbag's remote agent against Postfix's smtp client,
# delivering to one smtp-sink per remote domain (sinks.py) found through MX records
# served by a private unbound. Each server is an outbound relay on a fresh ext4 image of
# its own; the load generator relays through it (relay_networks / mynetworks):
#   - single: N messages of 4 KB, one recipient each, over 100 domains;
#   - fan-out: M messages of 4 KB with 1,000 recipients each, over 50 domains (the
#     recipients of a message interleave the domains, as an alphabetical list does).
# A round fills the server while the sinks are down (every delivery is deferred, as when
# the destinations are unreachable), checks how many queue files hold the mail, starts
# the sinks, flushes the queue (mailctl queue flush / postqueue -f) and times it until
# the queue is empty; the CPU counted is every process of the server during the flush.
# Then the sinks' logs say what arrived: each recipient exactly once at its own domain's
# sink, the connections, the most open at once per destination, transactions per
# connection, and commands per read(2) at the sink (PIPELINING). Rounds alternate the
# servers. Both servers keep their defaults: 20 connections per destination (Postfix's
# default_destination_concurrency_limit, Mailbag's remote_destination_concurrency),
# Postfix with up to 100 smtp processes and its connection cache.
import os
import subprocess
import time

import alone
import fsimage
import peers
import procstat
import servers
import sinks
from remote_peers import Unbound
from report import Failure, log

MB_HOST, PF_HOST = "127.0.0.37", "127.0.0.38"
NDOMAINS = 100
FANOUT_DOMAINS = 50
SIZE = 4096


class OutPostfix(peers.Postfix):
    """peers.Postfix with its smtp client: master.cf gains the smtp and relay services,
    and the whole instance runs in a mount namespace of its own in which /etc/resolv.conf
    is a bind mount naming the private unbound (Postfix has no resolver setting of its
    own; the host's file is never changed)."""

    def __init__(self, *args, resolver_ip, **kw):
        super().__init__(*args, **kw)
        self.resolver_ip = resolver_ip

    def setup(self):
        super().setup()
        with open(os.path.join(self.conf, "master.cf"), "a") as f:
            f.write("smtp      unix  -       -       n       -       -       smtp\n")
            f.write("relay     unix  -       -       n       -       -       smtp\n")
        self.resolv = os.path.join(self.dir, "resolv.conf")
        with open(self.resolv, "w") as f:
            f.write("nameserver %s\noptions attempts:1 timeout:2\n" % self.resolver_ip)
        os.chmod(self.resolv, 0o644)

    def start(self):
        r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                            'mount --bind "$1" /etc/resolv.conf && exec postfix -c "$2" start',
                            "sh", self.resolv, self.conf], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("postfix start failed: %s%s\n%s" % (r.stdout, r.stderr, self.log_tail()))
        self.running = True
        peers.wait_port(self.host, self.port, alive=lambda: self.master_pid() is not None)

    def flush(self):
        subprocess.run(["postqueue", "-c", self.conf, "-f"], check=True, capture_output=True, timeout=120)

    def queue_files(self, subs=("incoming", "active", "deferred", "maildrop", "hold")):
        n = 0
        for sub in subs:
            for _root, _dirs, files in os.walk(os.path.join(self.queue, sub)):
                n += len(files)
        return n


def expected(n_msgs, per_msg, ndomains):
    """The recipients the load generator sends (its --rcpts-per-msg/--domains rule):
    message i to r<n>@d<n mod D>.out.test for n = i*per_msg .. i*per_msg+per_msg-1."""
    return ["r%d@%s" % (n, sinks.domain(n % ndomains)) for n in range(n_msgs * per_msg)]


class Outbound:
    def __init__(self, b, n_single, n_fanout, fanout_rcpts, rounds):
        self.b = b
        self.a = b.a
        self.kinds = []
        if n_single:
            self.kinds.append(("single", n_single, 1, NDOMAINS))
        if n_fanout:
            self.kinds.append(("fanout", n_fanout, fanout_rcpts, FANOUT_DOMAINS))
        self.rounds = rounds
        self.mb = self.pf = self.dns = self.sinks = None
        self.images = []

    # -- setup --------------------------------------------------------------------------

    def setup(self):
        for host in (MB_HOST, PF_HOST):
            if not peers.port_free(host, 2525):
                raise Failure("%s:2525 is in use (another bench running?)" % host)
        self.dns = Unbound([sinks.ZONE], sinks.records(NDOMAINS)).start()
        self.sinks = sinks.Sinks(NDOMAINS)
        log("outbound: unbound on %s for %d domains; sinks on %s1..%d:25 (smtp-sink -v)"
            % (self.dns.address, NDOMAINS, sinks.SINK_NET, NDOMAINS))
        fs = self.b.image("mailbag-outbound")
        self.mb = servers.BenchMailbag(self.a.bin, [("u000@bench.test", "pw-u000")], "bench.test", MB_HOST,
                                       2525, 1112, conf={
                                           "dns_resolver": self.dns.address,
                                           "queue_retry_min": "1h", "queue_retry_max": "4h",
                                           "smtpd_max_recipients": "1000"}, base_dir=fs.mountpoint)
        self.mb.start()
        self.mb.start_daemon("remote")
        fs = self.b.image("postfix-outbound")
        self.pf = OutPostfix(["u000"], "bench.test", PF_HOST, 2525, base_dir=fs.mountpoint,
                             resolver_ip=self.dns.ip, extra_main={
                                 # Deferred mail stays deferred until the flush.
                                 "minimal_backoff_time": "1h", "maximal_backoff_time": "4h",
                                 "queue_run_delay": "1h",
                                 "smtpd_recipient_limit": "1000"})
        self.pf.setup()
        self.pf.start()
        log("outbound: Mailbag on %s:2525 (remote), Postfix on %s:2525 (smtp), each on its own image"
            % (MB_HOST, PF_HOST))

    def teardown(self):
        for x in (self.pf, self.mb):
            if x is not None:
                x.stop() if self.a.keep else x.cleanup()
        if self.sinks is not None:
            self.sinks.stop() if self.a.keep else self.sinks.cleanup()
        if self.dns is not None:
            self.dns.stop()
        if not self.a.keep:
            for fs in self.b.images[-2:]:
                fs.close()

    def contenders(self):
        mb, pf = self.mb, self.pf
        return [
            {"name": "mailbag", "host": MB_HOST, "roots": mb.roots,
             "alive": lambda: all(mb.alive(x) for x in mb.procs),
             "deferred": alone.LogCounter(mb.log_path("remote"), b"status=deferred"),
             "queue_files": lambda: len(os.listdir(os.path.join(mb.spool, "queue"))),
             "flush": lambda: mb.mailctl("queue", "flush"),
             "logtail": lambda: mb.logs("remote")[-3000:] + mb.logs("queue-manager")[-2000:]},
            {"name": "postfix", "host": PF_HOST, "roots": pf.roots, "alive": pf.alive,
             "deferred": alone.LogCounter(pf.log, b"status=deferred"),
             "queue_files": pf.queue_files, "flush": pf.flush, "logtail": pf.log_tail},
        ]

    def cpu_by_daemon(self, name):
        if name != "mailbag":
            return {}
        return {d: procstat.cpu_seconds(procstat.descendants([p.pid]))
                for d, p in self.mb.procs.items() if p.poll() is None}

    # -- one round ----------------------------------------------------------------------

    def fill(self, c, kind, n, per_msg, ndomains):
        """n messages into the server while the sinks are down; returns once every
        recipient's delivery has been deferred and the server is idle."""
        before = c["deferred"].update()
        lg = self.b.run_loadgen("smtp", c["host"], 2525, [
            "--messages", str(n), "--size", str(SIZE), "--per-conn", "50",
            "--rcpts", str(n * per_msg), "--rcpts-per-msg", str(per_msg), "--domains", str(ndomains),
            "--rcpt-fmt", "r%d@d%03d." + sinks.ZONE, "--source-prefix", "127.1.3.", "--sources", "20"],
            timeout=3600)
        if lg["ok"] != n:
            raise Failure("%d of %d messages accepted: %s" % (lg["ok"], n, lg["errors"][:3]))
        want = n * per_msg
        end = time.monotonic() + max(300, want / 50)
        while c["deferred"].update() - before < want:
            if time.monotonic() > end:
                raise Failure("only %d of %d deferrals logged" % (c["deferred"].count - before, want))
            if not c["alive"]():
                raise Failure("a server process died")
            time.sleep(0.2)
        t_deferred = time.monotonic()
        alone.wait_idle(c["roots"], quiet=0.05, window=1.0, timeout=600)
        log("  %-8s filled: %d messages accepted in %.1f s, every delivery deferred %.1f s later"
            % (c["name"], n, lg["elapsed"], t_deferred - lg["t_start"] - lg["elapsed"]))
        return lg

    def round(self, c, kind, n, per_msg, ndomains, rnd, profile=False):
        name = c["name"]
        rec = {"phase": "outbound", "kind": kind, "server": name, "messages": n, "rcpts_per_msg": per_msg,
               "domains": ndomains, "round": rnd}
        try:
            lg = self.fill(c, kind, n, per_msg, ndomains)
            rec["queue_files"] = c["queue_files"]()
            rec["fill_s"] = lg["elapsed"]
            os.sync()
            time.sleep(0.5)
            self.sinks.start()
            reads0 = self.sinks.reads()
            sink_cpu0 = self.sinks.cpu_seconds()
            pids = procstat.descendants(c["roots"]())
            perf = None
            if profile:
                perf = self.start_profile(pids)
            samp = procstat.Sampler(c["roots"])
            samp.start()
            by0 = self.cpu_by_daemon(name)
            cpu0 = procstat.cpu_seconds(pids)
            t0 = time.monotonic()
            c["flush"]()
            end = t0 + max(300, n * per_msg / 20)
            while c["queue_files"]() > 0:
                if time.monotonic() > end:
                    raise Failure("%d queue files left after %.0f s" % (c["queue_files"](), end - t0))
                if not c["alive"]() or not self.sinks.alive():
                    raise Failure("a server or sink process died")
                time.sleep(0.05)
            t1 = time.monotonic()
            cpu1 = procstat.cpu_seconds(procstat.descendants(c["roots"]()))
            by1 = self.cpu_by_daemon(name)
            samp.stop()
            if perf is not None:
                self.stop_profile(perf)
            reads1 = self.sinks.reads()
            sink_cpu = self.sinks.cpu_seconds() - sink_cpu0
            time.sleep(0.3)
        except Failure as e:
            self.sinks.stop()
            self.b.fail("outbound %s %s round %d: %s\n%s" % (kind, name, rnd, e, c["logtail"]()))
            rec["failed"] = str(e)
            self.b.results["rounds"].append(rec)
            return rec
        self.sinks.stop()  # the sessions still idle are closed; their counts are final
        got = self.sinks.parse()
        rec.update(self.check(got, n, per_msg, ndomains))
        if rec.get("lost") or rec.get("doubled") or rec.get("misrouted"):
            self.b.fail("outbound %s %s round %d: %d recipients lost, %d doubled, %d at the wrong sink"
                        % (kind, name, rnd, rec["lost"], rec["doubled"], rec["misrouted"]))
        reads = sum(reads1) - sum(reads0)
        rec.update({
            "flush_s": t1 - t0,
            "msgs_per_s": n / (t1 - t0),
            "rcpts_per_s": n * per_msg / (t1 - t0),
            "cpu_ms_per_msg": (cpu1 - cpu0) / n * 1e3,
            "cpu_us_per_rcpt": (cpu1 - cpu0) / (n * per_msg) * 1e6,
            "cpu_ms_per_msg_by_daemon": {k: (by1[k] - by0[k]) / n * 1e3 for k in by1 if k in by0},
            "peak_rss_mb": samp.peak_rss / 1e6,
            "processes": samp.max_procs,
            "sink_reads": reads,
            "commands_per_read": rec["commands"] / reads if reads else None,
            "sink_cpu_s": sink_cpu,
            "loadavg": open("/proc/loadavg").read().split()[0],
        })
        log("  %-8s %-6s %5d msgs x %4d rcpts: %6.0f msg/s %7.0f rcpt/s  cpu %.3f ms/msg (%.1f us/rcpt)  "
            "%d queue files  %d conns (max %d open to one domain)  %.1f tx/conn  %.1f rcpts/tx  "
            "%.2f cmds/read  load %s"
            % (name, kind, n, per_msg, rec["msgs_per_s"], rec["rcpts_per_s"], rec["cpu_ms_per_msg"],
               rec["cpu_us_per_rcpt"], rec["queue_files"], rec["connections"], rec["max_open_per_domain"],
               rec["tx_per_connection"], rec["rcpts_per_tx"], rec["commands_per_read"] or 0, rec["loadavg"]))
        if rec["cpu_ms_per_msg_by_daemon"]:
            log("           cpu ms/msg by daemon: %s" % ", ".join(
                "%s %.3f" % kv for kv in rec["cpu_ms_per_msg_by_daemon"].items() if kv[1] > 0))
        self.b.results["rounds"].append(rec)
        return rec

    @staticmethod
    def check(got, n, per_msg, ndomains):
        want = expected(n, per_msg, ndomains)
        want_set = set(want)
        seen = {}
        misrouted = 0
        for i, g in enumerate(got):
            for r in g["rcpts"]:
                seen[r] = seen.get(r, 0) + 1
                if not r.endswith("@" + sinks.domain(i)):
                    misrouted += 1
        lost = sum(1 for r in want if r not in seen)
        doubled = sum(v - 1 for v in seen.values() if v > 1)
        extra = sum(1 for r in seen if r not in want_set)
        conns = sum(g["connections"] for g in got)
        tx = sum(g["transactions"] for g in got)
        return {
            "lost": lost, "doubled": doubled, "misrouted": misrouted + extra,
            "connections": conns, "transactions": tx,
            "max_open_per_domain": max(g["max_open"] for g in got),
            "tx_per_connection": tx / conns if conns else 0,
            "rcpts_per_tx": len(want) / tx if tx else 0,
            "commands": sum(g["commands"] for g in got),
        }

    # -- profile ------------------------------------------------------------------------

    def start_profile(self, pids):
        data = os.path.join(self.a.build, "bench", "perf-outbound.data")
        self.perf_data = data
        p = subprocess.Popen(["perf", "record", "-q", "-F", "999", "-g", "-p", ",".join(map(str, pids)),
                              "-o", data], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        return p

    def stop_profile(self, p):
        p.send_signal(2)
        p.wait(timeout=120)
        out = os.path.join(self.a.build, "bench", "profile-outbound.txt")
        with open(out, "w") as f:
            f.write("# Mailbag over one outbound flush: perf record -g (on-CPU)\n")
            for args in (["--sort", "comm"], ["--sort", "comm,dso"], ["--sort", "comm,sym"]):
                r = subprocess.run(["perf", "report", "-i", self.perf_data, "--stdio", "--no-children",
                                    "-g", "none", "--percent-limit", "0.5"] + args,
                                   capture_output=True, text=True)
                f.write(r.stdout)
        log("outbound profile written to %s" % out)
        self.b.results["profile_outbound"] = out

    # -- run ----------------------------------------------------------------------------

    def run(self):
        self.setup()
        try:
            profiled = "profile" not in self.a.parts
            for kind, n, per_msg, ndomains in self.kinds:
                for rnd in range(1, self.rounds + 1):
                    log("outbound round %d/%d: %s, %d messages x %d recipients over %d domains"
                        % (rnd, self.rounds, kind, n, per_msg, ndomains))
                    for c in self.contenders():
                        prof = not profiled and c["name"] == "mailbag"
                        self.round(c, kind, n, per_msg, ndomains, rnd, profile=prof)
                        profiled = profiled or prof
        finally:
            self.teardown()


def run(b):
    a = b.a
    Outbound(b, a.out_single, a.out_fanout, a.out_fanout_rcpts, min(a.rounds, 3)).run()
