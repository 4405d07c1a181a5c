# Cross-process test harness: a complete private Mailbag (config, spool, accounts, the
# mailbag-auth, queue-manager, local and smtpd daemons) in a fresh temporary directory, driven the way
# clients drive a real server (SMTP over TCP). Used by tests/integration and tests/crash
# through the fixtures in conftest.py. Nothing here is mocked: the real binaries from
# $MAILBAG_BUILD/bin run, as the mb-* users when the tests run as root.
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time

# Re-exported: tests use them as harness.make_cert, harness.header_values, ...
from certs import make_ca, make_cert, make_signed_cert, spki_sha256  # noqa: E402,F401
from rawsmtp import RawSMTP  # noqa: E402,F401
from stored import ADDED_HEADERS, added_prefix, header_values, message_id, split_message  # noqa: E402,F401
from testhost import (REPO, bin_path, build_dir, config_keys, deadline_loop, free_port, is_root,  # noqa: E402,F401
                      probe_socket_as, rss_kb, sanitizer_build, stop_group, uid_of, unique_loopback)

# Every live instance, so conftest can show logs of failed tests and stop leftovers.
REGISTRY = []

# start order; stopped in reverse. mailbag-tlskey holds the TLS private key for smtpd and
# pop3d; mailbag-auth answers smtpd's AUTH and pop3d's logins.
DAEMONS = ("mailbag-tlskey", "mailbag-auth", "queue-manager", "local", "smtpd")
QUEUE_ID_RE = re.compile(rb"\b[0-9A-F]{16}\b")


def _rset(s):
    """RSET after a refusal; a server that has closed the connection (421) is noticed by
    the caller's next command, so the refusal itself is still reported."""
    try:
        s.rset()
    except (smtplib.SMTPException, OSError):
        s.close()


class Sent:
    """What the server said to one submission."""

    def __init__(self, code, text, queue_id=None, rcpt_replies=None):
        self.code = code
        self.text = text
        self.queue_id = queue_id
        self.rcpt_replies = rcpt_replies or []

    def __repr__(self):
        return "Sent(%r, %r, queue_id=%r)" % (self.code, self.text, self.queue_id)


# ---------------------------------------------------------------------------------------
# One private Mailbag.

class Mailbag:
    """One private Mailbag server. Typical use (see conftest.py's `mb` fixture):
         m = Mailbag(); m.start(); m.send(...); m.wait_for_messages("demo@example.test", 1)
         m.stop()
    """

    def __init__(self, users=(("demo@example.test", "demo-secret"),), domains=("example.test",),
                 conf=None, env=None, base_dir="/tmp"):
        self.dir = tempfile.mkdtemp(prefix="mailbag-", dir=base_dir)
        # Daemons run as mb-* users when we are root: they must traverse this directory.
        os.chmod(self.dir, 0o755)
        self.users = list(users)
        self.domains = list(domains)
        self.extra_conf = dict(conf or {})
        self.env = dict(env or {})
        self.procs = {}
        self.spool = os.path.join(self.dir, "spool")
        self.data = os.path.join(self.dir, "data")
        self.mail = os.path.join(self.dir, "mail")
        self.conf_path = os.path.join(self.dir, "mailbag.conf")
        self.host = unique_loopback()
        self.port = 25 if is_root() else free_port(self.host)
        self.ports = {"smtp_listen": self.port}
        self.hostname = "mail.example.test"
        self.stopped = False
        REGISTRY.append(self)

    # -- setup ------------------------------------------------------------------------

    def _write_conf(self, extra_listen=None):
        cert, key = make_cert(self.dir)
        conf = {
            "hostname": self.hostname,
            "log_target": "stderr",
            "spool_directory": self.spool,
            "data_directory": self.data,
            "mail_directory": self.mail,
            "tls_cert_file": cert,
            "tls_key_file": key,
            "smtp_listen": "%s:%d" % (self.host, self.port),
            "message_size_limit": "1M",
            "queue_retry_min": "1s",
            "queue_retry_max": "2s",
        }
        conf.update(extra_listen or {})
        conf.update(self.extra_conf)
        # Written aside and renamed over: a daemon started a moment ago (local is not
        # waited for) may still be reading the old file, and must never see it truncated
        # (an empty config means the default spool and syslog: a daemon that is silently
        # somewhere else).
        tmp = self.conf_path + ".new"
        with open(tmp, "w") as f:
            f.write("# written by tests/integration/harness.py\n")
            for k, v in conf.items():
                f.write("%s = %s\n" % (k, v))
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.conf_path)
        self.conf = conf

    def _other_listeners(self):
        """Any other *_listen key a daemon knows (e.g. submission) gets its own port on
        this instance's address, so parallel instances never collide on 0.0.0.0."""
        extra = {}
        for prog in DAEMONS:
            if not os.path.exists(bin_path(prog)):
                continue
            r = subprocess.run([bin_path(prog), "-c", self.conf_path, "--dump-config"],
                               capture_output=True, text=True)
            for line in r.stdout.splitlines():
                k, _, v = line.partition("=")
                k, v = k.strip(), v.strip()
                if not k.endswith("_listen") or k in self.ports or k in self.extra_conf:
                    continue
                ports = []
                for item in v.replace(",", " ").split():
                    default_port = int(item.rsplit(":", 1)[1])
                    ports.append(default_port if is_root() else free_port(self.host))
                self.ports[k] = ports[0] if ports else None
                extra[k] = ", ".join("%s:%d" % (self.host, p) for p in ports)
        return extra

    def mailctl(self, *args, input=None, check=True):
        r = subprocess.run([bin_path("mailctl"), "-c", self.conf_path] + list(args),
                           input=input, capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError("mailctl %s failed (%d):\n%s%s"
                               % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def start(self):
        for p in DAEMONS + ("mailctl",):
            if not os.path.exists(bin_path(p)):
                raise RuntimeError("missing binary %s (build it first; MAILBAG_BUILD=%s)"
                                   % (bin_path(p), build_dir()))
        self._write_conf()
        extra = self._other_listeners()
        if extra:
            self._write_conf(extra)
        self.mailctl("init")
        for d in self.domains:
            self.mailctl("domain", "add", d)
        for user, password in self.users:
            self.mailctl("user", "add", user, input=password + "\n")
        for name in DAEMONS:
            if name == "mailbag-tlskey" and not self.wants_key_daemon():
                continue  # it would exit at once: nothing to hold
            if name == "smtpd" and self.wants_checks():
                self.start_daemon("checks")  # smtpd asks it from its first session on
            self.start_daemon(name)
        return self

    CHECK_KEYS = ("dnsbl_zones", "dnswl_zones", "spf_check", "dkim_check", "dmarc_check")

    def wants_checks(self):
        """True when the config turns on a built-in check: the checks process
        (smtpd/checks/) is started before smtpd, as its systemd unit is."""
        return any(str(self.extra_conf.get(k, "")).strip() not in ("", "no") for k in self.CHECK_KEYS)

    def wants_key_daemon(self):
        """True unless the config keeps the key in smtpd and pop3d (tls_key_daemon = no)
        or has no TLS at all."""
        return (str(self.conf.get("tls_key_daemon", "yes")).strip() != "no"
                and str(self.conf.get("tls_key_file", "")).strip() != "")

    def start_daemon(self, name):
        """Starts one daemon (stderr appended to its log) and waits until it is ready:
        queue-manager when its submit socket accepts, smtpd when it greets; any other
        (local, remote: they connect to the queue manager by themselves), as root, until
        it has read its configuration and dropped to its user (its "running as" line),
        or has exited (for the tests of a failed start)."""
        if name in self.procs and self.procs[name].poll() is None:
            raise RuntimeError("%s is already running" % name)
        log = open(self.log_path(name), "ab")
        started_at = log.tell()
        env = dict(os.environ)
        env.update(self.env)
        self.procs[name] = subprocess.Popen(
            [bin_path(name), "-c", self.conf_path], stdin=subprocess.DEVNULL,
            stdout=log, stderr=log, env=env, start_new_session=True)
        log.close()
        if name == "queue-manager":
            self._wait_ready(name, self._submit_socket_ready)
        elif name == "mailbag-auth":
            self._wait_ready(name, self._auth_socket_ready)
        elif name == "mailbag-tlskey":
            self._wait_ready(name, lambda: self._socket_ready("tlskey"))
        elif name == "smtpd":
            self._wait_ready(name, self._smtp_ready)
        elif name == "pop3d":
            self._wait_ready(name, self._pop3_ready)
        elif name == "pop3-mailbox":
            self._wait_ready(name, lambda: self._socket_ready("pop3-mailbox"))
        elif name == "checks":
            self._wait_ready(name, lambda: self._socket_ready("checks"))
        elif name == "dkim":
            self._wait_ready(name, lambda: os.path.exists(os.path.join(self.spool, "signer", "sign")))
        elif is_root():
            proc = self.procs[name]
            for _ in deadline_loop(30, "%s to drop its privileges" % name):
                with open(self.log_path(name), "rb") as f:
                    f.seek(started_at)
                    if proc.poll() is not None or b"running as " in f.read():
                        break
        return self.procs[name]

    def start_pop3d(self):
        """Starts pop3d and its mailbox process pop3-mailbox (not in DAEMONS: tests that
        fetch mail ask for them) on this
        instance's address: pop3_listen and pop3s_listen get ports here and are added to
        the config (the daemons already running have read theirs). Waits for the
        greeting. self.ports["pop3_listen"] / ["pop3s_listen"] are the ports."""
        for key, default in (("pop3_listen", 110), ("pop3s_listen", 995)):
            if key not in self.ports:
                self.ports[key] = default if is_root() else free_port(self.host)
        listen = {k: v for k, v in self.conf.items() if k.endswith("_listen")}
        for key in ("pop3_listen", "pop3s_listen"):
            if key not in self.extra_conf:
                listen[key] = "%s:%d" % (self.host, self.ports[key])
        self._write_conf(listen)
        # The mailbox process first, as its systemd unit orders it: pop3d hands every
        # login to it.
        if not self.alive("pop3-mailbox"):
            self.start_daemon("pop3-mailbox")
        return self.start_daemon("pop3d")

    def _pop3_ready(self):
        try:
            s = socket.create_connection((self.host, self.ports["pop3_listen"]), timeout=5)
        except OSError:
            return False
        try:
            if not s.recv(512).startswith(b"+OK"):
                return False
            # QUIT and wait for pop3d to close: then this probe no longer counts against
            # pop3d_max_sessions when the test connects.
            s.sendall(b"QUIT\r\n")
            while s.recv(512):
                pass
            return True
        except OSError:
            return False
        finally:
            s.close()

    def _wait_ready(self, name, probe, timeout=30):
        for _ in deadline_loop(timeout, "%s to become ready" % name):
            rc = self.procs[name].poll()
            if rc is not None:
                raise RuntimeError("%s exited with %s during start-up; its log:\n%s"
                                   % (name, rc, self.logs(name)[-4000:]))
            if probe():
                return

    def _submit_socket_ready(self):
        return self._socket_ready("submit")

    def _socket_ready(self, name):
        # The internal sockets are SOCK_SEQPACKET (common/ipc/socket.hpp).
        path = os.path.join(self.spool, "private", name)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            s.connect(path)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def _auth_socket_ready(self):
        return self._socket_ready("auth")

    def _smtp_ready(self):
        try:
            c = RawSMTP(self.host, self.port, timeout=5)
        except OSError:
            return False
        try:
            code, _ = c.reply()
            c.send(b"QUIT\r\n")
            return code == 220
        except (OSError, ValueError):
            return False
        finally:
            c.close()

    # -- processes ----------------------------------------------------------------------

    def pid(self, name):
        return self.procs[name].pid

    def alive(self, name):
        return name in self.procs and self.procs[name].poll() is None

    def kill(self, name, sig=signal.SIGKILL, wait=True, timeout=10):
        p = self.procs[name]
        if p.poll() is None:
            p.send_signal(sig)
        if wait:
            p.wait(timeout=timeout)
        return p.returncode

    def restart(self, name):
        if self.alive(name):
            self.kill(name, signal.SIGTERM)
        return self.start_daemon(name)

    def stop(self, timeout=10):
        """SIGTERM every daemon (smtpd first), then SIGKILL whatever is left after
        `timeout` seconds. Returns {name: exit code}."""
        codes = {}
        # Daemons started on request (pop3d) first, then DAEMONS in reverse.
        order = [n for n in self.procs if n not in DAEMONS] + list(reversed(DAEMONS))
        for name in order:
            p = self.procs.get(name)
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
        end = time.monotonic() + timeout
        for name in order:
            p = self.procs.get(name)
            if p is None:
                continue
            try:
                p.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            codes[name] = p.returncode
        self.stopped = True
        return codes

    def cleanup(self):
        if not self.stopped:
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        if self in REGISTRY:
            REGISTRY.remove(self)

    # -- logs ---------------------------------------------------------------------------

    def log_path(self, name):
        return os.path.join(self.dir, name + ".log")

    def logs(self, name):
        try:
            with open(self.log_path(name), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, name, pattern, timeout=20):
        """Waits until `pattern` (a regex) matches a line of `name`'s log; returns the line."""
        rx = re.compile(pattern)
        for _ in deadline_loop(timeout, "%r in the %s log" % (pattern, name)):
            for line in self.logs(name).splitlines():
                if rx.search(line):
                    return line

    # -- SMTP ---------------------------------------------------------------------------

    def smtp(self, timeout=60):
        return smtplib.SMTP(self.host, self.port, local_hostname="client.example.net",
                            timeout=timeout)

    def raw(self, timeout=30):
        """A raw SMTP connection, greeting already read."""
        c = RawSMTP(self.host, self.port, timeout=timeout)
        code, lines = c.reply()
        assert code == 220, (code, lines)
        return c

    def smtp_from(self, source_ip, helo="client.example.net", timeout=60):
        """An smtplib connection from a chosen local address (e.g. a unique 127.x address
        that a test DNS list or SPF record names), after EHLO `helo`."""
        s = smtplib.SMTP(self.host, self.port, timeout=timeout, source_address=(source_ip, 0))
        s.ehlo(helo)
        return s

    def send(self, to, message, mail_from="sender@example.net", mail_options=(), conn=None):
        """Submits `message` (bytes with CRLF line ends, not dot-stuffed; or str) to the
        recipients `to` (str or list) with smtplib. Returns a Sent with the final reply,
        its queue id (parsed from the reply text) and the RCPT replies. An SMTP error
        reply is returned, not raised; a broken connection raises."""
        if isinstance(to, str):
            to = [to]
        if isinstance(message, str):
            message = message.encode()
        own = conn is None
        s = conn or self.smtp()
        try:
            if own:
                s.ehlo()
            code, text = s.mail(mail_from, list(mail_options))
            if code != 250:
                _rset(s)
                return Sent(code, text)
            rcpts = [s.rcpt(r) for r in to]
            if not any(c in (250, 251) for c, _ in rcpts):
                _rset(s)
                return Sent(rcpts[-1][0], rcpts[-1][1], rcpt_replies=rcpts)
            try:
                code, text = s.data(message)
            except smtplib.SMTPDataError as e:  # DATA itself refused (no 354)
                _rset(s)
                return Sent(e.smtp_code, e.smtp_error, rcpt_replies=rcpts)
            m = QUEUE_ID_RE.search(text)
            return Sent(code, text, m.group(0).decode() if m else None, rcpts)
        finally:
            if own:
                try:
                    s.quit()
                except (smtplib.SMTPException, OSError):
                    s.close()

    # -- Maildirs -----------------------------------------------------------------------

    def maildir(self, user):
        local, domain = user.split("@", 1)
        return os.path.join(self.mail, domain.lower(), local.lower())

    def maildir_messages(self, user):
        """Paths of the files in the user's Maildir new/ and cur/ (sorted)."""
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir(user), sub)
            try:
                names = os.listdir(d)
            except FileNotFoundError:
                continue
            out.extend(os.path.join(d, n) for n in names if not n.startswith("."))
        return sorted(out)

    def read_messages(self, user):
        """{path: bytes} of every delivered message."""
        out = {}
        for p in self.maildir_messages(user):
            with open(p, "rb") as f:
                out[p] = f.read()
        return out

    def wait_for_messages(self, user, n, timeout=30):
        """Waits until the Maildir holds at least `n` messages; returns their paths.
        Fails early if a daemon has died."""
        for _ in deadline_loop(timeout, "%d messages for %s" % (n, user)):
            paths = self.maildir_messages(user)
            if len(paths) >= n:
                return paths
            self.check_alive()

    def find_message(self, user, msgid, timeout=30):
        """Waits for the message with Message-ID `msgid`; returns its bytes."""
        for _ in deadline_loop(timeout, "message %s for %s" % (msgid, user)):
            for data in self.read_messages(user).values():
                if message_id(data) == msgid:
                    return data
            self.check_alive()

    def check_alive(self):
        for name, p in self.procs.items():
            if p.poll() is not None:
                raise RuntimeError("%s died (exit %s); its log:\n%s"
                                   % (name, p.returncode, self.logs(name)[-4000:]))

    def queue_files(self):
        try:
            return sorted(os.listdir(os.path.join(self.spool, "queue")))
        except FileNotFoundError:
            return []

    def wait_queue_empty(self, timeout=60):
        for _ in deadline_loop(timeout, lambda: "an empty queue (left: %s)" % self.queue_files()):
            if not self.queue_files():
                return
