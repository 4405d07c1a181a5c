# Dovecot as `mailctl dovecot config` sets it up, for the IMAP tests: the generated
# configuration in a directory of the instance, plus a local.conf (the administrator's
# file, which mailctl never writes) that moves it onto the instance's 127.x address,
# free ports and private run/state/log paths. Started by the test as root (Dovecot's
# master needs it to switch to mb-vmail and mb-imapauth), never as a system service.
import imaplib
import os
import socket
import ssl
import subprocess

import harness
from peer_process import PeerProcess

DOVECOT = "/usr/sbin/dovecot"


def tls_context(m):
    ctx = ssl.create_default_context(cafile=os.path.join(m.dir, "cert.pem"))
    ctx.check_hostname = False
    return ctx


class IMAPFrom(imaplib.IMAP4):
    """imaplib's client, connecting from a chosen local address (a client of its own for
    the per-client limits and the relay database)."""

    def __init__(self, host, port, source=None, timeout=30):
        self._source = source
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        src = (self._source, 0) if self._source else None
        return socket.create_connection((self.host, self.port), timeout, source_address=src)


class Dovecot(PeerProcess):
    def __init__(self, m):
        self.m = m
        self.dir = os.path.join(m.dir, "dovecot")
        self.imap_port = harness.free_port(m.host)
        self.imaps_port = harness.free_port(m.host)
        self.proc = None

    def configure(self):
        """Runs `mailctl dovecot config` and writes local.conf; returns mailctl's result."""
        r = self.m.mailctl("dovecot", "config", self.dir)
        for d in ("run", "state"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        with open(os.path.join(self.dir, "local.conf"), "w") as f:
            f.write("\n".join([
                "base_dir = %s/run" % self.dir,
                "state_dir = %s/state" % self.dir,
                "log_path = %s/dovecot.log" % self.dir,
                "listen = %s" % self.m.host,
                "service imap-login {",
                "  inet_listener imap {",
                "    port = %d" % self.imap_port,
                "  }",
                "  inet_listener imaps {",
                "    port = %d" % self.imaps_port,
                "  }",
                "}",
            ] + self._sanitizer_lines()) + "\n")
        return r

    @staticmethod
    def _sanitizer_lines():
        """Dovecot's auth process runs the passdb program under its 256 MB address-space
        limit; an AddressSanitizer build (make test-sanitize) reserves far more at start."""
        ldd = subprocess.run(["ldd", harness.bin_path("mailbag-checkpassword")], capture_output=True, text=True)
        return ["service auth {", "  vsz_limit = 0", "}"] if "libasan" in ldd.stdout else []

    def start(self):
        if not os.path.exists(os.path.join(self.dir, "dovecot.conf")):
            self.configure()
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", os.path.join(self.dir, "dovecot.conf")],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)
        for _ in harness.deadline_loop(20, "dovecot's IMAP greeting"):
            if self.proc.poll() is not None:
                raise RuntimeError("dovecot exited: %s %s" % (self.proc.stderr.read(), self.log()))
            try:
                c = imaplib.IMAP4(self.m.host, self.imap_port, timeout=5)
                c.logout()
                return self
            except OSError:
                pass

    def connect(self, source=None):
        c = IMAPFrom(self.m.host, self.imap_port, source=source)
        c.starttls(tls_context(self.m))
        return c

    def login(self, user, password, source=None):
        c = self.connect(source)
        c.login(user, password)
        return c
