# Process accounting for the benchmark: the set of a server's processes (every descendant
# of its root pids), their CPU time, and a sampler thread that records the peak of the
# summed RSS and PSS while a round runs. Only /proc is read; nothing is traced.
#
# CPU is exact across process churn: a process's time is its own utime+stime plus the
# cutime+cstime of the children it has reaped, so summing both over the live tree counts
# every process that exited during the window (Postfix recycles its smtpd processes).
import os
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid):
    """Fields of /proc/PID/stat after the command name (index 0 = state), or None."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
    except OSError:
        return None
    i = data.rfind(b")")
    return data[i + 2:].split()


def parent_map():
    """{pid: ppid} of every process."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        f = _stat_fields(int(name))
        if f is not None:
            out[int(name)] = int(f[1])
    return out


def descendants(roots, pmap=None):
    """The roots that are alive and all their descendants."""
    pmap = parent_map() if pmap is None else pmap
    children = {}
    for pid, ppid in pmap.items():
        children.setdefault(ppid, []).append(pid)
    out = []
    todo = [r for r in roots if r in pmap]
    seen = set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


def cpu_seconds(pids):
    """utime+stime+cutime+cstime summed over `pids`, in seconds."""
    ticks = 0
    for pid in pids:
        f = _stat_fields(pid)
        if f is None:
            continue
        # after the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
        ticks += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return ticks / CLK_TCK


def rss_bytes(pid):
    try:
        with open("/proc/%d/statm" % pid, "rb") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def pss_bytes(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid, "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def memory(pids):
    """(summed RSS, summed PSS) in bytes."""
    return sum(rss_bytes(p) for p in pids), sum(pss_bytes(p) for p in pids)


class Sampler(threading.Thread):
    """Samples the summed RSS of the process trees under `roots()` every `interval`
    seconds, their summed PSS every `pss_every` samples (smaps_rollup walks the page
    tables: Postfix's 70 processes made the sampler itself cost 10% of a core at 50 ms),
    re-reading the tree every `tree_interval`, until stop(); keeps the peaks, the largest
    number of processes seen, every pid seen, and the sampler's own CPU time."""

    def __init__(self, roots, interval=0.1, tree_interval=0.5, pss_every=2):
        super().__init__(daemon=True)
        self.roots = roots
        self.interval = interval
        self.tree_interval = tree_interval
        self.pss_every = pss_every
        self.peak_rss = 0
        self.peak_pss = 0
        self.max_procs = 0
        self.samples = 0
        self.seen = set()  # every pid that was in the tree at some refresh
        self.cpu_used = 0.0  # this thread's own CPU time, to show what sampling costs
        self._stop_ev = threading.Event()

    def run(self):
        t0 = time.thread_time()
        pids = []
        next_tree = 0.0
        while True:
            now = time.monotonic()
            if now >= next_tree:
                pids = descendants(self.roots())
                self.seen.update(pids)
                next_tree = now + self.tree_interval
            self.peak_rss = max(self.peak_rss, sum(rss_bytes(p) for p in pids))
            if self.samples % self.pss_every == 0:
                self.peak_pss = max(self.peak_pss, sum(pss_bytes(p) for p in pids))
            self.max_procs = max(self.max_procs, len(pids))
            self.samples += 1
            if self._stop_ev.wait(self.interval):
                break
        self.cpu_used = time.thread_time() - t0

    def stop(self):
        self._stop_ev.set()
        self.join()
        return self
