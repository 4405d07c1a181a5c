# The receiving end of the outbound benchmark: one Postfix smtp-sink per remote domain,
# each on its own loopback address and port 25 (where an MX host listens), logging every
# command it reads (-v) to a file of its own, and the zone that points each domain's MX
# at its sink, for a private unbound. From a sink's log and its /proc counters the bench
# reads, per destination and without timing anything: the connections (and the most open
# at once: one sink serves one domain), the transactions, every recipient (each must
# arrive exactly once, at its own domain's sink), and the read(2) calls the sink made,
# which tell whether the client pipelined (commands per read > 1) or waited for each
# reply (one command per read).
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from report import Failure

SINK_NET = "127.2.0."  # sink i listens on 127.2.0.(i+1):25
ZONE = "out.test"


def domain(i):
    return "d%03d.%s" % (i, ZONE)


def records(n):
    """unbound local-data for n domains: dNNN.out.test MX 10 mx.dNNN.out.test, its A."""
    out = []
    for i in range(n):
        out.append("%s. MX 10 mx.%s." % (domain(i), domain(i)))
        out.append("mx.%s. A %s%d" % (domain(i), SINK_NET, i + 1))
    return out


def _listening(ips):
    """The subset of `ips` with a TCP socket listening on port 25 (/proc/net/tcp)."""
    want = {}
    for ip in ips:
        a = ip.split(".")
        want["%02X%02X%02X%02X:0019" % (int(a[3]), int(a[2]), int(a[1]), int(a[0]))] = ip
    up = set()
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            p = line.split()
            if p[3] == "0A" and p[1] in want:
                up.add(want[p[1]])
    return up


class Sinks:
    def __init__(self, n, workdir=None):
        self.n = n
        self.dir = workdir or tempfile.mkdtemp(prefix="bench-sinks-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.ips = ["%s%d" % (SINK_NET, i + 1) for i in range(n)]
        self.procs = []

    def log_path(self, i):
        return os.path.join(self.dir, "sink-%03d.log" % i)

    def start(self, timeout=30):
        if self.procs:
            raise RuntimeError("sinks already running")
        busy = _listening(self.ips)
        if busy:
            raise Failure("port 25 already in use on %s" % sorted(busy)[:5])
        for i, ip in enumerate(self.ips):
            with open(self.log_path(i), "wb") as log:
                self.procs.append(subprocess.Popen(
                    ["smtp-sink", "-v", "-u", "nobody", "-h", "mx." + domain(i), "-m", "1000",
                     "%s:25" % ip, "1024"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=log, start_new_session=True))
        end = time.monotonic() + timeout
        while len(_listening(self.ips)) < self.n:
            dead = [i for i, p in enumerate(self.procs) if p.poll() is not None]
            if dead or time.monotonic() > end:
                self.stop()
                raise Failure("smtp-sink did not start on %s: %s" % (
                    self.ips[dead[0]] if dead else "some addresses",
                    open(self.log_path(dead[0] if dead else 0), errors="replace").read()[-500:]))
            time.sleep(0.05)
        return self

    def reads(self):
        """read(2) calls made so far by each sink (/proc/PID/io syscr)."""
        out = []
        for p in self.procs:
            try:
                with open("/proc/%d/io" % p.pid) as f:
                    out.append(next(int(l.split()[1]) for l in f if l.startswith("syscr:")))
            except (OSError, StopIteration):
                out.append(0)
        return out

    def cpu_seconds(self):
        import procstat
        return procstat.cpu_seconds([p.pid for p in self.procs])

    def alive(self):
        return bool(self.procs) and all(p.poll() is None for p in self.procs)

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def parse(self):
        """Per sink: its log read as a sequence of events (one process serves every
        connection of its domain, so the lines are in the order it handled them)."""
        return [parse_log(open(self.log_path(i), "rb").read()) for i in range(self.n)]


_RCPT = re.compile(rb"^smtp-sink: RCPT TO:<([^>]*)>", re.I)


def parse_log(data):
    """{connections, max_open, transactions, rcpts: [address], commands} of one sink's
    -v log."""
    open_now = max_open = conns = dots = mails = cmds = 0
    rcpts = []
    for line in data.split(b"\n"):
        if not line.startswith(b"smtp-sink: "):
            continue
        rest = line[11:]
        if rest.startswith(b"connect ("):
            conns += 1
            open_now += 1
            max_open = max(max_open, open_now)
        elif rest == b"disconnect":
            open_now -= 1
        elif rest == b".":
            dots += 1
            cmds += 1
        elif rest[:5].upper() == b"MAIL ":
            mails += 1
            cmds += 1
        elif rest[:5].upper() == b"RCPT ":
            m = _RCPT.match(line)
            rcpts.append(m.group(1).decode("utf-8", "replace").lower() if m else "?")
            cmds += 1
        elif rest[:4].upper() in (b"EHLO", b"HELO", b"DATA", b"QUIT", b"RSET", b"NOOP", b"BDAT"):
            cmds += 1
    return {"connections": conns, "max_open": max_open, "transactions": dots, "mails": mails,
            "rcpts": rcpts, "commands": cmds}
