# Mailbag alone (no peer to compare with), on a fresh instance of its own:
#  - idle: N concurrent SMTP sessions, each greeted (220) and then left idle, held by one
#    smtpd; the memory of every Mailbag process while they are open.
#  - queue: N messages accepted over SMTP for a user whose Maildir cannot be created (a
#    regular file is in its place), so every delivery fails temporarily and the message
#    is deferred with its state recorded; then the queue manager's memory, and the time
#    it takes to restart over that queue (its own "queue recovered in N ms" log line and
#    the wall time until its submit socket answers).
import os
import re
import selectors
import shutil
import signal
import socket
import time

import fsimage
import procstat
import servers
from report import Failure, log


def mem_by_daemon(m):
    out = {}
    for name, p in m.procs.items():
        if p.poll() is None:
            pids = procstat.descendants([p.pid])
            rss, pss = procstat.memory(pids)
            out[name] = {"rss_mb": rss / 1e6, "pss_mb": pss / 1e6}
    return out


def idle_sessions(m, n, host, port, timeout=300):
    roots = m.roots
    base_rss, base_pss = procstat.memory(procstat.descendants(roots()))
    smtpd_pid = m.pid("smtpd")
    smtpd0 = procstat.rss_bytes(smtpd_pid)
    sel = selectors.DefaultSelector()
    socks, pending = [], {}  # pending: socket -> (bytes read, when opened)
    greeted, refused, errors = 0, [], []
    retried = 0
    i = 0
    t0 = time.monotonic()
    deadline = t0 + timeout
    try:
        while greeted + len(refused) + len(errors) < n:
            # At most `window` connections wait for their greeting at once, so the listen
            # queue never overflows (an overflowed handshake leaves a client socket that
            # looks connected but is never accepted).
            while i < n and len(pending) < 64:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                s.bind(("127.1.1.%d" % (1 + i % 8), 0))
                s.connect_ex((host, port))
                sel.register(s, selectors.EVENT_READ)
                pending[s] = [b"", time.monotonic()]
                socks.append(s)
                i += 1
            now = time.monotonic()
            for s in [s for s, (_, t) in pending.items() if now - t > 10]:
                # Not greeted in 10 s: its handshake was lost; open another one instead.
                sel.unregister(s)
                del pending[s]
                socks.remove(s)
                s.close()
                retried += 1
                i -= 1
            for key, _ in sel.select(timeout=1):
                s = key.fileobj
                try:
                    data = s.recv(512)
                except BlockingIOError:
                    continue
                except OSError as e:
                    data, err = None, str(e)
                if not data:
                    errors.append(err if data is None else "closed before the greeting")
                    sel.unregister(s)
                    del pending[s]
                    continue
                pending[s][0] += data
                got = pending[s][0]
                if b"\n" in got:
                    if got.startswith(b"220"):
                        greeted += 1
                    else:
                        refused.append(got.split(b"\n")[0].decode("utf-8", "replace"))
                    sel.unregister(s)
                    del pending[s]
            if time.monotonic() > deadline:
                raise Failure("idle sessions: only %d of %d greeted after %d s"
                              % (greeted, n, timeout))
            if not m.alive("smtpd"):
                raise Failure("smtpd died while opening idle sessions:\n%s"
                              % m.logs("smtpd")[-3000:])
        t_open = time.monotonic() - t0
        time.sleep(2.0)
        pids = procstat.descendants(roots())
        rss, pss = procstat.memory(pids)
        per = mem_by_daemon(m)
        smtpd1 = procstat.rss_bytes(smtpd_pid)
        # Every session must still be open: a closed one reads EOF at once.
        sel2 = selectors.DefaultSelector()
        for s in socks:
            sel2.register(s, selectors.EVENT_READ)
        closed = sum(1 for key, _ in sel2.select(timeout=0.5))
        sel2.close()
        out = {
            "sessions": n, "greeted": greeted, "refused": len(refused),
            "refused_sample": refused[:3], "errors": len(errors), "error_sample": errors[:3],
            "closed_by_server": closed, "open_seconds": t_open, "reconnects": retried,
            "total_rss_mb": rss / 1e6, "total_pss_mb": pss / 1e6,
            "baseline_rss_mb": base_rss / 1e6, "baseline_pss_mb": base_pss / 1e6,
            "smtpd_kb_per_session": (smtpd1 - smtpd0) / 1024 / max(1, greeted),
            "by_daemon": per,
        }
        log("  %d idle sessions (%d greeted, %d refused, %d errors, %d closed, %d handshakes "
            "lost and redone) in %.1f s: total RSS %.1f MB, PSS %.1f MB; smtpd %.1f KB per session"
            % (n, greeted, len(refused), len(errors), closed, retried, t_open, out["total_rss_mb"],
               out["total_pss_mb"], out["smtpd_kb_per_session"]))
        if greeted != n or closed:
            raise Failure("idle sessions: %d of %d greeted, %d closed by the server; refused: %s;"
                          " errors: %s" % (greeted, n, closed, refused[:3], errors[:3]))
        return out
    finally:
        for s in socks:
            s.close()
        sel.close()


class LogCounter:
    """Counts a byte pattern in a growing log file, reading only what is new."""

    def __init__(self, path, pattern):
        self.path, self.pattern = path, pattern
        self.off, self.count, self.tail = 0, 0, b""

    def update(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.off)
                data = f.read()
        except FileNotFoundError:
            return self.count
        self.off += len(data)
        buf = self.tail + data
        cut = buf.rfind(b"\n") + 1
        self.count += buf[:cut].count(self.pattern)
        self.tail = buf[cut:]
        return self.count


def wait_idle(roots, quiet=0.05, window=1.0, timeout=300):
    """Waits until the processes under roots() use less than `quiet` CPU seconds in a
    `window`-second interval."""
    end = time.monotonic() + timeout
    prev = procstat.cpu_seconds(procstat.descendants(roots()))
    while time.monotonic() < end:
        time.sleep(window)
        cur = procstat.cpu_seconds(procstat.descendants(roots()))
        if cur - prev < quiet:
            return
        prev = cur
    raise Failure("queue manager still busy after %d s" % timeout)


def deferred_queue(bench, m, q, host, port):
    md = m.maildir_path("blocked")
    shutil.rmtree(md, ignore_errors=True)
    with open(md, "w") as f:
        f.write("a file where the Maildir should be: deliveries here fail temporarily\n")
    deferred = LogCounter(m.log_path("local"), b"status=deferred")
    deferred.update()
    before = deferred.count
    t0 = time.monotonic()
    lg = bench.run_loadgen("smtp", host, port, [
        "--messages", str(q), "--size", "4096", "--per-conn", "100", "--rcpts", "1",
        "--rcpt-fmt", "blocked@bench.test", "--source-prefix", "127.1.2.", "--sources", "20"],
        timeout=3600)
    if lg["ok"] != q:
        raise Failure("queue: %d of %d messages accepted: %s" % (lg["ok"], q, lg["errors"][:3]))
    log("  %d messages accepted in %.1f s (%.0f/s); waiting for their deferral"
        % (q, lg["elapsed"], q / lg["elapsed"]))
    end = time.monotonic() + max(120, q / 100)
    while deferred.update() - before < q:
        if time.monotonic() > end:
            raise Failure("queue: only %d of %d deferrals logged by local"
                          % (deferred.count - before, q))
        if not all(m.alive(n) for n in m.procs):
            raise Failure("queue: a daemon died:\n%s" % m.logs("queue-manager")[-3000:])
        time.sleep(0.5)
    t_deferred = time.monotonic() - t0
    wait_idle(lambda: [m.pid("queue-manager")] if m.alive("queue-manager") else [])
    queue_dir = os.path.join(m.spool, "queue")
    nfiles = sum(1 for _ in os.scandir(queue_dir))
    qpid = m.pid("queue-manager")
    q_rss, q_pss = procstat.rss_bytes(qpid), procstat.pss_bytes(qpid)
    total_rss, total_pss = procstat.memory(procstat.descendants(m.roots()))
    log("  %d deferred (%d queue files) after %.1f s: queue-manager RSS %.1f MB, PSS %.1f MB"
        % (q, nfiles, t_deferred, q_rss / 1e6, q_pss / 1e6))

    # Restart over the full queue.
    qlog = m.log_path("queue-manager")
    off = os.path.getsize(qlog)
    t1 = time.monotonic()
    m.kill("queue-manager", signal.SIGTERM, wait=True, timeout=120)
    t_stop = time.monotonic() - t1
    samp = procstat.Sampler(lambda: [m.pid("queue-manager")] if m.alive("queue-manager") else [],
                            interval=0.02)
    t2 = time.monotonic()
    m.start_daemon("queue-manager")  # returns once its submit socket accepts
    samp.start()
    t_ready = time.monotonic() - t2
    rx = re.compile(rb"queue recovered in ([0-9.]+) ms: ([0-9]+) messages")
    logged = None
    end = time.monotonic() + 300
    while logged is None and time.monotonic() < end:
        with open(qlog, "rb") as f:
            f.seek(off)
            mt = rx.search(f.read())
        if mt:
            logged = mt
            break
        time.sleep(0.01)
    t_logged = time.monotonic() - t2
    time.sleep(1.0)
    samp.stop()
    if logged is None:
        raise Failure("queue: no 'queue recovered' line within 300 s of the restart")
    qpid = m.pid("queue-manager")
    out = {
        "messages": q, "queue_files": nfiles, "accept_per_s": q / lg["elapsed"],
        "deferred_after_s": t_deferred,
        "qmgr_rss_mb": q_rss / 1e6, "qmgr_pss_mb": q_pss / 1e6,
        "total_rss_mb": total_rss / 1e6, "total_pss_mb": total_pss / 1e6,
        "stop_s": t_stop, "restart_ready_s": t_ready, "restart_logged_s": t_logged,
        "recovered_ms_logged": float(logged.group(1)),
        "recovered_messages": int(logged.group(2)),
        "qmgr_rss_after_mb": procstat.rss_bytes(qpid) / 1e6,
        "qmgr_peak_rss_restart_mb": samp.peak_rss / 1e6,
    }
    log("  restart: stopped in %.2f s; socket ready after %.2f s; 'queue recovered in %.0f ms: "
        "%d messages' (seen after %.2f s); RSS after %.1f MB"
        % (t_stop, t_ready, out["recovered_ms_logged"], out["recovered_messages"], t_logged,
           out["qmgr_rss_after_mb"]))
    if out["recovered_messages"] != q:
        raise Failure("queue: recovered %d messages, %d were queued"
                      % (out["recovered_messages"], q))
    return out


def run(bench, host, port):
    a = bench.a
    users = [("u000@bench.test", "pw-u000"), ("blocked@bench.test", "pw-blocked")]
    conf = {
        "smtpd_max_sessions": str(max(1000, a.idle + 1000)),
        # Deferred messages stay deferred while we measure.
        "queue_retry_min": "1h",
        "queue_retry_max": "4h",
    }
    log("starting a fresh Mailbag for the tests of Mailbag alone on %s, on a fresh ext4 image" % host)
    fs = fsimage.Ext4Image("alone")
    m = servers.BenchMailbag(a.bin, users, "bench.test", host, port, 1111, conf, base_dir=fs.mountpoint)
    out = {}
    try:
        m.start()
        if "idle" in a.parts and a.idle:
            log("opening %d idle SMTP sessions" % a.idle)
            try:
                out["idle"] = idle_sessions(m, a.idle, host, port)
            except Failure as e:
                bench.fail(str(e))
        if "queue" in a.parts and a.queue:
            log("filling the queue with %d deferred messages" % a.queue)
            try:
                out["queue"] = deferred_queue(bench, m, a.queue, host, port)
            except Failure as e:
                bench.fail(str(e))
    finally:
        servers.release(m, fs, a.keep)
    return out
