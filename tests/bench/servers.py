# Mailbag for the benchmark: a private instance built by the integration harness
# (tests/integration/harness.py: config, mailctl init, domain, users, daemons started in
# order), but on fixed high ports of its own 127.x address, plus pop3d when it exists.
# Also the Maildir helpers every server's rounds share: count, empty and fill.
import os
import shutil
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import harness  # noqa: E402
from report import log  # noqa: E402


class BenchMailbag(harness.Mailbag):
    """`users` = [(address, password)]. Every *_listen key gets a port from 2600 up on
    `host` (the SMTP one `port`, POP3 `pop3_port`), so nothing binds a well-known port."""

    def __init__(self, bin_dir, users, domain, host, port, pop3_port, conf=None, base_dir="/tmp"):
        os.environ["MAILBAG_BUILD"] = os.path.dirname(bin_dir)  # harness.bin_path reads it
        self.bin_dir = bin_dir
        conf = dict(conf or {})
        self.has_pop3d = os.path.exists(os.path.join(bin_dir, "pop3d"))
        if self.has_pop3d:
            conf.setdefault("pop3_listen", "%s:%d" % (host, pop3_port))
            conf.setdefault("pop3_plaintext_auth", "yes")
        super().__init__(users=users, domains=(domain,), conf=conf, base_dir=base_dir)
        self.host, self.port = host, port
        self.ports = {"smtp_listen": port}
        self.pop3_port = pop3_port
        self.domain = domain

    def _other_listeners(self):
        extra = {}
        next_port = 2600
        for prog in harness.DAEMONS + (("pop3d",) if self.has_pop3d else ()):
            r = subprocess.run([harness.bin_path(prog), "-c", self.conf_path, "--dump-config"],
                               capture_output=True, text=True)
            for line in r.stdout.splitlines():
                k, _, v = line.partition("=")
                k, v = k.strip(), v.strip()
                if (not k.endswith("_listen") or k in self.ports or k in self.extra_conf
                        or k in extra):
                    continue
                items = [i for i in v.replace(",", " ").split() if i]
                ports = []
                for _ in items:
                    ports.append(next_port)
                    next_port += 1
                extra[k] = ", ".join("%s:%d" % (self.host, p) for p in ports)
                self.ports[k] = ports[0] if ports else None
        return extra

    def start(self):
        super().start()
        if self.has_pop3d:
            # pop3d hands every login to the mailbox process: that one first, as its
            # systemd unit orders it.
            if os.path.exists(os.path.join(self.bin_dir, "pop3-mailbox")):
                self.start_daemon("pop3-mailbox")
            self.start_daemon("pop3d")
            self._wait_ready("pop3d", self._pop3_ready)
        return self

    def _pop3_ready(self):
        try:
            with socket.create_connection((self.host, self.pop3_port), timeout=2) as s:
                return s.recv(100).startswith(b"+OK")
        except OSError:
            return False

    def daemon_names(self):
        return [n for n in self.procs if self.alive(n)]

    def roots(self):
        return [p.pid for n, p in self.procs.items() if p.poll() is None]

    def stop(self, timeout=10):
        p = self.procs.get("pop3d")
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return super().stop(timeout)

    def maildir_path(self, local):
        return os.path.join(self.mail, self.domain, local)

    def passwd_hashes(self):
        """{address: yescrypt hash} from passwd.mdb (mdb_dump, lmdb-utils)."""
        r = subprocess.run(["mdb_dump", "-p", "-s", "passwd", "-n",
                            os.path.join(self.data, "passwd.mdb")], capture_output=True)
        if r.returncode != 0:
            r = subprocess.run(["mdb_dump", "-p", "-s", "passwd",
                                os.path.join(self.data, "passwd.mdb")], capture_output=True)
        if r.returncode != 0:
            raise RuntimeError("mdb_dump passwd.mdb failed: %s" % r.stderr.decode())
        lines = [l[1:] for l in r.stdout.split(b"\n") if l.startswith(b" ")]
        out = {}
        for k, v in zip(lines[0::2], lines[1::2]):
            out[_unprint(k)] = _unprint(v)
        return out


def _unprint(b):
    """mdb_dump -p's printable form: backslash + two hex digits for other bytes."""
    out = bytearray()
    i = 0
    while i < len(b):
        if b[i:i + 1] == b"\\":
            if b[i + 1:i + 2] == b"\\":
                out += b"\\"
                i += 2
            else:
                out.append(int(b[i + 1:i + 3], 16))
                i += 3
        else:
            out.append(b[i])
            i += 1
    return out.decode()


# ---------------------------------------------------------------------------------------
# Maildirs

def release(m, fs, keep):
    """The end of a part with a Mailbag of its own on the file system image `fs`:
    stopped and kept for a look (--keep), or cleaned up with its image unmounted."""
    if keep:
        m.stop()
        log("kept " + m.dir + " (its file system stays mounted)")
    else:
        m.cleanup()
        fs.close()


def count_messages(maildirs):
    n = 0
    for md in maildirs:
        for sub in ("new", "cur"):
            try:
                n += sum(1 for e in os.scandir(os.path.join(md, sub)) if not e.name.startswith("."))
            except FileNotFoundError:
                pass
    return n


def empty_maildirs(maildirs):
    """Removes every message (and tmp/ leftovers) but keeps the folders."""
    for md in maildirs:
        for sub in ("new", "cur", "tmp"):
            d = os.path.join(md, sub)
            try:
                for e in os.scandir(d):
                    os.unlink(e.path)
            except FileNotFoundError:
                pass


def bench_message(i, size, rcpt):
    """A stored message (LF line ends) of about `size` bytes."""
    head = ("Return-Path: <sender@example.net>\nDelivered-To: %s\n"
            "From: <sender@example.net>\nTo: <%s>\nSubject: pop3 bench %d\n"
            "Message-ID: <%d.pop3fill@bench.test>\nDate: Thu, 1 Jan 2026 00:00:00 +0000\n\n"
            % (rcpt, rcpt, i, i))
    line = ("abcdefghijklmnopqrstuvwxyz0123456789" * 3)[:76] + "\n"
    body_len = max(0, size - len(head))
    body = (line * (body_len // len(line) + 1))[:max(1, body_len)]
    body = body[:-1] + "\n"
    return (head + body).encode()


def refill_maildirs(maildirs_by_addr, per_user, sizes, uid, gid):
    """Recreates each Maildir from nothing (any index or lock file a POP3 server left is
    gone) with `per_user` messages in new/, the i-th of size sizes[i % len(sizes)], named
    like our local agent and Postfix name them (with ,S= and ,W=), mode 0660 uid:gid.
    Returns (messages, bytes) written."""
    total = nbytes = 0
    seq = 0
    for addr, md in sorted(maildirs_by_addr.items()):
        shutil.rmtree(md, ignore_errors=True)
        os.makedirs(md, mode=0o770)
        for sub in ("cur", "new", "tmp"):
            os.mkdir(os.path.join(md, sub), 0o770)
        for p in [md] + [os.path.join(md, s) for s in ("cur", "new", "tmp")]:
            os.chown(p, uid, gid)
            os.chmod(p, 0o770)
        for i in range(per_user):
            data = bench_message(seq, sizes[i % len(sizes)], addr)
            wire = len(data) + data.count(b"\n")
            name = "1767225600.M%dP%d.bench,S=%d,W=%d" % (seq, os.getpid(), len(data), wire)
            path = os.path.join(md, "new", name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o660)
            os.write(fd, data)
            os.fchown(fd, uid, gid)
            os.fchmod(fd, 0o660)
            os.close(fd)
            seq += 1
            total += 1
            nbytes += len(data)
    os.sync()
    return total, nbytes
