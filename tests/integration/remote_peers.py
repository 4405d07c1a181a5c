# Peers for the remote-delivery tests (test_remote*.py, test_etrn*.py), all real Debian
# programs run from private configuration in a temporary directory and stopped by pid:
#   Unbound  - serves test zones (MX, A, null MX) on a 127.x address, port 53, and
#              zone files as they are (a DNSSEC-signed zone, with its signatures)
#   Postfix  - a receiving SMTP peer on 127.x:25 (virtual mailboxes in Maildirs, a
#              rejecting recipient table, optional SASL AUTH and TLS, ETRN), never
#              touching /etc/postfix's configuration
# and inject(), which queues a message the way sendmail does (an unlinked queue file in
# spool/incoming, handed over on private/submit with the IPC framing of
# common/ipc/codec.hpp), for mail to remote domains that smtpd would not relay.
import os
import pwd
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

import pytest

import harness
import testhost
from peer_process import PeerProcess

UNBOUND = "/usr/sbin/unbound"
POSTFIX = "/usr/sbin/postfix"
DOVECOT = "/usr/sbin/dovecot"


def have(path):
    return os.path.exists(path)


# ---------------------------------------------------------------------------------------
# DNS

class Unbound(PeerProcess):
    """A private unbound answering for `zones` from local data. `records` are lines in
    zone-file syntax ("peer.test. MX 10 mx.peer.test."); every domain named as a zone
    is a static local zone (other names in it are NXDOMAIN). `auth_zones` maps zone
    names to zone files served as they are (auth-zone: signatures included)."""
    LOG_NAME = "unbound.log"
    STOP_TIMEOUT = 10
    REMOVE_DIR = True

    def __init__(self, zones, records, auth_zones=None):
        self.dir = tempfile.mkdtemp(prefix="mb-unbound-", dir="/tmp")
        self.ip = harness.unique_loopback()
        self.port = 53 if harness.is_root() else harness.free_port(self.ip)
        self.zones = list(zones)
        self.records = list(records)
        self.auth_zones = dict(auth_zones or {})
        self.proc = None

    @property
    def address(self):
        """The dns_resolver value for mailbag.conf."""
        return "%s:%d" % (self.ip, self.port)

    def _write(self):
        lines = [
            "server:",
            "  interface: %s@%d" % (self.ip, self.port),
            "  port: %d" % self.port,
            "  do-daemonize: no",
            '  chroot: ""',
            '  username: ""',
            '  directory: "%s"' % self.dir,
            '  pidfile: "%s/unbound.pid"' % self.dir,
            "  use-syslog: no",
            '  logfile: "%s/unbound.log"' % self.dir,
            "  verbosity: 1",
            "  do-ip6: no",
            "  access-control: 127.0.0.0/8 allow",
        ]
        for z in self.zones:
            lines.append('  local-zone: "%s." static' % z.rstrip("."))
        for r in self.records:
            # A record with quotes in it (TXT "...") goes in single quotes.
            q = "'" if '"' in r else '"'
            lines.append("  local-data: %s%s%s" % (q, r, q))
        if self.auth_zones:
            # unbound's built-in (RFC 6761) local zone for test. would hide the auth zones.
            lines.append('  local-zone: "test." nodefault')
        lines += ["remote-control:", "  control-enable: no"]
        for name, path in self.auth_zones.items():
            lines += ["auth-zone:", '  name: "%s."' % name.rstrip("."), '  zonefile: "%s"' % path,
                      "  for-downstream: yes", "  for-upstream: yes"]
        path = os.path.join(self.dir, "unbound.conf")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def start(self):
        conf = self._write()
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        try:
            for _ in harness.deadline_loop(10, "unbound to answer on %s" % self.address):
                if self.proc.poll() is not None:
                    raise RuntimeError("unbound exited: %s" % self.log())
                if self._answers():
                    return self
        except BaseException:
            self.stop()  # the caller never gets the object to stop
            raise

    def _answers(self):
        # A minimal query for "." SOA; any reply means the server is up.
        q = struct.pack(">HHHHHH", 0x4d42, 0x0100, 1, 0, 0, 0) + b"\x00" + struct.pack(">HH", 6, 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.2)
        try:
            s.sendto(q, (self.ip, self.port))
            return bool(s.recv(512))
        except OSError:
            return False
        finally:
            s.close()


# ---------------------------------------------------------------------------------------
# Postfix

MASTER_CF = """\
{listen} inet  n       -       n       -       -       smtpd
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
pickup    unix  n       -       n       60      1       pickup
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    """A private Postfix on `ip`:25 that accepts mail for `domain` into Maildirs under
    self.dir/vmail/<domain>/<user>/ for the users in `users`, and rejects other local
    parts with 550 5.1.1 at RCPT. `extra` adds main.cf lines."""

    def __init__(self, domain, users, ip=None, hostname=None, extra=None, relay=None, port=25):
        self.dir = tempfile.mkdtemp(prefix="mb-postfix-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.domain = domain
        self.users = list(users)
        self.ip = ip or harness.unique_loopback()
        self.hostname = hostname or "mx." + domain
        self.extra = dict(extra or {})
        # Backup MX: domains relayed (and queued, and flushed on ETRN) to a next hop,
        # {"primary.test": "[127.0.0.5]:25"}.
        self.relay = dict(relay or {})
        self.port = port
        self.conf = os.path.join(self.dir, "conf")
        self.running = False

    def _write(self):
        for d in ("conf", "queue", "data", "vmail"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        nobody = pwd.getpwnam("nobody")
        os.chown(os.path.join(self.dir, "vmail"), nobody.pw_uid, nobody.pw_gid)
        pf = pwd.getpwnam("postfix")
        os.chown(os.path.join(self.dir, "data"), pf.pw_uid, pf.pw_gid)
        main = {
            "compatibility_level": "3.6",
            "queue_directory": os.path.join(self.dir, "queue"),
            "data_directory": os.path.join(self.dir, "data"),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            # Postfix checks inet_interfaces against real interface addresses; the
            # listener's own address is in master.cf.
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "myhostname": self.hostname,
            "mydomain": self.domain,
            "myorigin": self.domain,
            "mydestination": "",
            "mynetworks": "127.0.0.0/8",
            "relay_domains": "",
            "virtual_mailbox_domains": self.domain,
            "virtual_mailbox_base": os.path.join(self.dir, "vmail"),
            "virtual_mailbox_maps": "texthash:" + os.path.join(self.conf, "vmailbox"),
            "virtual_minimum_uid": "100",
            "virtual_uid_maps": "static:%d" % nobody.pw_uid,
            "virtual_gid_maps": "static:%d" % nobody.pw_gid,
            "alias_maps": "",
            "alias_database": "",
            "smtpd_banner": "$myhostname ESMTP test peer",
            "maillog_file": os.path.join(self.dir, "maillog"),
            "maillog_file_prefixes": "/tmp",
            "biff": "no",
            "disable_dns_lookups": "yes",
            "smtp_dns_support_level": "disabled",
            "message_size_limit": "10240000",
        }
        if self.relay:
            main["relay_domains"] = " ".join(self.relay)
            main["transport_maps"] = "texthash:" + os.path.join(self.conf, "transport")
            # Deferred mail waits for ETRN (or a long retry), as on an ISP's backup MX.
            main["minimal_backoff_time"] = "1h"
            main["maximal_backoff_time"] = "2h"
            main["queue_run_delay"] = "1h"
        main.update(self.extra)
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            for k, v in main.items():
                f.write("%s = %s\n" % (k, v))
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(listen="%s:%d" % (self.ip, self.port)))
        with open(os.path.join(self.conf, "vmailbox"), "w") as f:
            for u in self.users:
                f.write("%s@%s %s/%s/\n" % (u, self.domain, self.domain, u))
        with open(os.path.join(self.conf, "transport"), "w") as f:
            for d, hop in self.relay.items():
                f.write("%s smtp:%s\n" % (d, hop))

    def start(self):
        if not self.running:
            self._write()
        r = subprocess.run([POSTFIX, "-c", self.conf, "start"], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("postfix start failed (%d): %s%s\n%s"
                               % (r.returncode, r.stdout, r.stderr, self.log()[-3000:]))
        self.running = True
        try:
            for _ in harness.deadline_loop(20, "postfix to greet on %s:%d" % (self.ip, self.port)):
                try:
                    c = harness.RawSMTP(self.ip, self.port, timeout=5)
                    code, _ = c.reply()
                    c.send(b"QUIT\r\n")
                    c.close()
                    if code == 220:
                        return self
                except OSError:
                    pass
        except BaseException:
            self.stop()  # the caller never gets the object to stop
            raise

    def master_pid(self):
        try:
            with open(os.path.join(self.dir, "queue", "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        """Stops the master by its pid and waits until the port is free."""
        pid = self.master_pid()
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            for _ in harness.deadline_loop(20, "postfix master %d to exit" % pid):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
        for _ in harness.deadline_loop(10, "%s:%d to be free" % (self.ip, self.port)):
            if testhost.can_bind(self.ip, self.port) is not None:
                break

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            with open(os.path.join(self.dir, "maillog"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def maildir_messages(self, user):
        out = []
        base = os.path.join(self.dir, "vmail", self.domain, user)
        for sub in ("new", "cur"):
            d = os.path.join(base, sub)
            try:
                names = os.listdir(d)
            except FileNotFoundError:
                continue
            for n in names:
                with open(os.path.join(d, n), "rb") as f:
                    out.append(f.read())
        return out

    def wait_for_messages(self, user, n, timeout=30, check=None):
        for _ in harness.deadline_loop(timeout, "%d messages for %s@%s at postfix" % (n, user, self.domain)):
            msgs = self.maildir_messages(user)
            if len(msgs) >= n:
                return msgs
            if check:
                check()


class DovecotAuth(PeerProcess):
    """A private Dovecot that only authenticates (passwd-file, PLAIN and LOGIN), for
    Postfix's SASL (smtpd_sasl_type = dovecot). self.socket is the auth socket."""
    STOP_TIMEOUT = 10
    REMOVE_DIR = True

    def __init__(self, users):
        self.dir = tempfile.mkdtemp(prefix="mb-dovecot-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.users = dict(users)
        self.socket = os.path.join(self.dir, "auth")
        self.proc = None

    def start(self):
        os.makedirs(os.path.join(self.dir, "run"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "state"), exist_ok=True)
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            for u, pw in self.users.items():
                f.write("%s:{PLAIN}%s\n" % (u, pw))
        conf = os.path.join(self.dir, "dovecot.conf")
        with open(conf, "w") as f:
            f.write("\n".join([
                "base_dir = %s/run" % self.dir,
                "state_dir = %s/state" % self.dir,
                "log_path = %s/dovecot.log" % self.dir,
                "protocols = none",
                "listen = 127.0.0.1",
                "ssl = no",
                "disable_plaintext_auth = no",
                "auth_mechanisms = plain login",
                "default_internal_user = dovecot",
                "default_login_user = dovenull",
                "passdb {",
                "  driver = passwd-file",
                "  args = scheme=PLAIN username_format=%%u %s/passwd" % self.dir,
                "}",
                "userdb {",
                "  driver = static",
                "  args = uid=65534 gid=65534 home=/nonexistent",
                "}",
                "service auth {",
                "  unix_listener %s {" % self.socket,
                "    mode = 0666",
                "  }",
                "}",
            ]) + "\n")
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        try:
            for _ in harness.deadline_loop(15, "dovecot's auth socket"):
                if self.proc.poll() is not None:
                    raise RuntimeError("dovecot exited: %s" % self.log())
                if os.path.exists(self.socket):
                    return self
        except BaseException:
            self.stop()
            raise


# ---------------------------------------------------------------------------------------
# Queueing a message directly, as sendmail would.

def _frame(msg_type, payload):
    return struct.pack(">IH", 6 + len(payload), msg_type) + payload


def _str(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">I", len(b)) + b


def _read_str(buf, pos):
    (n,) = struct.unpack_from(">I", buf, pos)
    pos += 4
    return buf[pos:pos + n].decode("utf-8", "replace"), pos + n


def new_queue_id():
    us = int(time.time() * 1e6) & 0xFFFFFFFFFFFFF
    return "%013X%03X" % (us, random.randrange(0x1000))


def inject(mb, sender, recipients, message, body_8bit=False, smtputf8=False, requiretls=False, ret_full=False):
    """Queues `message` (bytes, CRLF or LF line ends) from `sender` ("" for <>) to
    `recipients` in Mailbag instance `mb` through private/submit, like sendmail;
    `smtputf8` marks the envelope as SMTPUTF8 (UTF-8 addresses allowed), `requiretls`
    as REQUIRETLS (RFC 8689, the Q record), `ret_full` as RET=FULL (RFC 3461, the D record).
    Returns the queue id; raises if the queue manager refuses."""
    data = message.replace(b"\r\n", b"\n")
    qid = new_queue_id()
    env = "MBQ1\nI %s\nT %d\nP local\nC test injector\nB %s\n%sS <%s>\n" % (
        qid, int(time.time()), "8BITMIME" if body_8bit else "7BIT", "U\n" if smtputf8 else "", sender)
    env += "".join("R <%s>\n" % r for r in recipients)
    env += "D FULL -\n" if ret_full else ""
    env += "Q\n" if requiretls else ""
    env += "Z %020d %020d\nE\n" % (len(data), data.count(b"\n"))
    fd = os.open(os.path.join(mb.spool, "incoming"), os.O_TMPFILE | os.O_RDWR, 0o660)
    try:
        # Whatever our umask: the queue manager links the file, which the kernel
        # (protected_hardlinks) allows only with group read and write.
        os.fchmod(fd, 0o660)
        os.write(fd, env.encode() + data)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(30)
        try:
            s.connect(os.path.join(mb.spool, "private", "submit"))
            hello = _str("mailbag-submit") + struct.pack(">I", 4) + _str("sendmail")
            s.send(_frame(1, hello))
            socket.send_fds(s, [_frame(10, struct.pack(">Q", 1))], [fd])
            while True:
                buf = s.recv(131072)
                if not buf:
                    raise RuntimeError("queue manager closed the submit connection")
                _, msg_type = struct.unpack_from(">IH", buf, 0)
                if msg_type != 11:  # SubmitDone
                    continue
                pos = 6 + 8
                outcome = buf[pos]
                status, pos = _read_str(buf, pos + 1)
                text, pos = _read_str(buf, pos)
                queued, pos = _read_str(buf, pos)
                if outcome != 0:
                    raise RuntimeError("queue manager refused the message: %s %s" % (status, text))
                return queued
        finally:
            s.close()
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------
# Shared by the test files

@pytest.fixture
def peers(request):
    """Started peers, stopped by pid after the test (logs shown when it fails)."""
    started = []

    def add(p):
        started.append(p)
        return p

    yield add
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for p in reversed(started):
        if failed and isinstance(p, Postfix):
            print("\n--- postfix log (%s) ---\n%s" % (p.dir, p.log()[-6000:]))
        if isinstance(p, Postfix):
            p.cleanup()
        else:
            p.stop()


def sender_mailbag(make_mailbag, dns, **conf):
    """A Mailbag with remote running, resolving through `dns`, with short timeouts."""
    c = {"dns_resolver": dns.address, "remote_timeout": "10s"}
    c.update(conf)
    m = make_mailbag(conf=c)
    start_remote(m)
    return m


def start_remote(m):
    """Starts remote and waits until the queue manager has it as an agent (hello done),
    so that what is queued next goes to it at once."""
    m.start_daemon("remote")
    m.wait_for_log("queue-manager", r"remote delivery agent connected")


def remote_log_line(m, pattern, timeout=30):
    return m.wait_for_log("remote", pattern, timeout=timeout)


# Trace fields the receiving Postfix (and our own Received) put before the message.
TRACE = (b"return-path:", b"delivered-to:", b"received:", b"x-original-to:")


def check_intact(stored, sent):
    """`stored` (Postfix's Maildir file, LF line ends) is `sent` (CRLF wire form) byte
    for byte, after only the trace header fields the two MTAs add."""
    want = sent.replace(b"\r\n", b"\n")
    assert stored.endswith(want), "message changed in transit:\n%r\n---\n%r" % (stored[-300:], want[-300:])
    prefix = stored[: len(stored) - len(want)]
    for line in prefix.split(b"\n")[:-1]:
        assert line[:1] in (b" ", b"\t") or line.lower().startswith(TRACE), line
    return prefix
