# `make bench`, part bigqueue: Mailbag alone with a queue of N deferred messages (default
# 100,000; --big-queue 1000000 for the million). The queue is written straight into the
# stopped queue manager's spool by queue_fill.cpp, with the project's own queue file and
# state record code (what the queue manager leaves after every first attempt failed), on
# a fresh ext4 image sized for it. Then, with the page cache as the fill left it:
#   - the queue manager's start: until its submit socket answers, and until its own
#     "queue recovered" line; its memory after (VmHWM, VmRSS, and VmRSS split into
#     anonymous memory and mapped files: the state database is an mmap'd LMDB file);
#   - `mailctl queue list`: the time to its first line and to its last, and its count;
#   - a second restart (stop and start), timed the same way.
import os
import re
import signal
import subprocess
import time

import fsimage
import servers
from report import Failure, log

HERE = os.path.dirname(os.path.abspath(__file__))


def build_queue_fill(build):
    out = os.path.join(build, "bench", "queue_fill")
    src = os.path.join(HERE, "queue_fill.cpp")
    libs = [os.path.join(build, "lib", "libqueue-manager.a"), os.path.join(build, "lib", "libcommon.a")]
    os.makedirs(os.path.dirname(out), exist_ok=True)
    pkg = subprocess.run(["pkg-config", "--libs", "lmdb"], capture_output=True, text=True).stdout.split() or ["-llmdb"]
    subprocess.run(["g++", "-std=c++20", "-O2", "-I", os.path.dirname(os.path.dirname(HERE)), "-o", out, src]
                   + libs + pkg + ["-lssl", "-lcrypto", "-pthread"], check=True)
    return out


def status_kb(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[k] = int(v.split()[0])
    return out


def timed_start(m, off):
    """Starts the queue manager; returns (seconds until its submit socket answered,
    seconds until its 'queue recovered' line, the number it recovered)."""
    qlog = m.log_path("queue-manager")
    rx = re.compile(rb"queue recovered in ([0-9.]+) ms: ([0-9]+) messages")
    t0 = time.monotonic()
    m.start_daemon("queue-manager")
    t_ready = time.monotonic() - t0
    end = t0 + 600
    while True:
        with open(qlog, "rb") as f:
            f.seek(off)
            mt = rx.search(f.read())
        if mt:
            return t_ready, time.monotonic() - t0, int(mt.group(2)), float(mt.group(1))
        if time.monotonic() > end or not m.alive("queue-manager"):
            raise Failure("big queue: no 'queue recovered' line:\n%s" % m.logs("queue-manager")[-2000:])
        time.sleep(0.01)


def queue_list(m):
    """Runs mailctl queue list; returns (seconds to its first line, seconds to its end,
    requests it counted)."""
    t0 = time.monotonic()
    p = subprocess.Popen([servers.harness.bin_path("mailctl"), "-c", m.conf_path, "queue", "list"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = p.stdout.readline()
    t_first = time.monotonic() - t0
    last = first
    for line in p.stdout:
        last = line
    p.wait(timeout=3600)
    t_all = time.monotonic() - t0
    mt = re.search(rb"in ([0-9]+) Requests?", last)
    if p.returncode != 0 or not first or not mt:
        raise Failure("mailctl queue list: exit %s, first line %r, last %r, %s"
                      % (p.returncode, first[:100], last[:100], p.stderr.read()[-500:]))
    return t_first, t_all, int(mt.group(1))


def run(b, n, host, port):
    a = b.a
    size_gb = max(4, (n * 6) // 1000000 + 2)  # a 1 KB message takes a 4 KB block and an inode
    fs = fsimage.Ext4Image("bigqueue", size_gb=size_gb)
    b.results["machine"].setdefault("server_filesystems", {})["bigqueue"] = fs.describe()
    log("big queue: Mailbag on %s, a %d GB image; %d deferred messages written by queue_fill"
        % (host, size_gb, n))
    m = servers.BenchMailbag(a.bin, [("u000@bench.test", "pw-u000")], "bench.test", host, port, 1113, conf={
        "queue_retry_min": "1h", "queue_retry_max": "4h"}, base_dir=fs.mountpoint)
    out = {"messages": n}
    try:
        m.start()
        tool = build_queue_fill(a.build)
        m.kill("queue-manager", signal.SIGTERM, wait=True, timeout=60)
        qdir = os.path.join(m.spool, "queue")
        st = os.stat(qdir)
        t0 = time.monotonic()
        r = subprocess.run([tool, m.spool, str(n), "1024", str(st.st_uid), str(st.st_gid)],
                           capture_output=True, text=True, timeout=7200)
        if r.returncode != 0:
            raise Failure("queue_fill: %s" % r.stderr[-1000:])
        out["fill_s"] = time.monotonic() - t0
        log("  %d queue files and state records written in %.1f s; load %s"
            % (n, out["fill_s"], open("/proc/loadavg").read().split()[0]))
        for attempt in ("first", "second"):
            off = os.path.getsize(m.log_path("queue-manager"))
            perf = None
            if attempt == "second" and "profile" in a.parts:
                # The start is over before perf could attach to the new pid: the whole
                # system is sampled, and the report keeps the queue manager's samples.
                data = os.path.join(a.build, "bench", "perf-bigqueue.data")
                perf = subprocess.Popen(["perf", "record", "-q", "-a", "-g", "-F", "499", "-o", data],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1.0)
            t_ready, t_logged, got, ms = timed_start(m, off)
            if perf is not None:
                perf.send_signal(signal.SIGINT)
                perf.wait(timeout=300)
                prof = os.path.join(a.build, "bench", "profile-bigqueue.txt")
                with open(prof, "w") as f:
                    f.write("# the queue manager's start over %d deferred messages: perf record -a -g\n" % n)
                    for args in (["--sort", "dso"], ["--sort", "sym"]):
                        r = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--comm",
                                            "queue-manager", "-g", "none", "--percent-limit", "0.5"] + args,
                                           capture_output=True, text=True)
                        f.write(r.stdout)
                log("  profile of the start written to %s" % prof)
            if got != n:
                raise Failure("big queue: recovered %d messages of %d" % (got, n))
            time.sleep(2.0)
            mem = status_kb(m.pid("queue-manager"))
            rec = {"ready_s": t_ready, "recovered_s": t_logged, "recovered_ms_logged": ms,
                   "mem_kb": mem, "loadavg": open("/proc/loadavg").read().split()[0]}
            log("  %s start over %d messages: socket answers after %.2f s, 'queue recovered' (%.0f ms) after "
                "%.2f s; VmHWM %.0f MB, VmRSS %.0f MB (anon %.0f, file %.0f); load %s"
                % (attempt, n, t_ready, ms, t_logged, mem["VmHWM"] / 1024, mem["VmRSS"] / 1024,
                   mem.get("RssAnon", 0) / 1024, mem.get("RssFile", 0) / 1024, rec["loadavg"]))
            if attempt == "first":
                t_first, t_all, count = queue_list(m)
                rec.update({"list_first_line_s": t_first, "list_all_s": t_all, "list_count": count})
                log("  mailctl queue list: first line after %.3f s, all %d after %.1f s"
                    % (t_first, count, t_all))
                if count != n:
                    b.fail("big queue: mailctl queue list counted %d of %d" % (count, n))
                t1 = time.monotonic()
                m.kill("queue-manager", signal.SIGTERM, wait=True, timeout=300)
                rec["stop_s"] = time.monotonic() - t1
            out[attempt] = rec
    finally:
        servers.release(m, fs, a.keep)
    return out
